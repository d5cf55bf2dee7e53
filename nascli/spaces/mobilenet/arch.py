"""MobileNet-space architectures: 21 block choices in the RLNAS encoding, their text and JSON forms.

The space is RLNAS's ProxylessNAS-GPU-like backbone (methods/spaces.md §3, RLNAS
`mobilenet_search_space/rlnas/train_supernet/{super_model.py,config.py,train.py}`): 21 choice blocks in six
stages, each block one of six inverted-residual (MBConv) blocks, kernel 3/5/7 × expansion 3/6, numbered
0..5 in the order of `BLOCK_KEYS`, or identity (−1). Identity is not allowed at block 0 nor at the first
block of stages 2–6 (blocks 4, 8, 12, 16, 20, the reference's `stage_last_id`), where the stride or the
width changes. An architecture is the tuple of 21 ints; its text form is those ints separated by spaces, as
the reference's `--model_id` (e.g. `2 0 -1 2 2 0 2 4 0 4 4 2 4 2 4 2 0 0 0 2 2`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from nascli.errors import NasInputError

IDENTITY = -1
BLOCK_KEYS = (
    "mobilenet_3x3_ratio_3",
    "mobilenet_3x3_ratio_6",
    "mobilenet_5x5_ratio_3",
    "mobilenet_5x5_ratio_6",
    "mobilenet_7x7_ratio_3",
    "mobilenet_7x7_ratio_6",
)
"""The reference's `config.blocks_keys`: choice c ≥ 0 is BLOCK_KEYS[c]."""
BLOCK_SHAPES = ((3, 3), (3, 6), (5, 3), (5, 6), (7, 3), (7, 6))
"""(kernel, expansion) of each choice."""
IDENTITY_NAME = "identity"
OPS = (*BLOCK_KEYS, IDENTITY_NAME)
"""Op names (mutation targets): the six MBConv keys, then identity."""

STAGES = ((32, 4, 2), (56, 4, 2), (112, 4, 2), (128, 4, 1), (256, 4, 2), (432, 1, 1))
"""(out channels, blocks, stride of the first block) of the six stages (`interverted_residual_setting`)."""
STEM_CHANNELS = 40
FIRST_BLOCK_CHANNELS = 24
LAST_CHANNELS = 1728
NUM_BLOCKS = sum(n for _, n, _ in STAGES)
STAGE_FIRST_BLOCKS = (4, 8, 12, 16, 20)
"""The reference's `stage_last_id`: the first blocks of stages 2–6, where identity is not allowed."""
NO_IDENTITY = (0, *STAGE_FIRST_BLOCKS)


def allowed_choices(block: int) -> tuple[int, ...]:
    """The choices of `block` in the reference's order: 0..5, then −1 where identity is allowed."""
    if not 0 <= block < NUM_BLOCKS:
        raise NasInputError(f"block {block} does not exist: the MobileNet space has blocks 0..{NUM_BLOCKS - 1}")
    return (0, 1, 2, 3, 4, 5) if block in NO_IDENTITY else (0, 1, 2, 3, 4, 5, IDENTITY)


ALLOWED = tuple(allowed_choices(b) for b in range(NUM_BLOCKS))
"""`operations` of the reference's train.py / search.py, per block."""


def block_stage(block: int) -> int:
    """The stage (0..5) that holds `block`."""
    start = 0
    for stage, (_, count, _) in enumerate(STAGES):
        if block < start + count:
            return stage
        start += count
    raise NasInputError(f"block {block} does not exist: the MobileNet space has blocks 0..{NUM_BLOCKS - 1}")


def op_name(choice: int) -> str:
    """`mobilenet_KxK_ratio_E` for a choice ≥ 0, `identity` for −1."""
    return IDENTITY_NAME if choice == IDENTITY else BLOCK_KEYS[choice]


def op_choice(name: str) -> int:
    """Inverse of `op_name`."""
    if name == IDENTITY_NAME:
        return IDENTITY
    if name not in BLOCK_KEYS:
        raise NasInputError(f"unknown MobileNet block {name!r}: choose from {', '.join(OPS)}")
    return BLOCK_KEYS.index(name)


