"""Retraining step throughput and peak memory of DARTS_V2's NetworkCIFAR: nascli against a textbook eager DARTS.

One training step = zero the gradients, forward with the auxiliary head, cross-entropy + 0.4 × auxiliary
cross-entropy, backward, clip the gradient norm at 5, SGD step (lr 0.025, momentum 0.9, weight decay 3e-4 —
the DARTS recipe), with drop-path 0.2 on. Random 32×32 images held on the device (no data loading).
Sizes: on CPU C=16, L=8, batch 32 (a reduced DARTS network); on CUDA the paper's C=36, L=20, batch 96.

- nascli: `get_space("darts").network("DARTS_V2", …)` driven exactly as `nas retrain`'s Trainer drives it:
  channels_last, bf16 autocast on CUDA; also timed in NCHW to isolate the memory format.
- textbook: the DARTS reference NetworkCIFAR (quark0/darts cnn/model.py, operations.py) re-written compactly
  below in plain eager PyTorch, NCHW, with its in-place drop-path and in-place ReLU in the auxiliary head;
  the same genotype, sizes and precision as nascli (on CUDA also in fp32, as the references ran).

Throughput: variants run in one process, alternating (the order reverses every repeat), after a warm-up; the
figure is the median over repeats of (steps × batch) / seconds. Peak memory: bytes allocated above what is
resident before a step (weights, gradients, momentum) at the peak of one step — torch.cuda.max_memory_allocated
on CUDA; on CPU the running sum of the allocation events of torch's profiler (tracemalloc cannot see torch's
allocator).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

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
    synchronize,
)
from torch import nn

from nascli.config import OptimConfig
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig
from nascli.spaces.darts import DartsGenotype
from nascli.spaces.genotypes import get_genotype
from nascli.train.devices import Precision, autocast
from nascli.train.engine import build_optimizer, classification_loss

SIZES = {"cpu": (16, 8, 32), "cuda": (36, 20, 96)}
"""(channels, layers, batch) per device type."""
IMAGE_SIZE = 32
CLASSES = 10
AUX_WEIGHT = 0.4
DROP_PATH = 0.2
SEED = 0
OPTIM = OptimConfig(lr=0.025, momentum=0.9, nesterov=False, weight_decay=3e-4, grad_clip=5.0)


# --- the textbook DARTS network (plain eager, NCHW) -------------------------------------------------------
def relu_conv_bn(c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> nn.Sequential:
    """ReLU, conv, BN."""
    return nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                         nn.BatchNorm2d(c_out))


def dil_conv(c: int, kernel: int, stride: int, padding: int, dilation: int) -> nn.Sequential:
    """ReLU, depthwise (dilated) conv, pointwise conv, BN."""
    return nn.Sequential(nn.ReLU(inplace=False),
                         nn.Conv2d(c, c, kernel, stride, padding, dilation=dilation, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))


def sep_conv(c: int, kernel: int, stride: int, padding: int) -> nn.Sequential:
    """Two stacked depthwise-separable convs, the first strided."""
    return nn.Sequential(*dil_conv(c, kernel, stride, padding, 1), *dil_conv(c, kernel, 1, padding, 1))


class FactorizedReduce(nn.Module):
    """ReLU, two 1×1 stride-2 convs on x and x shifted by one pixel, concatenated, BN."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Halve the resolution."""
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


OPS: dict[str, Callable[[int, int], nn.Module]] = {
    "max_pool_3x3": lambda c, s: nn.MaxPool2d(3, stride=s, padding=1),
    "avg_pool_3x3": lambda c, s: nn.AvgPool2d(3, stride=s, padding=1, count_include_pad=False),
    "skip_connect": lambda c, s: nn.Identity() if s == 1 else FactorizedReduce(c, c),
    "sep_conv_3x3": lambda c, s: sep_conv(c, 3, s, 1),
    "sep_conv_5x5": lambda c, s: sep_conv(c, 5, s, 2),
    "dil_conv_3x3": lambda c, s: dil_conv(c, 3, s, 2, 2),
    "dil_conv_5x5": lambda c, s: dil_conv(c, 5, s, 4, 2),
}


