"""Data throughput: nascli's streamed image-folder loader against torchvision's ImageFolder pipeline, and the
built-in synthetic set against decoding the same number of real images.

- Streamed folders (training, RandomResizedCrop to --size px + flip, uint8 → float batches on the device):
  torchvision `ImageFolder` + `transforms.Compose([RandomResizedCrop, RandomHorizontalFlip, ToTensor])` in a
  `DataLoader` (the references' pipeline) against `FolderStreamLoader` with crop_style torchvision and with
  crop_style megvii + PCA lighting (the RLNAS ImageNet recipes). Same files, batch size and worker count;
  images/s over whole epochs, median of --repeats epochs after one warm-up epoch each.
- Synthetic set: seconds to generate N 32×32 images against seconds to decode N real CIFAR-10 JPEGs.

Reads ../shared/data/cifar10-subset/imagefolder (its 5,000 training JPEGs); skips with a message when absent.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from _common import console, describe_torch, make_parser, median, print_table, ratio_text, setup_torch

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FOLDER = REPO_ROOT.parent / "shared" / "data" / "cifar10-subset" / "imagefolder"


def _epoch_seconds(batches: Any, device: Any) -> tuple[float, int]:
    """Seconds to draw every batch of one epoch onto `device` as float tensors, and the image count."""
    import torch

    start = time.perf_counter()
    count = 0
    for images, *_ in batches:
        images = images.to(device, non_blocking=True)
        if images.dtype == torch.uint8:
            images = images.float().div_(255.0)
        count += images.shape[0]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start, count


def _throughput(make_epoch: Any, device: Any, repeats: int) -> float:
    """Median images/s over `repeats` epochs after one untimed epoch."""
    _epoch_seconds(make_epoch(0), device)
    rates = []
    for epoch in range(1, repeats + 1):
        seconds, count = _epoch_seconds(make_epoch(epoch), device)
        rates.append(count / seconds)
    return median(rates)


def main() -> None:
    """Measure and print both comparisons."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER, help="image folder with a train/ part")
    parser.add_argument("--size", type=int, default=224, help="crop size in pixels (default: 224, ImageNet's)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = setup_torch(args.device, args.threads)
    if not (args.folder / "train").is_dir():
        console.print(f"{args.folder}/train is absent: this benchmark needs ../shared/data beside the repository")
        return

    import torch
    from torchvision import datasets, transforms

    from nascli.data.folders import list_image_folder
    from nascli.data.loader import AugmentConfig, FolderStreamLoader

    repeats = 1 if args.quick else args.repeats
    listing = list_image_folder(args.folder, train=True)
    if args.quick:
        listing = listing.subset(range(0, len(listing), 10))
    console.print(describe_torch(device))
    console.print(f"{len(listing)} images from {args.folder}/train, crops of {args.size} px, batch {args.batch}, "
                  f"{args.workers} workers, median of {repeats} epoch(s)")

    reference_set = datasets.ImageFolder(
        str(args.folder / "train"),
        transforms.Compose([transforms.RandomResizedCrop(args.size), transforms.RandomHorizontalFlip(),
                            transforms.ToTensor()]),
    )
    reference_set.samples = [(str(path), int(label)) for path, label in zip(listing.paths, listing.labels,
                                                                            strict=True)]

    def reference_epoch(epoch: int) -> Any:
        torch.manual_seed(epoch)
        return torch.utils.data.DataLoader(reference_set, batch_size=args.batch, shuffle=True, drop_last=True,
                                           num_workers=args.workers, pin_memory=device.type == "cuda")

    def nascli_epochs(augment: AugmentConfig) -> Any:
        loader = FolderStreamLoader(listing, args.batch, train=True, seed=0, augment=augment, device=device,
                                    image_size=args.size, workers=args.workers)
        return lambda epoch: loader.iterate(epoch)

    reference = _throughput(reference_epoch, device, repeats)
    ours = _throughput(nascli_epochs(AugmentConfig(normalize=False)), device, repeats)
    megvii = _throughput(nascli_epochs(AugmentConfig(normalize=False, crop_style="megvii", lighting=0.1)), device,
                         repeats)
    print_table(
        "Streamed image folder, training batches (images/s, higher is better)",
        ("pipeline", "images/s", "vs torchvision ImageFolder"),
        [
            ("torchvision ImageFolder + DataLoader", f"{reference:,.0f}", "1.00x"),
            ("nascli FolderStreamLoader, torchvision crop", f"{ours:,.0f}", ratio_text(ours, reference)),
            ("nascli FolderStreamLoader, megvii crop + lighting", f"{megvii:,.0f}", ratio_text(megvii, reference)),
        ],
    )

    count = len(listing)
    decode_seconds = min(_decode_all(listing.paths) for _ in range(repeats))
    synthetic_seconds = min(_timed_synthetic(count) for _ in range(repeats))
    print_table(
        f"{count} images of 32×32 (seconds, lower is better)",
        ("source", "seconds", "vs decoding real JPEGs"),
        [
            ("decode the real CIFAR-10 JPEGs (PIL)", f"{decode_seconds:.2f}", "1.00x"),
            ("generate the built-in synthetic set", f"{synthetic_seconds:.2f}",
             ratio_text(synthetic_seconds, decode_seconds)),
        ],
    )


def _decode_all(paths: list[Path]) -> float:
    from PIL import Image

    start = time.perf_counter()
    for path in paths:
        with Image.open(path) as image:
            image.convert("RGB").load()
    return time.perf_counter() - start


def _timed_synthetic(count: int) -> float:
    from nascli.data.synthetic import make_synthetic

    start = time.perf_counter()
    make_synthetic(count, seed=1)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
