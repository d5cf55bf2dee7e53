"""Training throughput of the NB201 supernet: nascli against the NB201 authors' own search network (xautodl).

One training step = draw a per-cell path, zero the gradients, forward, cross-entropy, backward, SGD step
(lr 0.025, momentum 0.9, Nesterov, weight decay 5e-4 — the RLNAS NB201 settings and nascli's defaults,
gradients zeroed in place as in the references). Batch 64 of 32×32 random images held on the device
(no data loading), C=16, N=5, 10 classes.

- nascli: `get_space("nb201").supernet(...)` driven by `space.path_sampler(seed)`, the RLNAS per-cell rule;
  channels_last as the Trainer uses it on every device, bf16 autocast on CUDA.
- xautodl: `TinyNetworkSETN` in its default mode "urs", whose cells run `NAS201SearchCell.forward_urs`: every
  searched cell draws one op per edge, node by node, redrawing a node whose inputs are all `none` — the very
  rule RLNAS trains its NB201 supernet with. Its own memory format; the same autocast as nascli on CUDA.

All networks run in one process after a warm-up, interleaved: each round times one step of every network
(several on CUDA, where one step is short), the order rotating from round to round. images/s = batch / median
step time; a ratio is the median over rounds of the two networks' step-time ratio within the round, so that
load from other processes, which drifts over seconds, cancels out. Install xautodl with
`.venv/bin/python -m pip install --no-deps xautodl==1.0.0` (`make bench` does it); without it the comparison is skipped.
"""

from __future__ import annotations

import importlib.metadata
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from _common import (
    console,
    describe_torch,
    make_parser,
    median,
    print_table,
    run_steps,
    setup_torch,
)
from torch import nn

from nascli.config import OptimConfig
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig
from nascli.train.devices import Precision, autocast
from nascli.train.engine import build_optimizer

BATCH = 64
IMAGE_SIZE = 32
CHANNELS = 16
LAYERS = 5
CLASSES = 10
SEED = 0

XAUTODL_HINT = ".venv/bin/python -m pip install --no-deps xautodl==1.0.0"


@dataclass
class Variant:
    """One network to time: its step function and the step times measured so far."""

    name: str
    step: Callable[[], None]
    parameters: int
    step_seconds: list[float] = field(default_factory=list)


def make_step(
    model: nn.Module,
    forward: Callable[[nn.Module, torch.Tensor, Any], torch.Tensor],
    sample_path: Callable[[], Any],
    images: torch.Tensor,
    labels: torch.Tensor,
    precision: Precision,
    device: torch.device,
) -> Callable[[], None]:
    """A closure running one training step exactly as nascli's Trainer does (minus data loading and logging)."""
    optimizer = build_optimizer(model, OptimConfig())
    set_to_none = OptimConfig().zero_grad_to_none

    def step() -> None:
        path = sample_path()
        optimizer.zero_grad(set_to_none=set_to_none)
        with autocast(precision, device):
            logits = forward(model, images, path)
        loss = F.cross_entropy(logits.float(), labels)
        loss.backward()
        optimizer.step()

    return step


def count_weights(model: nn.Module) -> int:
    """Number of network weights (architecture parameters, which xautodl keeps beside them, excluded)."""
    return sum(p.numel() for name, p in model.named_parameters() if "arch_parameters" not in name)


def nascli_variant(
    channels_last: bool, images: torch.Tensor, labels: torch.Tensor, precision: Precision, device: torch.device
) -> Variant:
    """nascli's NB201 supernet with the RLNAS per-cell sampler, in the chosen memory format."""
    space = get_space("nb201")
    torch.manual_seed(SEED)
    model = space.supernet(NetworkConfig(num_classes=CLASSES, channels=CHANNELS, layers=LAYERS)).to(device).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    sampler = space.path_sampler(SEED)
    step = make_step(model, lambda m, x, path: m(x, path), sampler.sample, images, labels, precision, device)
    name = "nascli, channels_last" if channels_last else "nascli, contiguous"
    return Variant(name, step, count_weights(model))


def xautodl_variant(
    channels_last: bool, images: torch.Tensor, labels: torch.Tensor, precision: Precision, device: torch.device
) -> Variant:
    """xautodl's TinyNetworkSETN in mode "urs" (per-cell `forward_urs` sampling inside its forward)."""
    from xautodl.models.cell_operations import SearchSpaceNames
    from xautodl.models.cell_searchs import TinyNetworkSETN

    torch.manual_seed(SEED)
    random.seed(SEED)  # forward_urs draws with Python's random.choice
    model = TinyNetworkSETN(CHANNELS, LAYERS, 4, CLASSES, SearchSpaceNames["nas-bench-201"], False, True)
    model.set_cal_mode("urs")
    model = model.to(device).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    step = make_step(model, lambda m, x, _path: m(x)[1], lambda: None, images, labels, precision, device)
    name = "xautodl SETN-urs, channels_last" if channels_last else "xautodl SETN-urs, own format"
    return Variant(name, step, count_weights(model))


