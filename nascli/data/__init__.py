"""Datasets, official splits, random labels and deterministic batch loaders."""

from nascli.data.datasets import DATASET_DEFAULTS, DATASETS, ImageSet, load_dataset, normalization
from nascli.data.folders import FolderListing, list_image_folder
from nascli.data.labels import apply_random_labels, labels_hash, random_labels
from nascli.data.loader import AugmentConfig, BatchLoader, FolderStreamLoader, loader_for, make_loader, prepare_images
from nascli.data.splits import load_split, select
from nascli.data.synthetic import make_synthetic

__all__ = [
    "DATASETS",
    "DATASET_DEFAULTS",
    "AugmentConfig",
    "BatchLoader",
    "FolderListing",
    "FolderStreamLoader",
    "ImageSet",
    "apply_random_labels",
    "labels_hash",
    "list_image_folder",
    "load_dataset",
    "load_split",
    "loader_for",
    "make_loader",
    "make_synthetic",
    "normalization",
    "prepare_images",
    "random_labels",
    "select",
]
