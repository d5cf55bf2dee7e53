"""RLNAS in the MobileNet space: angle scoring speed (batched tables vs the literal vector) and supernet training
throughput at a reduced input size.

- angle: `MobileNetAngleTables.build(initial, trained)` + `.angles(M)` on N random architectures (table build
  included), against `mobilenet_angle_literal` (RLNAS `get_arch_vector`, block by block) on a sample of them;
  architectures per second of each, their ratio, and the largest difference on the sample (must be ≤ 1e-9:
  the script exits 1 otherwise). Paper-size supernets (stem 40, 1000 classes) on the CPU in float64, the
  trained one a copy of the initial one with Gaussian noise on every weight.
- throughput: training images/s of the single-path supernet (uniform path per step as the RLNAS sampler +
  forward + backward + SGD step, label smoothing 0.1, value clip 5 as the recipe) at `--size` px, against the
  stand-alone network of RLNAS_mobilenet (the same step on a fixed architecture) in the same run.
"""

from __future__ import annotations

import copy
import os
import sys

import numpy as np
import torch
from _common import console, describe_torch, make_parser, median, print_table, ratio_text, run_steps, setup_torch, timed

from nascli.scores.angle_mobilenet import MobileNetAngleTables, mobilenet_angle_literal
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig

SEED = 0
TOLERANCE = 1e-9


def angle_benchmark(archs: int, sample: int, repeats: int) -> bool:
    """Print the angle timings; False when the two forms disagree by more than TOLERANCE."""
    space = get_space("mobilenet")
    torch.manual_seed(SEED)
    cfg = NetworkConfig(num_classes=1000, input_size=224)
    initial = space.supernet(cfg).eval()
    trained = copy.deepcopy(initial)
    generator = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for parameter in trained.parameters():
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
    rng = np.random.default_rng(SEED)
    population = [space.sample(rng) for _ in range(archs)]
    matrix = np.array([a.choices for a in population])
    fast_times, angles = [], np.empty(0)
    for _ in range(repeats):
        seconds, angles = timed(lambda: MobileNetAngleTables.build(initial, trained).angles(matrix))
        fast_times.append(seconds)
    literal_times, literal = [], np.empty(0)
    for _ in range(max(1, repeats // 2)):
        seconds, values = timed(lambda: [mobilenet_angle_literal(a, initial, trained) for a in population[:sample]])
        literal_times.append(seconds / sample)
        literal = np.asarray(values)
    fast_rate = archs / median(fast_times)
    literal_rate = 1.0 / median(literal_times)
    worst = float(np.max(np.abs(literal - angles[:sample])))
    print_table(f"MobileNet angle, {archs} architectures (paper-size supernets, float64, CPU)",
                ["form", "archs/s", "ratio vs literal"],
                [["batched tables (build included)", f"{fast_rate:,.0f}", ratio_text(fast_rate, literal_rate)],
                 [f"literal vector ({sample} archs)", f"{literal_rate:,.2f}", "1.00x"]])
    console.print(f"largest |batched − literal| on the sample: {worst:.2e} rad (tolerance {TOLERANCE:g})")
    return worst <= TOLERANCE


def throughput_benchmark(device: torch.device, size: int, batch: int, steps: int) -> None:
    """Print the supernet and stand-alone training images/s at `size` px."""
    space = get_space("mobilenet")
    cfg = NetworkConfig(num_classes=1000, input_size=size)
    torch.manual_seed(SEED)
    supernet = space.supernet(cfg).to(device).train()
    network = space.network("RLNAS_mobilenet", cfg).to(device).train()
    images = torch.randn(batch, 3, size, size, device=device)
    labels = torch.randint(0, 1000, (batch,), device=device)
    sampler = space.path_sampler(SEED)

    def stepper(model: torch.nn.Module, with_path: bool):  # type: ignore[no-untyped-def]
        optimizer = torch.optim.SGD(model.parameters(), lr=0.25, momentum=0.9, weight_decay=4e-5)

        def step() -> None:
            logits = model(images, sampler.sample()) if with_path else model(images)
            loss = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=False)
            loss.backward()
            torch.nn.utils.clip_grad_value_(model.parameters(), 5)
            optimizer.step()
        return step

    runs = {"supernet (uniform path per step)": stepper(supernet, True), "RLNAS_mobilenet stand-alone":
            stepper(network, False)}
    for step in runs.values():
        run_steps(step, 2, device)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(steps):
        for name, step in runs.items():
            times[name].append(run_steps(step, 1, device))
    base = batch / median(times["RLNAS_mobilenet stand-alone"])
    rows = [[name, f"{batch / median(values):.1f}", ratio_text(batch / median(values), base)]
            for name, values in times.items()]
    print_table(f"MobileNet training throughput at {size} px, batch {batch}, 1000 classes ({device.type})",
                ["network", "images/s", "ratio vs stand-alone"], rows)


def main(argv: list[str] | None = None) -> int:
    """Run both measurements; exit 1 when the angle forms disagree."""
    parser = make_parser(__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=None, help="architectures scored (default 2000, quick 100)")
    parser.add_argument("--sample", type=int, default=None, help="archs timed literally (default 20, quick 3)")
    parser.add_argument("--size", type=int, default=64, help="input size of the throughput run (default 64)")
    parser.add_argument("--batch", type=int, default=None, help="throughput batch (default 32, quick 4)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per network (default 10, quick 2)")
    args = parser.parse_args(argv)
    device = setup_torch(args.device, args.threads)
    console.print(f"{describe_torch(device)}; load average {os.getloadavg()[0]:.1f}"
                  + ("  [--quick: smoke run, numbers not meaningful]" if args.quick else ""))
    agree = angle_benchmark(args.archs or (100 if args.quick else 2000), args.sample or (3 if args.quick else 20),
                            1 if args.quick else 3)
    throughput_benchmark(device, args.size, args.batch or (4 if args.quick else 32), args.steps or
                         (2 if args.quick else 10))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