def drop_path_(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """The reference's in-place drop-path."""
    keep = 1.0 - drop_prob
    mask = torch.empty(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    x.div_(keep)
    x.mul_(mask)
    return x


class Cell(nn.Module):
    """One DARTS cell of a genotype: states 2..5, each the sum of two ops, output concat of 2..5."""

    def __init__(self, genotype: DartsGenotype, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool):
        super().__init__()
        self.preprocess0 = FactorizedReduce(c_pp, c) if reduction_prev else relu_conv_bn(c_pp, c, 1, 1, 0)
        self.preprocess1 = relu_conv_bn(c_p, c, 1, 1, 0)
        pairs = genotype.reduce if reduction else genotype.normal
        self.indices = [index for _, index in pairs]
        self.ops = nn.ModuleList(OPS[op](c, 2 if reduction and index < 2 else 1) for op, index in pairs)
        self.multiplier = 4

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float) -> torch.Tensor:
        """Cell output."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(4):
            hs = []
            for k in (2 * i, 2 * i + 1):
                h = self.ops[k](states[self.indices[k]])
                if self.training and drop_prob > 0 and not isinstance(self.ops[k], nn.Identity):
                    h = drop_path_(h, drop_prob)
                hs.append(h)
            states.append(hs[0] + hs[1])
        return torch.cat(states[2:], dim=1)


class TextbookNetworkCIFAR(nn.Module):
    """DARTS NetworkCIFAR with the auxiliary head after cell 2L//3 (in-place ReLU first, as the reference)."""

    def __init__(self, genotype: DartsGenotype, c: int, num_classes: int, layers: int) -> None:
        super().__init__()
        self.layers = layers
        self.drop_path_prob = 0.0
        c_curr = 3 * c
        self.stem = nn.Sequential(nn.Conv2d(3, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr))
        c_pp, c_p, c_curr = c_curr, c_curr, c
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            cell = Cell(genotype, c_pp, c_p, c_curr, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_curr
            if i == 2 * layers // 3:
                c_aux = c_p
        self.auxiliary_head = nn.Sequential(
            nn.ReLU(inplace=True), nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(c_aux, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=True), nn.Flatten(),
            nn.Linear(768, num_classes),
        )
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits, auxiliary logits in training)."""
        s0 = s1 = self.stem(x)
        logits_aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == 2 * self.layers // 3 and self.training:
                logits_aux = self.auxiliary_head(s1)
        return self.classifier(self.global_pooling(s1).flatten(1)), logits_aux


# --- measurement -------------------------------------------------------------------------------------------
@dataclass
class Variant:
    """One network to time: its step function, weight count and the measurements so far."""

    name: str
    step: Callable[[], None]
    parameters: int
    peak_bytes: int = 0
    images_per_s: list[float] = field(default_factory=list)


def make_step(model: nn.Module, forward: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]],
              images: torch.Tensor, labels: torch.Tensor, precision: Precision, device: torch.device
              ) -> Callable[[], None]:
    """One training step as the Trainer runs it (no data loading, logging or LR schedule)."""
    optimizer = build_optimizer(model, OPTIM)

    def step() -> None:
        optimizer.zero_grad(set_to_none=OPTIM.zero_grad_to_none)
        with autocast(precision, device):
            output = forward(images)
        loss = classification_loss(output, labels, 0.0, AUX_WEIGHT)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), OPTIM.grad_clip)
        optimizer.step()

    return step


def nascli_variant(channels_last: bool, sizes: tuple[int, int, int], images: torch.Tensor, labels: torch.Tensor,
                   precision: Precision, device: torch.device) -> Variant:
    """nascli's DARTS_V2 network with the auxiliary head, in the chosen memory format."""
    channels, layers, _ = sizes
    torch.manual_seed(SEED)
    cfg = NetworkConfig(num_classes=CLASSES, channels=channels, layers=layers, input_size=IMAGE_SIZE,
                        options={"auxiliary": True, "drop_path_prob": DROP_PATH})
    model = get_space("darts").network("DARTS_V2", cfg).to(device).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    step = make_step(model, lambda x: model.forward_with_aux(x), images, labels, precision, device)
    name = f"nascli, {'channels_last' if channels_last else 'NCHW'}{', ' + precision.name}"
    return Variant(name, step, sum(p.numel() for p in model.parameters()))


def textbook_variant(sizes: tuple[int, int, int], images: torch.Tensor, labels: torch.Tensor, precision: Precision,
                     device: torch.device) -> Variant:
    """The textbook DARTS network, NCHW."""
    channels, layers, _ = sizes
    torch.manual_seed(SEED)
    model = TextbookNetworkCIFAR(get_genotype("DARTS_V2"), channels, CLASSES, layers).to(device).train()
    model.drop_path_prob = DROP_PATH
    step = make_step(model, model, images, labels, precision, device)
    return Variant(f"textbook, NCHW, {precision.name}", step, sum(p.numel() for p in model.parameters()))


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Hide the profiler's start/stop lines, which its C++ side writes straight to file descriptor 2."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def peak_step_bytes(variant: Variant, device: torch.device) -> int:
    """Bytes allocated above the pre-step level at the peak of one training step."""
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        variant.step()
        synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    from torch.profiler import ProfilerActivity, profile

    with silenced_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        variant.step()
    events = sorted((e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"),
                    key=lambda e: e.start_ns())
    live = peak = 0
    for event in events:
        live += event.nbytes()
        peak = max(peak, live)
    return peak


def main(argv: list[str] | None = None) -> int:
    """Measure and print images/s and peak memory of every variant and the ratios between them."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="timed steps per repeat (default 5, quick 1)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats, median reported (default 3, quick 1)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps per variant (default 2, quick 1)")
    args = parser.parse_args(argv)
    steps = args.steps or (1 if args.quick else 5)
    repeats = args.repeats or (1 if args.quick else 3)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    if steps < 1 or repeats < 1 or warmup < 1:
        parser.error("--steps, --repeats and --warmup must be at least 1")

    os.environ.setdefault("KINETO_LOG_LEVEL", "5")
    device = setup_torch(args.device, args.threads)
    sizes = SIZES[device.type]
    channels, layers, batch = sizes
    precision = Precision(torch.bfloat16, False) if device.type == "cuda" else Precision(None, False)
    console.print(f"DARTS_V2 retraining step — {describe_torch(device)}, precision {precision.name}")
    console.print(
        f"NetworkCIFAR C={channels}, L={layers}, batch {batch}, {IMAGE_SIZE}×{IMAGE_SIZE}, auxiliary {AUX_WEIGHT}, "
        f"drop-path {DROP_PATH}; {warmup} warm-up step(s), then {repeats} repeat(s) × {steps} step(s) per variant, "
        "alternating" + ("  [--quick: smoke run, numbers not meaningful]" if args.quick else "")
    )

    generator = torch.Generator().manual_seed(SEED)
    images = torch.randn(batch, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator).to(device)
    labels = torch.randint(0, CLASSES, (batch,), generator=generator).to(device)
    variants = [
        nascli_variant(True, sizes, images, labels, precision, device),
        nascli_variant(False, sizes, images, labels, precision, device),
        textbook_variant(sizes, images, labels, precision, device),
    ]
    if device.type == "cuda":
        variants.append(textbook_variant(sizes, images, labels, Precision(None, False), device))
    if len({variant.parameters for variant in variants}) != 1:
        console.print("WARNING: the networks differ in weight count: "
                      + ", ".join(f"{v.name} {v.parameters:,}" for v in variants))

    for variant in variants:
        run_steps(variant.step, warmup, device)
        variant.peak_bytes = peak_step_bytes(variant, device)
    for repeat in range(repeats):
        order = variants if repeat % 2 == 0 else variants[::-1]
        for variant in order:
            variant.images_per_s.append(steps * batch / run_steps(variant.step, steps, device))

    rows = []
    for variant in variants:
        rate = median(variant.images_per_s)
        rows.append([variant.name, f"{rate:,.1f}", f"{min(variant.images_per_s):,.1f}–{max(variant.images_per_s):,.1f}",
                     f"{1000 * batch / rate:.0f}", f"{variant.peak_bytes / 2**20:,.1f}", f"{variant.parameters:,}"])
    print_table(f"training step (median of {repeats})",
                ["network", "images/s", "range", "ms/step", "peak MiB/step", "weights"], rows)

    nascli, nchw, textbook = variants[:3]
    rate = {variant.name: median(variant.images_per_s) for variant in variants}
    ratios = [
        ["nascli (as the Trainer runs it) / textbook, same precision",
         ratio_text(rate[nascli.name], rate[textbook.name]), ratio_text(nascli.peak_bytes, textbook.peak_bytes)],
        ["nascli channels_last / nascli NCHW", ratio_text(rate[nascli.name], rate[nchw.name]),
         ratio_text(nascli.peak_bytes, nchw.peak_bytes)],
        ["nascli NCHW / textbook NCHW (implementation alone)", ratio_text(rate[nchw.name], rate[textbook.name]),
         ratio_text(nchw.peak_bytes, textbook.peak_bytes)],
    ]
    if device.type == "cuda":
        fp32 = variants[3]
        ratios.append(["nascli (Trainer) / textbook fp32 NCHW (as the references ran)",
                       ratio_text(rate[nascli.name], rate[fp32.name]), ratio_text(nascli.peak_bytes, fp32.peak_bytes)])
    print_table("ratios (throughput > 1: the first is faster; memory < 1: the first needs less)",
                ["comparison", "throughput", "peak memory"], ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
