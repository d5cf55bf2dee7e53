"""BPE1 `trained-acc` cost: training-step throughput against a textbook pt.darts network, and one architecture's
training timed on the 25,000 real CIFAR-10 images, scaled to BPE1's 50,000 images × 10 epochs.

1. Throughput. One training step of the BPE1 network (methods/bpe.md §2: DARTS_V2 cell, C=8, 6 cells, 16×16
   images, batch 128, auxiliary head 0.4 pooled adaptively to 2×2, drop-path 0.1 = BPE1's mid-run value, SGD
   momentum 0.9 without Nesterov, weight decay 3e-4, clip 5, fp32), on random images held in memory:
   - nascli: the network `trained-acc` builds (`get_space("darts").network`, option aux_pool adaptive), stepped
     as the engine steps it, in channels_last (the engine's default) and in NCHW;
   - textbook: the eager DARTS network of bench_retrain.py (quark0/darts, which pt.darts follows) with pt.darts's
     adaptive auxiliary pooling (BPE's models/augment_cnn.py), NCHW.
   Variants alternate, the order reversing every repeat; the figure is the median of (steps × batch) / seconds.
2. Cost of one BPE1 architecture. The real `trained-acc` path — `training_set`, `train_loader` (crop 32 pad 4,
   flip, resize to 16), `network_trainer` (the engine `nas retrain` uses), `evaluate_accuracy` — on the images of
   ../shared/data/cifar10-search-train: one epoch over them, then one evaluation of `--eval-images` of them. BPE1's
   cost is scaled from these: 10 × (epoch × 50,000 / images) + 10 × (evaluation × 10,000 / evaluated), i.e.
   every epoch over the full training set and a test-set evaluation after each (test-max).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from _common import (
    console,
    describe_torch,
    make_parser,
    median,
    print_table,
    ratio_text,
    run_steps,
    setup_torch,
    timed,
)
from bench_retrain import TextbookNetworkCIFAR, Variant, make_step
from torch import nn

from nascli.config import SearchConfig, resolve_config
from nascli.data.pipeline import eval_loader, train_loader, training_set
from nascli.scores.candidates import candidate_seed
from nascli.scores.trained_acc import candidate_retrain_config
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig
from nascli.spaces.genotypes import get_genotype
from nascli.train.distributed import DistInfo
from nascli.train.engine import evaluate_accuracy
from nascli.train.retrain import build_network, loader_image_size, network_trainer

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "bpe" / "bpe1-score.yaml"
SHARED = Path(os.environ.get("NASCLI_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
IMAGES = SHARED / "cifar10-search-train"
CHANNELS, LAYERS, BATCH, SIZE, CLASSES = 8, 6, 128, 16, 10
DROP_PATH = 0.1
SEED = 0
BPE1_TRAIN_IMAGES, BPE1_TEST_IMAGES, BPE1_EPOCHS = 50_000, 10_000, 10
SHEET_GPU_HOURS = 0.0852
"""experimantal_stastics.xlsx, sheet "BPE1 and BPE2": Task5 / test5 mean time per architecture (V100)."""


def nascli_variant(channels_last: bool, images: torch.Tensor, labels: torch.Tensor, device: torch.device) -> Variant:
    """The BPE1 network trained-acc builds, in the chosen memory format."""
    from nascli.train.devices import Precision

    torch.manual_seed(SEED)
    cfg = NetworkConfig(num_classes=CLASSES, channels=CHANNELS, layers=LAYERS, input_size=SIZE,
                        options={"auxiliary": True, "aux_pool": "adaptive", "drop_path_prob": DROP_PATH})
    model = get_space("darts").network("DARTS_V2", cfg).to(device).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    step = make_step(model, lambda x: model.forward_with_aux(x), images, labels, Precision(None, False), device)
    return Variant(f"nascli, {'channels_last' if channels_last else 'NCHW'}", step,
                   sum(p.numel() for p in model.parameters()))


def textbook_variant(images: torch.Tensor, labels: torch.Tensor, device: torch.device) -> Variant:
    """The textbook DARTS network with pt.darts's adaptive auxiliary pooling (BPE's AuxiliaryHead), NCHW."""
    from nascli.train.devices import Precision

    torch.manual_seed(SEED)
    model = TextbookNetworkCIFAR(get_genotype("DARTS_V2"), CHANNELS, CLASSES, LAYERS)
    model.auxiliary_head[1] = nn.AdaptiveAvgPool2d((2, 2))
    model = model.to(device).train()
    model.drop_path_prob = DROP_PATH
    step = make_step(model, model, images, labels, Precision(None, False), device)
    return Variant("textbook pt.darts, NCHW", step, sum(p.numel() for p in model.parameters()))


def throughput(device: torch.device, steps: int, repeats: int, warmup: int) -> None:
    """Part 1: images/s of the three variants."""
    generator = torch.Generator().manual_seed(SEED)
    images = torch.randn(BATCH, 3, SIZE, SIZE, generator=generator).to(device)
    labels = torch.randint(0, CLASSES, (BATCH,), generator=generator).to(device)
    variants = [nascli_variant(True, images, labels, device), nascli_variant(False, images, labels, device),
                textbook_variant(images, labels, device)]
    if len({variant.parameters for variant in variants}) != 1:
        console.print("WARNING: the networks differ in weight count: "
                      + ", ".join(f"{v.name} {v.parameters:,}" for v in variants))
    for variant in variants:
        run_steps(variant.step, warmup, device)
    for repeat in range(repeats):
        for variant in variants if repeat % 2 == 0 else variants[::-1]:
            variant.images_per_s.append(steps * BATCH / run_steps(variant.step, steps, device))
    textbook = median(variants[-1].images_per_s)
    rows = [[v.name, f"{median(v.images_per_s):,.1f}", f"{min(v.images_per_s):,.1f}–{max(v.images_per_s):,.1f}",
             f"{1000 * BATCH / median(v.images_per_s):.0f}", ratio_text(median(v.images_per_s), textbook),
             f"{v.parameters:,}"] for v in variants]
    print_table(f"BPE1 training step, DARTS_V2 C={CHANNELS} L={LAYERS}, batch {BATCH}, {SIZE} px (median of {repeats})",
                ["network", "images/s", "range", "ms/step", "vs textbook", "weights"], rows)


def architecture_cost(device: torch.device, train_images: int | None, eval_images: int) -> None:
    """Part 2: one BPE1 architecture's epoch and evaluation on the real images, scaled to BPE1's budget."""
    if not IMAGES.is_dir():
        console.print(f"{IMAGES} is absent: set NASCLI_SHARED_DATA to the shared data folder; part 2 skipped")
        return
    cfg, _ = resolve_config(SearchConfig, RECIPE, [
        "trained_acc.data.dataset=imagefolder", f"trained_acc.data.root={IMAGES}", "trained_acc.data.stream=false",
        "trained_acc.data.workers=0", f"runtime.device={device.type}", "runtime.quiet=true"], section="search")
    settings = cfg.trained_acc
    started = time.perf_counter()
    images = training_set(settings.data, cfg.seed).images
    decode_seconds = time.perf_counter() - started
    decoded = len(images)
    if train_images is not None and train_images < len(images):
        images = images.subset(torch.arange(train_images))
    space = get_space("darts")
    arch = space.canonical(space.coerce("DARTS_V2"))
    text = space.format(arch)
    retrain_cfg = candidate_retrain_config(settings, cfg.runtime, "darts", text, candidate_seed(cfg.seed, text))
    loader = train_loader(images, settings.data, retrain_cfg.seed, device, DistInfo())
    model, _ = build_network(space, arch, retrain_cfg, loader.num_classes, loader_image_size(loader))
    one_epoch = replace(retrain_cfg, optim=replace(retrain_cfg.optim, stop_after_epochs=1))
    with tempfile.TemporaryDirectory() as folder:
        trainer = network_trainer(one_epoch, model, loader, folder, None, device=device)
        epoch_seconds, _ = timed(trainer.fit)
    evaluated = images.subset(torch.arange(min(eval_images, len(images))))
    evaluation = eval_loader(evaluated, settings.data, device, DistInfo())
    eval_seconds, _ = timed(lambda: evaluate_accuracy(trainer.model, evaluation.iterate(0), device))
    trained = len(loader) * loader.batch_size
    total = (BPE1_EPOCHS * epoch_seconds * BPE1_TRAIN_IMAGES / trained
             + BPE1_EPOCHS * eval_seconds * BPE1_TEST_IMAGES / len(evaluated))
    rows = [
        ["decode the images into memory (once per search)", f"{decode_seconds:.1f} s", f"{decoded:,} images"],
        ["one training epoch (loader, engine, checkpoint)", f"{epoch_seconds:.1f} s",
         f"{trained / epoch_seconds:,.0f} images/s"],
        ["one evaluation", f"{eval_seconds:.1f} s", f"{len(evaluated) / eval_seconds:,.0f} images/s"],
        [f"BPE1: {BPE1_EPOCHS} × ({BPE1_TRAIN_IMAGES:,} trained + {BPE1_TEST_IMAGES:,} tested)",
         f"{total / 3600:.3f} h", f"{total / 60:.1f} min"],
        ["the sheet's BPE1 time (V100, Task5)", f"{SHEET_GPU_HOURS:.4f} h", ratio_text(total / 3600, SHEET_GPU_HOURS)],
    ]
    print_table(f"one BPE1 architecture (DARTS_V2) on {device.type}, timed on {IMAGES.name}", ["part", "time", "rate"],
                rows)


def main(argv: list[str] | None = None) -> int:
    """Measure and print both parts."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="timed steps per repeat (default 5, quick 1)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats, median reported (default 3, quick 1)")
    parser.add_argument("--train-images", type=int, default=None,
                        help="images of the real set trained on in part 2 (default: all 25,000; quick 1,280)")
    parser.add_argument("--eval-images", type=int, default=None,
                        help="images evaluated in part 2 (default 2,500; quick 500)")
    args = parser.parse_args(argv)
    steps = args.steps or (1 if args.quick else 5)
    repeats = args.repeats or (1 if args.quick else 3)
    device = setup_torch(args.device, args.threads)
    console.print(f"trained-acc (BPE1) — {describe_torch(device)}, fp32"
                  + ("  [--quick: smoke run, numbers not meaningful]" if args.quick else ""))
    throughput(device, steps, repeats, warmup=1 if args.quick else 2)
    architecture_cost(device, args.train_images or (1280 if args.quick else None),
                      args.eval_images or (500 if args.quick else 2500))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