@dataclass(frozen=True)
class MobileNetArch:
    """21 block choices (−1 identity, 0..5 = BLOCK_KEYS), validated against the identity rule."""

    choices: tuple[int, ...]

    def __post_init__(self) -> None:
        check_choices(self.choices)

    def __str__(self) -> str:
        return format_arch(self)

    def __iter__(self) -> Any:
        return iter(self.choices)

    def __len__(self) -> int:
        return len(self.choices)

    def __getitem__(self, block: int) -> int:
        return self.choices[block]

    def identities(self) -> int:
        """How many blocks are identity."""
        return sum(1 for c in self.choices if c == IDENTITY)


def check_choices(choices: Sequence[Any]) -> None:
    """Refuse a wrong length, an unknown choice or identity where the reference forbids it, with one line."""
    if len(choices) != NUM_BLOCKS:
        raise NasInputError(f"a MobileNet architecture has {NUM_BLOCKS} block choices, got {len(choices)}: "
                            "write 21 ints from -1..5, e.g. 2 0 -1 2 2 0 2 4 0 4 4 2 4 2 4 2 0 0 0 2 2")
    for block, choice in enumerate(choices):
        if isinstance(choice, bool) or not isinstance(choice, int) or choice not in ALLOWED[block]:
            if choice == IDENTITY:
                raise NasInputError(f"block {block} cannot be identity (-1): the first block and the first block "
                                    f"of each later stage ({', '.join(map(str, STAGE_FIRST_BLOCKS))}) change the "
                                    "stride or width; choose 0..5 there")
            raise NasInputError(f"block {block} has choice {choice!r}: choose 0..5 (an MBConv block) or -1 "
                                "(identity)")


def make_arch(choices: Iterable[Any]) -> MobileNetArch:
    """A validated architecture from 21 ints (ints given as strings or floats with integer value are accepted)."""
    values = []
    for value in choices:
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        values.append(value)
    return MobileNetArch(tuple(values))


_SEPARATORS = re.compile(r"[\s,]+")


def looks_like_arch_text(text: str) -> bool:
    """Whether `text` is 21 integers separated by spaces or commas (optionally in brackets)."""
    body = text.strip().strip("[]()").strip()
    parts = [p for p in _SEPARATORS.split(body) if p]
    return len(parts) == NUM_BLOCKS and all(re.fullmatch(r"-?\d+", p) for p in parts)


def parse_arch(text: str) -> MobileNetArch:
    """Parse `2 0 -1 …` (also with commas or brackets, as the reference's logs print a list)."""
    body = text.strip().strip("[]()").strip()
    parts = [p for p in _SEPARATORS.split(body) if p]
    if not all(re.fullmatch(r"-?\d+", p) for p in parts):
        raise NasInputError(f"cannot read {text[:60]!r} as a MobileNet architecture: write 21 ints from -1..5, "
                            "e.g. 2 0 -1 2 2 0 2 4 0 4 4 2 4 2 4 2 0 0 0 2 2")
    return make_arch(int(p) for p in parts)


def format_arch(arch: MobileNetArch | Sequence[int]) -> str:
    """The reference's `--model_id` form: the 21 ints separated by single spaces."""
    return " ".join(str(int(c)) for c in arch)


def arch_to_json(arch: MobileNetArch) -> dict[str, Any]:
    """`{"choices": [21 ints], "blocks": [op names]}`; `from_json` reads either key (or a bare list)."""
    return {"choices": list(arch.choices), "blocks": [op_name(c) for c in arch.choices]}


def arch_from_json(obj: Any) -> MobileNetArch:
    """Inverse of `arch_to_json`; a bare list of 21 ints or op names is accepted too."""
    if isinstance(obj, dict):
        if "choices" in obj:
            return make_arch(obj["choices"])
        if "blocks" in obj:
            return make_arch(op_choice(str(name)) for name in obj["blocks"])
        raise NasInputError("a MobileNet architecture in JSON needs 'choices' (21 ints) or 'blocks' (21 op names)")
    if isinstance(obj, list | tuple):
        if obj and all(isinstance(v, str) and not re.fullmatch(r"-?\d+", v) for v in obj):
            return make_arch(op_choice(v) for v in obj)
        return make_arch(obj)
    if isinstance(obj, str):
        return parse_arch(obj)
    raise NasInputError(f"cannot read {obj!r} as a MobileNet architecture: give 21 ints or {{'choices': [...]}}")