def xautodl_available() -> str | None:
    """None when xautodl's NB201 search models import, else the reason they do not."""
    try:
        from xautodl.models.cell_searchs import TinyNetworkSETN  # noqa: F401
    except Exception as error:  # any failure inside the old package means: skip it
        return f"{type(error).__name__}: {error}"
    return None


def paired_ratio(first: Variant, second: Variant) -> str:
    """Throughput of `first` over `second`: the median over rounds of their step-time ratio within the round."""
    rounds = min(len(first.step_seconds), len(second.step_seconds))
    ratios = [second.step_seconds[r] / first.step_seconds[r] for r in range(rounds) if first.step_seconds[r] > 0]
    return f"{median(ratios):.2f}x" if ratios else "n/a"


def main(argv: list[str] | None = None) -> int:
    """Measure and print images/s of every variant and the ratios between them."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None,
                        help="timed rounds of one step per variant (default 20, quick 2)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps per variant (default 3, quick 1)")
    parser.add_argument("--max-seconds", type=float, default=150.0,
                        help="start no new round after this many seconds (a loaded machine then reports fewer)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 20)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    if rounds < 1 or warmup < 0:
        parser.error("--rounds must be at least 1 and --warmup at least 0")

    device = setup_torch(args.device, args.threads)
    steps_per_round = 10 if device.type == "cuda" else 1
    precision = Precision(torch.bfloat16, False) if device.type == "cuda" else Precision(None, False)
    console.print(f"NB201 supernet training throughput — {describe_torch(device)}, precision {precision.name}")
    console.print(
        f"batch {BATCH}, {IMAGE_SIZE}×{IMAGE_SIZE} input, C={CHANNELS}, N={LAYERS}, {CLASSES} classes; "
        f"{warmup} warm-up steps per network, then up to {rounds} rounds of {steps_per_round} timed step(s) each "
        f"(order rotating each round); load average {os.getloadavg()[0]:.1f} at start"
        + ("  [--quick: smoke run, numbers not meaningful]" if args.quick else "")
    )

    generator = torch.Generator().manual_seed(SEED)
    images = torch.randn(BATCH, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator).to(device)
    labels = torch.randint(0, CLASSES, (BATCH,), generator=generator).to(device)

    variants = [nascli_variant(True, images, labels, precision, device),
                nascli_variant(False, images, labels, precision, device)]
    missing = xautodl_available()
    if missing is None:
        variants += [xautodl_variant(False, images, labels, precision, device),
                     xautodl_variant(True, images, labels, precision, device)]
        extra = variants[2].parameters - variants[0].parameters
        console.print(
            f"xautodl {importlib.metadata.version('xautodl')} sampling: TinyNetworkSETN mode 'urs' → "
            "NAS201SearchCell.forward_urs, one path per cell per step (the RLNAS rule); nascli: "
            "NB201CellwiseSampler, the same rule"
        )
        console.print(
            "xautodl differs in two details, both counted in the ratio: its `none` edges compute x·0 (nascli "
            f"skips them) and its cell convs carry a bias when BN is not affine ({extra:+,} weights here)"
        )
    else:
        console.print(f"SKIP xautodl comparison: xautodl cannot be imported ({missing}); install it with "
                      f"`{XAUTODL_HINT}`")

    started = time.perf_counter()
    for variant in variants:
        run_steps(variant.step, warmup, device)
    done = 0
    while done < rounds and (done == 0 or time.perf_counter() - started < args.max_seconds):
        shift = done % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            variant.step_seconds.append(run_steps(variant.step, steps_per_round, device) / steps_per_round)
        done += 1
    elapsed = time.perf_counter() - started
    console.print(f"{done} round(s) in {elapsed:.0f} s; load average {os.getloadavg()[0]:.1f} at the end")
    if done < rounds:
        console.print(f"stopped after {done} of {rounds} rounds: --max-seconds {args.max_seconds:g} was spent")

    rows = []
    for variant in variants:
        times = sorted(variant.step_seconds)
        low, high = times[len(times) // 4], times[(3 * len(times)) // 4]
        step = median(times)
        rows.append([variant.name, f"{BATCH / step:,.0f}", f"{BATCH / high:,.0f}–{BATCH / low:,.0f}",
                     f"{1000 * step:.1f}", f"{variant.parameters:,}"])
    print_table(f"images/s (median step time of {done} round(s); quartile range)",
                ["network", "images/s", "range", "ms/step", "weights"], rows)

    by_name = {variant.name: variant for variant in variants}
    nascli_cl, nascli_plain = by_name["nascli, channels_last"], by_name["nascli, contiguous"]
    ratios = []
    if missing is None:
        ratios.append(["nascli (as the Trainer runs it) / xautodl (as shipped)",
                       paired_ratio(nascli_cl, by_name["xautodl SETN-urs, own format"])])
        ratios.append(["nascli / xautodl, both channels_last",
                       paired_ratio(nascli_cl, by_name["xautodl SETN-urs, channels_last"])])
    ratios.append([f"nascli channels_last / nascli contiguous ({device.type})", paired_ratio(nascli_cl, nascli_plain)])
    print_table("throughput ratios, median over rounds (> 1: the first is faster)", ["comparison", "ratio"], ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
