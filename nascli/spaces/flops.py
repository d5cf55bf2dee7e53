"""FLOPs (multiply-adds) and parameter counts of a built model, by forward hooks.

Two named conventions (`FLOPS_CONVENTIONS`); in both only Conv and Linear layers count, BN, activations
and pooling count 0:

- `macs` (nascli's default): a convolution costs C_in/groups · k_h · k_w (+1 with a bias) per output
  element; a Linear layer in·out (+out with a bias).
- `rlnas-thop`: RLNAS's vendored thop (`mobilenet_search_space/rlnas/evolution_search/thop/count_hooks.py`,
  methods/spaces.md §3), with which its 475M (MobileNet) and 600M (DARTS-ImageNet) caps and its printed
  FLOPs were counted: a convolution C_in · outputs · (k_h k_w + bias) // groups, a Linear
  (2·in − 1)·out whatever its bias. Counted exactly in integers (thop sums float32 per module, which
  can move a whole-network total by a few tens; its per-block lookup sums are exact).

Modules whose qualified name contains `auxiliary` (the auxiliary head) are excluded, as DARTS'
`count_parameters_in_MB` excludes their parameters.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from nascli.errors import NasInputError

FLOPS_CONVENTIONS = ("macs", "rlnas-thop")
"""`macs`: conv and linear multiply-adds; `rlnas-thop`: RLNAS's thop (a Linear counts (2·in − 1)·out)."""


def check_convention(convention: str) -> str:
    """Validate a FLOPs convention name."""
    if convention not in FLOPS_CONVENTIONS:
        raise NasInputError(f"unknown FLOPs convention {convention!r}: choose macs (conv + linear multiply-adds) "
                            "or rlnas-thop (RLNAS's thop: a Linear counts (2·in − 1)·out)")
    return convention


def _excluded(name: str, exclude: Sequence[str]) -> bool:
    return any(pattern in name for pattern in exclude)


def count_params(model: nn.Module, exclude: Sequence[str] = ("auxiliary",)) -> int:
    """Number of parameters whose qualified name contains none of `exclude`."""
    return sum(p.numel() for name, p in model.named_parameters() if not _excluded(name, exclude))


def _conv_flops(module: nn.modules.conv._ConvNd, output: torch.Tensor, convention: str = "macs") -> int:
    if convention == "rlnas-thop":
        kernel_ops = module.weight.shape[2:].numel() + (1 if module.bias is not None else 0)
        outputs = int(output.numel() // output.shape[0])
        return module.in_channels * outputs * int(kernel_ops) // module.groups
    per_output = module.weight.shape[1] * module.weight.shape[2:].numel()
    if module.bias is not None:
        per_output += 1
    return int(output.numel() // output.shape[0]) * int(per_output)


def _linear_flops(module: nn.Linear, output: torch.Tensor, convention: str = "macs") -> int:
    if convention == "rlnas-thop":
        return int(output.numel() // output.shape[0]) * (2 * module.in_features - 1)
    per_output = module.in_features + (1 if module.bias is not None else 0)
    return int(output.numel() // output.shape[0]) * per_output


def count_flops(
    model: nn.Module,
    input_size: Sequence[int],
    *forward_args: Any,
    exclude: Sequence[str] = ("auxiliary",),
    meta: bool = True,
    convention: str = "macs",
) -> int:
    """Multiply-adds of one forward pass on a zero image of `input_size` ((C, H, W) or (1, C, H, W)).

    The model runs in eval mode without gradients, with `drop_path_prob` set to 0 where it exists;
    both are restored afterwards. Extra positional arguments go to `forward` (e.g. a supernet path).
    With `meta` (default) a copy of the model runs on PyTorch's meta device, which propagates shapes
    without computing (much faster on CPU); a model the meta device cannot run is counted for real.
    `convention` is one of `FLOPS_CONVENTIONS` (see the module docstring).
    """
    check_convention(convention)
    shape = tuple(int(s) for s in input_size)
    if len(shape) == 3:
        shape = (1, *shape)
    if len(shape) != 4 or shape[0] != 1:
        raise NasInputError(f"input_size {tuple(input_size)} must be (C, H, W) or (1, C, H, W)")
    first = next(model.parameters(), None)
    if meta and first is not None and first.device.type != "meta":
        try:
            return _count(copy.deepcopy(model).to("meta"), shape, forward_args, exclude, convention)
        except (RuntimeError, TypeError):  # an op the meta device cannot run: count on the real model instead
            pass
    return _count(model, shape, forward_args, exclude, convention)


def _count(model: nn.Module, shape: tuple[int, ...], forward_args: tuple[Any, ...], exclude: Sequence[str],
           convention: str = "macs") -> int:
    total = 0
    handles = []

    def hook(module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.modules.conv._ConvNd):
            total += _conv_flops(module, output, convention)
        elif isinstance(module, nn.Linear):
            total += _linear_flops(module, output, convention)

    for name, module in model.named_modules():
        if isinstance(module, nn.modules.conv._ConvNd | nn.Linear) and not _excluded(name, exclude):
            handles.append(module.register_forward_hook(hook))
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    was_training = model.training
    drop_path = getattr(model, "drop_path_prob", None)
    try:
        model.eval()
        if drop_path is not None:
            model.drop_path_prob = 0.0
        with torch.no_grad():
            model(torch.zeros(shape, device=device, dtype=dtype), *forward_args)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
        if drop_path is not None:
            model.drop_path_prob = drop_path
    return total
