"""Device, mixed-precision and memory-format choices."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from nascli.errors import NasInputError


def resolve_device(name: str) -> torch.device:
    """`auto` → the local CUDA device when there is one, else CPU; `cuda` without a GPU is an input error."""
    if name == "auto":
        return torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise NasInputError("--device cuda was asked for but no CUDA GPU is visible: use --device cpu or auto")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise NasInputError(f"unknown device {name!r}: use auto, cpu or cuda")


@dataclass(frozen=True)
class Precision:
    """Autocast dtype (None = full precision) and whether a gradient scaler is needed (fp16)."""

    dtype: torch.dtype | None
    scaler: bool

    @property
    def name(self) -> str:
        """Short name for logs."""
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]


def resolve_precision(mode: str, device: torch.device) -> Precision:
    """`auto`: bf16 on CUDA GPUs that have it, fp16 with a scaler on older GPUs, fp32 on CPU."""
    if device.type != "cuda" and mode in ("bf16", "fp16"):
        raise NasInputError(f"--amp {mode} needs a CUDA GPU, and this stage runs on the {device.type}: use --amp off "
                            "(or auto, fp32 off CUDA)")
    if device.type != "cuda" or mode == "off":
        return Precision(None, False)
    if mode == "bf16" or (mode == "auto" and torch.cuda.is_bf16_supported()):
        return Precision(torch.bfloat16, False)
    return Precision(torch.float16, True)


@contextlib.contextmanager
def autocast(precision: Precision, device: torch.device) -> Iterator[None]:
    """Autocast context for the chosen precision (a no-op in fp32)."""
    if precision.dtype is None:
        yield
    else:
        with torch.autocast(device_type=device.type, dtype=precision.dtype):
            yield
