"""Peak memory and step time of DrNAS progressive learning on the DARTS space, against no progressive learning.

One search step = DrNAS's loop body: a first-order architecture step (a fresh Dir(ELU(θ)+1) draw per edge,
cross-entropy on a batch of the architecture half, Adam on θ) then a weight step (a fresh draw, SGD with
momentum 0.9, weight decay 3e-4, gradient clipping 5), on random images held on the device.

- progressive stage 1: K = 6 (1/6 of the channels through the ops), all 7 ops — the first stage of
  `recipes/drnas/darts-cifar10.yaml`;
- progressive stage 2: the same supernet after the stage boundary: θ pruned to the 4 strongest ops per edge,
  every op widened to K = 4 by copying channels, the SGD momentum carried over;
- baseline: the same search run at the final stage's K = 4 with no op pruned (all 7 ops) — what a single
  stage at the final width would cost.

Each variant runs in its own process, so peak figures do not mix: on CUDA the peak of
`torch.cuda.max_memory_allocated` over the warm-up and timed steps minus the memory held before them
(weights, optimizer state, batches); on CPU the peak resident set size over the same steps (VmHWM, reset
through /proc/self/clear_refs after malloc_trim) minus the resident size before them. The step time is the
median over the timed steps. Sizes: CUDA the paper's C=36, L=20, batch 64 at 32 px; CPU a reduced C=12, L=5,
batch 16 at 32 px.
"""

from __future__ import annotations

import ctypes
import gc
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import console, describe_torch, make_parser, median, print_table, ratio_text, setup_torch, synchronize

VARIANTS = ("progressive-stage1", "progressive-stage2", "baseline")
SIZES = {"cuda": (36, 20, 64), "cpu": (12, 5, 16)}
IMAGE_SIZE = 32
CLASSES = 10
SEED = 0


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} is not in /proc/self/status")


def _reset_peak_rss() -> bool:
    """Hand freed heap back to the system (glibc malloc_trim), then reset the peak RSS to the current RSS."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure(variant: str, device_name: str | None, threads: int | None, steps: int, warmup: int) -> dict[str, Any]:
    """Build `variant`, run warm-up and timed steps, return peak memory (MiB) and median step time (ms)."""
    import torch
    import torch.nn.functional as F

    from nascli.config import OptimConfig
    from nascli.spaces import get_space
    from nascli.spaces.base import NetworkConfig
    from nascli.strategies.differentiable import ArchParameters
    from nascli.strategies.progressive import widen_supernet
    from nascli.train.engine import build_optimizer

    device = setup_torch(device_name, threads)
    channels, layers, batch = SIZES[device.type]
    torch.manual_seed(SEED)
    space = get_space("darts", variant="drnas")
    start_k = 4 if variant == "baseline" else 6
    net = space.supernet(NetworkConfig(num_classes=CLASSES, channels=channels, layers=layers,
                                       options={"partial_channels": start_k, "affine": False})).to(device)
    arch = ArchParameters(space, "dirichlet", device=device)
    optim_cfg = OptimConfig(lr=0.1, lr_min=0.0, momentum=0.9, nesterov=False, weight_decay=3e-4, grad_clip=5.0)
    optimizer = build_optimizer(net, optim_cfg)
    arch_optimizer = torch.optim.Adam(arch.parameters(), lr=6e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    generator = torch.Generator().manual_seed(SEED)
    images = [torch.randn(batch, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator).to(device) for _ in range(2)]
    labels = [torch.randint(0, CLASSES, (batch,), generator=generator).to(device) for _ in range(2)]

    def step() -> None:
        params = arch.parameters()
        loss = F.cross_entropy(net(images[1], arch.mixing_weights()), labels[1])
        for param, grad in zip(params, torch.autograd.grad(loss, params), strict=True):
            param.grad = grad
        arch_optimizer.step()
        arch_optimizer.zero_grad(set_to_none=True)
        optimizer.zero_grad()
        loss = F.cross_entropy(net(images[0], arch.mixing_weights(detach=True)), labels[0])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        optimizer.step()

    step()  # creates the momentum buffers, as a search reaching the stage boundary has them
    if variant == "progressive-stage2":
        arch.prune(4)
        optimizer = widen_supernet(net, optimizer, optim_cfg, 4, torch.Generator().manual_seed(SEED))
    synchronize(device)
    # the peak covers the warm-up steps too: a caching allocator (CPU heap, CUDA cache) would hide a peak
    # reached before the measurement started
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    else:
        if not _reset_peak_rss():
            raise SystemExit("cannot reset the peak RSS (/proc/self/clear_refs): run on Linux or with --device cuda")
        before = _rss_kib("VmRSS") * 1024
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) - before
    else:
        peak = _rss_kib("VmHWM") * 1024 - before
    return {
        "variant": variant, "k": net.partial_channels, "ops": arch.num_kept(), "peak_mib": peak / 2**20,
        "step_ms": 1000 * median(times), "device": describe_torch(device), "size": [channels, layers, batch],
        "weights_mib": sum(p.numel() * p.element_size() for p in net.parameters()) / 2**20,
    }


def main(argv: list[str] | None = None) -> int:
    """Run every variant in a child process and print peaks, step times and ratios against the baseline."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="timed steps per variant (default 4, quick 2)")
    parser.add_argument("--variant", choices=VARIANTS, help="(internal) measure one variant and print JSON")
    args = parser.parse_args(argv)
    steps = args.steps or (2 if args.quick else 4)
    warmup = 1
    if args.variant:
        print(json.dumps(measure(args.variant, args.device, args.threads, steps, warmup)))
        return 0
    results = {}
    for variant in VARIANTS:
        command = [sys.executable, __file__, "--variant", variant, "--steps", str(steps)]
        if args.device:
            command += ["--device", args.device]
        if args.threads:
            command += ["--threads", str(args.threads)]
        if args.quick:
            command.append("--quick")
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            console.print(f"{variant} failed:\n{completed.stderr[-2000:]}")
            return 1
        results[variant] = json.loads(completed.stdout.strip().splitlines()[-1])
    first = results[VARIANTS[0]]
    channels, layers, batch = first["size"]
    console.print(f"{first['device']}; DARTS space (drnas variant), C={channels}, L={layers}, batch {batch}, "
                  f"{IMAGE_SIZE} px" + ("  [--quick: smoke run, numbers not meaningful]" if args.quick else ""))
    base = results["baseline"]
    rows = []
    for variant in VARIANTS:
        r = results[variant]
        rows.append([variant, str(r["k"]), str(r["ops"]), f"{r['weights_mib']:.1f}", f"{r['peak_mib']:.1f}",
                     f"{r['step_ms']:.1f}", ratio_text(r["peak_mib"], base["peak_mib"]),
                     ratio_text(r["step_ms"], base["step_ms"])])
    print_table("DrNAS step: progressive learning vs the final K with all ops",
                ["variant", "K", "ops", "weights MiB", "peak step MiB", "step ms", "memory vs baseline",
                 "time vs baseline"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
