"""Seconds per `rmi` candidate: nascli's score against a plain eager loop of the same steps written below.

One candidate = build the NB201 network of the architecture (seeded), then `observe_step + 1` forwards of one fixed
batch, each but the last followed by backward and an SGD step (lr 0.1, momentum 0.9, weight decay 5e-4 — the NB201
recipe), with loss = 0.8·Σ(1 − linear CKA) over three taps + 0.2·CE, the score read at the last forward.
The teacher features are random tensors of the ResNet-20 tap shapes (the teacher's cost is paid once per search,
not per candidate). Sizes: CPU C=8, B=16, 20 steps (a reduced check the 2-core CI machine can run); CUDA the
paper's C=16, B=32, 150 steps.

- nascli: `nascli.scores.rmi.candidate_loss` on `space.network(arch, …)`, as `RmiScore` runs it.
- eager: the same network built the same way, and the reference's loop (RMINAS_nb201.py train_arch) written out
  with the Gram matrices centred by an explicit H = I − 11ᵀ/B.
Both run in one process, alternating, after a warm-up candidate; the figure is the median over repeats. On the
paper's sizes, the whole NB201 search's time is extrapolated from the number of candidates the search scores.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from _common import console, describe_torch, make_parser, median, print_table, ratio_text, setup_torch, timed
from torch import nn

from nascli.config import RmiConfig
from nascli.scores.candidates import candidate_seed
from nascli.scores.rmi import RmiBatch, candidate_loss
from nascli.spaces import get_space
from nascli.spaces.base import NetworkConfig

ARCHS = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
         "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")
SIZES = {"cpu": (8, 16, 20), "cuda": (16, 32, 150)}
"""(channels, batch, observe_step) per device type."""
PAPER_SEARCH_SECONDS = 1258.2


def eager_loss(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, teacher: list[torch.Tensor],
               observe: int) -> float:
    """The reference loop, written out: SGD, one step per epoch, the loss of the forward at `observe`."""
    optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9, weight_decay=5e-4)
    n = images.shape[0]
    h = torch.eye(n, device=images.device) - 1.0 / n
    model.train()
    for epoch in range(observe + 1):
        optimizer.zero_grad()
        taps = model.stage_outputs(images)
        logits = model.classifier(model.global_pooling(taps[-1]).flatten(1))
        cka_sum = 0
        for s, t in zip(taps, teacher, strict=True):
            k = h @ (s.reshape(n, -1) @ s.reshape(n, -1).T) @ h
            lm = h @ (t.reshape(n, -1) @ t.reshape(n, -1).T) @ h
            cka_sum = cka_sum + (k * lm).sum() / (k.norm() * lm.norm())
        loss = 0.8 * (3 - cka_sum) + 0.2 * F.cross_entropy(logits, labels)
        if epoch == observe:
            return float(loss.detach())
        loss.backward()
        optimizer.step()
    raise AssertionError


def main() -> None:
    """Time both loops and print seconds per candidate and their ratio."""
    args = make_parser(__doc__.splitlines()[0]).parse_args()
    device = setup_torch(args.device, args.threads)
    channels, batch_size, observe = SIZES[device.type]
    if args.quick:
        observe = 3
    repeats = 1 if args.quick else 3
    console.print(describe_torch(device))
    space = get_space("nb201")
    net = NetworkConfig(num_classes=10, channels=channels, layers=5, input_size=32)
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(batch_size, 3, 32, 32, generator=generator).to(device)
    labels = torch.randint(0, 10, (batch_size,), generator=generator).to(device)
    teacher = [torch.randn(batch_size, *shape, generator=generator).to(device)
               for shape in ((16, 32, 32), (32, 16, 16), (64, 8, 8))]
    batch = RmiBatch(images, labels, torch.arange(batch_size), teacher, torch.zeros(batch_size), {})
    cfg = RmiConfig(batch=batch_size, steps=observe + 1, observe_step=observe)

    def build(text: str) -> nn.Module:
        torch.manual_seed(candidate_seed(7, text))
        return space.network(space.parse(text), net).to(device)

    def run_nascli() -> float:
        return sum(candidate_loss(build(text), batch, cfg) for text in ARCHS)

    def run_eager() -> float:
        return sum(eager_loss(build(text), images, labels, teacher, observe) for text in ARCHS)

    run_nascli(), run_eager()  # warm-up
    times: dict[str, list[float]] = {"nascli": [], "eager": []}
    values: dict[str, float] = {}
    for repeat in range(repeats):
        order = [("nascli", run_nascli), ("eager", run_eager)]
        for name, function in order if repeat % 2 == 0 else order[::-1]:
            seconds, values[name] = timed(function)
            times[name].append(seconds / len(ARCHS))
    nascli_s, eager_s = median(times["nascli"]), median(times["eager"])
    rows = [["nascli candidate_loss", f"{nascli_s:.3f}", f"{values['nascli']:.5f}"],
            ["eager reference loop", f"{eager_s:.3f}", f"{values['eager']:.5f}"],
            ["nascli / eager", ratio_text(nascli_s, eager_s), ""]]
    print_table(f"rmi: seconds per candidate (C={channels}, B={batch_size}, {observe + 1} forwards, "
                f"{len(ARCHS)} archs × {repeats} repeats)", ["loop", "s / candidate", "sum of losses"], rows)
    if device.type == "cuda" and not args.quick:
        for evaluated in (200, 500, 1000):
            console.print(f"NB201 search scoring {evaluated} candidates: ≈{evaluated * nascli_s:.0f} s "
                          f"(paper: {PAPER_SEARCH_SECONDS} s)")


if __name__ == "__main__":
    main()
