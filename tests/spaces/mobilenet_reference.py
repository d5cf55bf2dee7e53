"""Helpers shared by the MobileNet tests: the reference fixture and its formula weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nascli.spaces.mobilenet import reference_key

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "mobilenet" / "reference_numbers.json"


def reference_numbers() -> dict[str, Any]:
    """The numbers pinned from the RLNAS code (tests/fixtures/mobilenet/README.md)."""
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def formula(name: str, shape: tuple[int, ...] | torch.Size, phase: float) -> torch.Tensor:
    """0.1 · sin(0.7 j + 0.1 k + phase), j the flat index, k = Σ ord(name) mod 97 (as in the fixture's README)."""
    n = int(torch.Size(shape).numel())
    k = sum(ord(ch) for ch in name) % 97
    index = torch.arange(n, dtype=torch.float64)
    return (torch.sin(index * 0.7 + k * 0.1 + phase) * 0.1).reshape(shape)


def set_formula_weights(model: nn.Module, phase: float) -> None:
    """Overwrite every parameter by the formula keyed by its reference state-dict name (BN statistics kept)."""
    state = model.state_dict()
    new = {}
    for name, tensor in state.items():
        if name.endswith("num_batches_tracked") or "running_" in name:
            new[name] = tensor
        else:
            new[name] = formula(reference_key(name), tensor.shape, phase).to(tensor.dtype)
    model.load_state_dict(new)
