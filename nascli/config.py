"""Recipes: YAML → typed dataclasses, `--set a.b=c` overrides, validation with clear errors."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from nascli.errors import NasInputError

C = TypeVar("C")

META_KEY = "meta"
"""Free-form recipe section (paper, source file, notes); not validated, kept in the manifest."""


def read_recipe(path: str | Path) -> dict[str, Any]:
    """Read a YAML recipe with `safe_load`; a missing file or bad YAML is a `NasInputError`."""
    path = Path(path)
    if not path.is_file():
        raise NasInputError(f"recipe {path} does not exist: see the recipes/ folder for the shipped ones")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.constructor.ConstructorError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        tag = str(exc.problem or "").split("tag", 1)[-1].strip().split()[0].strip("'") if exc.problem else "a tag"
        raise NasInputError(f"recipe {path} uses the YAML tag {tag}{where}, which nascli never loads (recipes hold "
                            "plain values): remove the tag") from None
    except UnicodeDecodeError:
        raise NasInputError(f"recipe {path} is not UTF-8 text: pass a YAML recipe (see recipes/)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise NasInputError(f"recipe {path} is not valid YAML{where}: fix the syntax") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise NasInputError(f"recipe {path} must be a mapping of settings, not a {type(data).__name__}")
    return data


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """Turn `["optim.lr=0.1", "data.dataset=cifar10"]` into a nested dict (values parsed as YAML scalars)."""
    nested: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise NasInputError(f"--set {item!r} is not key=value: write e.g. --set optim.lr=0.05")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key or any(not part for part in key.split(".")):
            raise NasInputError(f"--set {item!r} has an empty key: write e.g. --set optim.lr=0.05")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise NasInputError(f"--set {item!r} conflicts with another --set for {part!r}")
        node[parts[-1]] = value
    return nested


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; `override` wins."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def build_config(cls: type[C], data: Mapping[str, Any], source: str = "recipe") -> C:
    """Build dataclass `cls` from nested `data`, refusing unknown keys and wrong types with a suggestion."""
    return _build(cls, data, source, prefix="")


STAGE_SECTIONS = ("train_supernet", "search", "correlate", "retrain", "flops_table", "visualize")
"""A recipe either holds one stage's settings at the top level, or one section per stage under these keys."""


def recipe_section(data: dict[str, Any], section: str | None, source: str,
                   settings: Sequence[str] = ()) -> dict[str, Any]:
    """The part of a recipe meant for `section`; a sectioned recipe without it is an input error."""
    def looks_like_section(key: str) -> bool:
        return key in STAGE_SECTIONS or (
            key not in settings and bool(difflib.get_close_matches(str(key), STAGE_SECTIONS, n=1, cutoff=0.8)))

    if section is None or not any(looks_like_section(key) for key in data):
        return data
    unknown = [key for key in data if key not in STAGE_SECTIONS]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), STAGE_SECTIONS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f"; sections are {', '.join(STAGE_SECTIONS)}"
        raise NasInputError(f"{source}: unknown section {unknown[0]!r}{hint}")
    if section not in data:
        raise NasInputError(f"{source} has no {section!r} section: it is not a recipe for this command")
    return dict(data[section] or {})


def resolve_config(
    cls: type[C], recipe: str | Path | None = None, overrides: Sequence[str] = (),
    flags: Mapping[str, Any] | None = None, section: str | None = None,
) -> tuple[C, dict[str, Any]]:
    """Defaults ← recipe (its `section`) ← `--set` ← typed flags; returns the config and the recipe's `meta`."""
    data: dict[str, Any] = {}
    source = "recipe"
    meta: dict[str, Any] = {}
    if recipe is not None:
        data = read_recipe(recipe)
        source = f"recipe {recipe}"
        meta = data.pop(META_KEY, {}) or {}
        data = recipe_section(data, section, source, [f.name for f in dataclasses.fields(cls)])
    config = build_config(cls, data, source)
    if overrides:
        config = build_config(cls, deep_merge(to_dict(config), parse_overrides(overrides)), "--set")
    if flags:
        config = build_config(cls, deep_merge(to_dict(config), _nest({k: v for k, v in flags.items()
                                                                      if v is not None})), "option")
    return config, meta


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return nested


def to_dict(config: Any) -> dict[str, Any]:
    """A dataclass config as a plain nested dict (for manifests and merging)."""
    return dataclasses.asdict(config)


class SettingError(NasInputError):
    """A setting outside its range; `_build` names it with its full dotted key (e.g. differentiable.optim.lr)."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(f"{key} {detail}")
        self.key = key
        self.detail = detail


def check_ranges(settings: Any, rules: Mapping[str, str]) -> None:
    """Refuse a value outside its range when a config is built, so no stage starts (or writes) with it.

    `rules` maps a field to one of ">0", ">=0", ">=1", "[0,1)", "[0,1]", "(0,1)"; None passes (the default is
    taken), NaN and infinities never do.
    """
    import math

    tests = {
        ">0": (lambda v: v > 0, "greater than 0"),
        ">=0": (lambda v: v >= 0, "at least 0"),
        ">=1": (lambda v: v >= 1, "at least 1"),
        "[0,1)": (lambda v: 0 <= v < 1, "in [0, 1)"),
        "[0,1]": (lambda v: 0 <= v <= 1, "in [0, 1]"),
        "(0,1)": (lambda v: 0 < v < 1, "in (0, 1)"),
    }
    for name, rule in rules.items():
        value = getattr(settings, name)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        accept, wanted = tests[rule]
        if not math.isfinite(value) or not accept(value):
            raise SettingError(name, f"must be {wanted}, not {value!r}")


def _build(cls: type, data: Mapping[str, Any], source: str, prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise NasInputError(f"{source}: {prefix.rstrip('.') or 'the recipe'} must be a mapping of settings")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [key for key in data if key not in fields]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), list(fields), n=1)
        hint = f" (did you mean '{prefix}{close[0]}'?)" if close else f"; known keys: {', '.join(fields)}"
        raise NasInputError(f"{source}: unknown setting '{prefix}{key}'{hint}")
    kwargs = {}
    for name, value in data.items():
        default = _nested_default(fields[name])
        if default is not None and isinstance(value, Mapping):
            # a nested section starts from its parent's default (e.g. trained_acc.data's batch 128), not the
            # section class's own defaults
            value = deep_merge(to_dict(default), value)
        kwargs[name] = _coerce(hints[name], value, source, f"{prefix}{name}")
    try:
        return cls(**kwargs)
    except SettingError as exc:
        raise NasInputError(f"{source}: {prefix}{exc.key} {exc.detail}") from None
    except (TypeError, ValueError) as exc:
        raise NasInputError(f"{source}: {exc}") from None


def _nested_default(field: dataclasses.Field) -> Any:
    """The default value of a field holding a nested settings dataclass (None for any other field)."""
    if field.default_factory is dataclasses.MISSING:
        return None
    value = field.default_factory()
    return value if dataclasses.is_dataclass(value) else None


def _coerce(hint: Any, value: Any, source: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, source, key)
            except NasInputError as exc:
                errors.append(exc)
        raise errors[0]
    if dataclasses.is_dataclass(hint):
        return _build(hint, value if value is not None else {}, source, prefix=f"{key}.")
    if origin is typing.Literal:
        if value not in args:
            raise NasInputError(f"{source}: {key} must be one of {', '.join(map(str, args))}, not {value!r}")
        return value
    if hint is Any:
        return value
    if origin in (list, tuple, Sequence) or hint in (list, tuple):
        if not isinstance(value, list | tuple):
            raise NasInputError(f"{source}: {key} must be a list, not {value!r}")
        item = args[0] if args else Any
        items = [_coerce(item, v, source, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple or hint is tuple else items
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            raise NasInputError(f"{source}: {key} must be a mapping, not {value!r}")
        return dict(value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise NasInputError(f"{source}: {key} must be true or false, not {value!r}")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise NasInputError(f"{source}: {key} must be an integer, not {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    pass
            raise NasInputError(f"{source}: {key} must be a number, not {value!r}")
        return float(value)
    if hint is str:
        if isinstance(value, bool) or value is None or isinstance(value, list | dict):
            raise NasInputError(f"{source}: {key} must be a string, not {value!r}")
        return str(value)
    return value


# --------------------------------------------------------------------------------------------------
# Typed settings shared by the stages. Defaults are nascli's; each recipe sets its paper's values.
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class DataConfig:
    """Which images, which labels, how they are batched and augmented."""

    dataset: str = "synthetic"
    root: str | None = None
    train_split: str | None = None
    """`FILE:PART` of an official index split applied to the training set, e.g. `cifar10_search_split:train`."""
    eval_split: str | None = None
    labels: typing.Literal["true", "random"] = "true"
    label_seed: int = 0
    label_total: int | None = None
    """Length of the random-label vector, indexed by official image index (None: the dataset's official
    training-set size, e.g. 50,000 for CIFAR; set 50000 for CIFAR-10 images read from a folder)."""
    batch_size: int = 64
    eval_batch_size: int = 256
    crop_pad: int | None = None
    flip: bool = True
    cutout: int = 0
    normalize: bool = True
    normalization: str | None = None
    """Whose mean/std to normalise with: a dataset name, e.g. cifar10 for CIFAR-10 images read from a folder, or
    darts-cifar10 / darts-cifar100 (the DARTS code family's constants); None: the dataset's."""
    image_size: int | None = None
    resize_after_augment: int | None = None
    """Resize every image to this size after the training augmentation (crop, flip) and before normalisation;
    evaluation images likewise (BPE's 16-px proxies: crop 32 pad 4, flip, then resize to 16). None: off."""
    synthetic_train: int = 5000
    synthetic_test: int = 1000
    workers: int = 4
    stream: bool | None = None
    """Image folders only: read the files from disk each epoch (true), decode them once into memory (false), or
    decide by size (null: stream when the decoded pixels exceed 2 GiB). Streamed training images get a
    random-resized crop; in-memory ones a padded crop."""
    crop_style: typing.Literal["torchvision", "megvii"] = "torchvision"
    """Crop of streamed folders: torchvision's RandomResizedCrop, or the RLNAS/SPOS OpenCV pipeline (square crops
    zero-padded past the edges, bilinear without antialiasing; `nascli.data.transforms`)."""
    rotation: float = 0.0
    """Training images: rotate each by an angle drawn uniformly from [−rotation, +rotation] degrees after the crop
    and flip (nearest neighbour, zero fill; torchvision RandomRotation, as the RMI-NAS CIFAR-100 loader: 15). 0: off;
    in-memory datasets only."""
    lighting: float = 0.0
    """Standard deviation of the AlexNet PCA colour noise on training images (0: off; RLNAS ImageNet: 0.1)."""
    drop_last: bool = True
    """Training batches: drop the last partial batch of an epoch (true), or keep it (false, as a plain DataLoader
    does in the DARTS and DrNAS scripts)."""
    batch_scope: typing.Literal["process", "global"] = "process"
    """How batch_size, eval_batch_size and workers count under torchrun: per process, or as totals that each of the
    W processes divides, taking ⌊total / W⌋ as the multi-GPU references do (`args.batch_size // world_size`)."""

    def __post_init__(self) -> None:
        # checked when the recipe is read, before a stage writes anything
        minimum = {"batch_size": 1, "eval_batch_size": 1, "workers": 0, "cutout": 0, "lighting": 0, "rotation": 0,
                   "synthetic_train": 1, "synthetic_test": 1}
        for name, lowest in minimum.items():
            value = getattr(self, name)
            if isinstance(value, int | float) and value < lowest:
                raise NasInputError(f"data.{name} must be at least {lowest}, got {value}")
        if self.resize_after_augment is not None and self.resize_after_augment < 1:
            raise NasInputError(f"data.resize_after_augment must be at least 1 (or null for off), got "
                                f"{self.resize_after_augment}")
        if self.crop_pad is not None and self.crop_pad < 0:
            raise NasInputError(f"data.crop_pad must be at least 0 (or null for the dataset's), got {self.crop_pad}")
        check_ranges(self, {"image_size": ">=1", "resize_after_augment": ">=1", "label_total": ">=1"})
        if self.normalization is not None:
            from nascli.data.datasets import normalization  # data imports config: resolved at call time

            normalization(self.normalization)


@dataclasses.dataclass
class ModelConfig:
    """Network size; `None` takes the space's paper default for the dataset."""

    channels: int | None = None
    layers: int | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_ranges(self, {"channels": ">=1", "layers": ">=1"})


@dataclasses.dataclass
class OptimConfig:
    """SGD, learning-rate schedule and the loss options of the training engine."""

    epochs: int = 250
    stop_after_epochs: int | None = None
    """Run only the first N epochs of the `epochs`-long schedule (the LR curve is the full run's)."""
    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: typing.Literal["cosine", "linear", "linear-to-min", "rlnas-retrain", "constant", "multistep"] = "cosine"
    """`multistep`: η₀ · gamma^k with k the number of `milestones` ≤ the epoch (torch MultiStepLR stepped once per
    epoch; the ResNet-20 teacher: milestones [100, 150], gamma 0.1).
    `linear-to-min`: η₀(1 − t/Δ), Δ = T/(1 − η_min/η₀), reaching η_min at the end (RLNAS ImageNet supernets,
    per step). `rlnas-retrain`: η₀(E−5−e)/(E−5) until 5 epochs before the end, then η₀(E−e)/(5(E−5))
    (RLNAS ImageNet retraining; combine with warmup_epochs: 5)."""
    schedule_unit: typing.Literal["epoch", "step"] = "epoch"
    milestones: list[int] = dataclasses.field(default_factory=list)
    """`multistep`: the epochs (0-based) from which the LR is multiplied by `gamma` once more."""
    gamma: float = 0.1
    """`multistep`: the factor applied at each milestone."""
    warmup_epochs: int = 0
    warmup_mode: typing.Literal["scale", "replace"] = "scale"
    """During the warm-up epochs e < W: `scale` multiplies the schedule's value by (e+1)/W (RLNAS ImageNet
    retraining); `replace` uses η₀(e+1)/W instead of it (DrNAS ImageNet search, which overwrites the LR)."""
    weight_decay_on: typing.Literal["all", "conv", "conv+linear", "conv+linear+bias"] = "all"
    """Which weights decay: all; conv weights only (RLNAS ImageNet supernet); conv and linear weights;
    conv weights and the Linear layers' weights and biases (RLNAS MobileNet supernet: `classifier.0.*`)."""
    grad_clip: float = 0.0
    grad_clip_mode: typing.Literal["norm", "value"] = "norm"
    label_smoothing: float = 0.0
    zero_grad_to_none: bool = False
    """False (the references, PyTorch 1.x): gradients are zeroed in place, so a supernet weight once used
    keeps getting weight decay and momentum on steps whose path skips it. True skips such weights."""

    def __post_init__(self) -> None:
        check_ranges(self, {"epochs": ">=1", "stop_after_epochs": ">=1", "lr": ">0", "lr_min": ">=0",
                            "momentum": "[0,1)", "weight_decay": ">=0", "warmup_epochs": ">=0", "grad_clip": ">=0",
                            "label_smoothing": "[0,1)"})


@dataclasses.dataclass
class RuntimeConfig:
    """Device and speed settings (not part of the method)."""

    device: str = "auto"
    amp: typing.Literal["auto", "bf16", "fp16", "off"] = "auto"
    channels_last: bool = True
    quiet: bool = False


@dataclasses.dataclass
class TrainSupernetConfig:
    """`nas train-supernet`: single-path supernet training (RLNAS stage 1)."""

    space: str = "nb201"
    space_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    sampler: typing.Literal["default", "uniform"] = "default"
    seed: int = 0
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    runtime: RuntimeConfig = dataclasses.field(default_factory=RuntimeConfig)
    path_grads: typing.Literal["reachable", "sampled"] = "reachable"
    """Which supernet weights a step gives a gradient. reachable: those whose output reaches the loss (a conv on a
    node that only feeds `none` edges has none). sampled: every op of the sampled path, at least a zero one (RLNAS,
    which computes `none` as x·0): with in-place zeroing such a weight then gets decay and momentum from then on."""


@dataclasses.dataclass
class EvolutionConfig:
    """SPOS/RLNAS evolution (methods/rlnas.md §4). nascli's defaults are the RLNAS NB201 numbers."""

    population: int = 100
    parents: int = 30
    mutation: int = 50
    crossover: int = 50
    generations: int = 20
    mutation_prob: float = 0.1
    mutation_ops: list[str] | None = None
    """Ops a mutation may propose (None: every op of the space). RLNAS NB201 never proposes 'none'."""
    mutate_cells: list[str] | None = None
    """DARTS: which cells mutation touches (None: both). The RLNAS reference mutates only 'normal'."""
    max_tries_factor: int = 10
    """Mutation/crossover give up after factor × wanted tries (the reference bounds crossover likewise)."""
    mutation_fill: bool = False
    """Breed the crossover children first, then `population` − (crossover children obtained) mutants, instead of
    `mutation` mutants then `crossover` children (the RLNAS MobileNet search: `get_mutation(population_num −
    len(crossover))`)."""

    def __post_init__(self) -> None:
        check_ranges(self, {"population": ">=1", "parents": ">=1", "mutation": ">=0", "crossover": ">=0",
                            "generations": ">=1", "mutation_prob": "[0,1]", "max_tries_factor": ">=1"})


@dataclasses.dataclass
class ReinforceConfig:
    """`--strategy reinforce`: REINFORCE over independent categorical variables (BPE `run_rl.py`, bpe.md §3.2).

    Logits start at 0; each step samples every variable, the reward is `reward_scale` × the score, and the logits
    move by gradient ascent on (reward − baseline) · Σ log p(sample); the baseline is a bias-corrected moving average
    of the rewards. nascli's defaults are the textbook choices; the BPE recipes set the reference's quirks."""

    iterations: int = 100
    """Policy updates (= architectures scored, unless rewards are resampled)."""
    lr: float = 0.1
    momentum: float = 0.9
    """Momentum of the reward moving average (the baseline)."""
    baseline: typing.Literal["before-advantage", "after-advantage"] = "after-advantage"
    """after-advantage: advantage = reward − the average of the earlier rewards (0 at the first step, which has
    none). before-advantage (the BPE reference): the average takes this reward in before the advantage is
    computed, so the first step moves nothing and each later advantage is pulled towards 0 by the reward itself."""
    resample_at_or_below: float | None = None
    """A reward at or below this value is recorded but moves nothing: the step samples again (BPE: 0.001)."""
    reward_scale: float = 1.0
    """Reward = scale × score (the score should be a fraction: trained-acc is; NB201's bench score is a percentage,
    use 0.01)."""
    first_reward_zero: bool = False
    """Dense DARTS RL parse: treat the first scored architecture's reward as 0 when choosing the best sample
    (the reference's `parse_json.py` sets val_acc[0] = 0)."""
    samples_per_update: int = 1
    """Architectures drawn from the policy per update, scored together (an expensive score spreads them over the
    torchrun ranks); the logits move once by the mean of their REINFORCE terms, each against one baseline that
    takes in the mean of the step's rewards. 1 is the reference (one architecture per update)."""

    def __post_init__(self) -> None:
        check_ranges(self, {"samples_per_update": ">=1"})


@dataclasses.dataclass
class AgingEvolutionConfig:
    """`--strategy aging-evolution`: regularized evolution (BPE `run_evolution.py`, Real et al.; bpe.md §3.3)."""

    population: int = 50
    """Random architectures scored first; the population keeps this size."""
    sample_size: int = 10
    """Tournament size, drawn with replacement from the population."""
    evaluations: int = 100
    """Stop when this many architectures were scored (population included)."""
    subcells: int = 10
    """Dense DARTS EA parse: random 2-input sub-cells of the best dense cell scored at the end; the best is the
    result (0: report the best dense cell only)."""
    workers: int = 1
    """Architectures per step, scored together (an expensive score spreads them over the torchrun ranks): each
    child from its own tournament on the population as the step began, then each joins and the oldest dies, in
    order (Real et al.'s parallel workers, synchronised per step). 1 is the reference (one child per step)."""

    def __post_init__(self) -> None:
        check_ranges(self, {"workers": ">=1"})


@dataclasses.dataclass
class ConstraintConfig:
    """Filters around any strategy: architectures over a limit are never scored."""

    max_flops: float | None = None
    """In millions, in the space's paper convention."""
    max_params: float | None = None
    """In millions."""
    lookup: str | None = None
    """DARTS: a FLOPs/params lookup written by `nas flops-table --lookup` to count with (None: built in memory for
    the paper-size network of the dataset)."""
    flops_convention: typing.Literal["macs", "rlnas-thop"] = "macs"
    """How max_flops counts (DARTS, MobileNet): `macs` = conv + linear multiply-adds; `rlnas-thop` = RLNAS's thop,
    a Linear as (2·in − 1)·out, with which its 475M / 600M caps were counted. A lookup file must record the same."""

    def __post_init__(self) -> None:
        check_ranges(self, {"max_flops": ">0", "max_params": ">0"})


@dataclasses.dataclass
class SearchConfig:
    """`nas search`: a strategy maximising a score over a space."""

    space: str = "nb201"
    space_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    strategy: str = "evolution"
    score: str = "angle"
    extra_scores: list[str] = dataclasses.field(default_factory=list)
    score_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    dataset: str | None = None
    """Dataset for benchmark look-ups and cost conventions (default: the supernet's dataset)."""
    seed: int = 0
    samples: int = 1000
    """`random`: how many architectures."""
    batch: int = 500
    """`random` / `exhaustive` / `list`: architectures scored (and checkpointed) per step."""
    archs: str | None = None
    """`list`: the file of architectures to score (one a line in any text form the space reads, or a CSV)."""
    arch_column: str | None = None
    """`list`: the CSV column holding the architectures (default `arch`, as in a scores.csv)."""
    evolution: EvolutionConfig = dataclasses.field(default_factory=EvolutionConfig)
    reinforce: ReinforceConfig = dataclasses.field(default_factory=ReinforceConfig)
    aging_evolution: AgingEvolutionConfig = dataclasses.field(default_factory=AgingEvolutionConfig)
    constraints: ConstraintConfig = dataclasses.field(default_factory=ConstraintConfig)
    bench: str | None = None
    bench_sha256: str | None = None
    top_k: int = 10
    runtime: RuntimeConfig = dataclasses.field(default_factory=RuntimeConfig)
    trained_acc: TrainedAccConfig = dataclasses.field(default_factory=lambda: TrainedAccConfig())
    """`--score trained-acc`: the reduced-budget training protocol of each candidate (BPE1 by default)."""
    differentiable: DifferentiableConfig = dataclasses.field(default_factory=lambda: DifferentiableConfig())
    """`--strategy darts|drnas`: the settings of the differentiable search (the other keys above that apply:
    space, space_options, seed, dataset for benchmark look-ups, bench, runtime)."""
    rmi: RmiConfig = dataclasses.field(default_factory=lambda: RmiConfig())
    """`--score rmi` (RMI-NAS): the teacher, the one fixed batch and each candidate's one-batch training."""
    rf: RfConfig = dataclasses.field(default_factory=lambda: RfConfig())
    """`--strategy rf` (RMI-NAS's random-forest sampler)."""

    def __post_init__(self) -> None:
        check_ranges(self, {"samples": ">=1", "batch": ">=1", "top_k": ">=1"})


@dataclasses.dataclass
class TrainedAccOptimConfig(OptimConfig):
    """SGD of a `trained-acc` candidate; defaults are BPE1's (methods/bpe.md §2): 10 epochs, lr 0.03 cosine to 0,
    momentum 0.9 without Nesterov, wd 3e-4, grad-clip norm 5."""

    epochs: int = 10
    lr: float = 0.03
    lr_min: float = 0.0
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 3e-4
    grad_clip: float = 5.0


@dataclasses.dataclass
class TrainedAccConfig:
    """`--score trained-acc` (BPE's estimator): each candidate's stand-alone network trained from scratch with a
    reduced protocol on the engine `nas retrain` uses; its score is an accuracy fraction in [0, 1]."""

    data: DataConfig = dataclasses.field(
        default_factory=lambda: DataConfig(batch_size=128, resize_after_augment=16))
    model: ModelConfig = dataclasses.field(default_factory=lambda: ModelConfig(channels=8, layers=6))
    optim: TrainedAccOptimConfig = dataclasses.field(default_factory=TrainedAccOptimConfig)
    aux_weight: float = 0.4
    """Weight of the auxiliary head's loss (BPE: 0.4, always on)."""
    drop_path_prob: float = 0.2
    """Drop-path probability reached at the end; epoch e uses p·e/E."""
    selection: typing.Literal["holdout-last", "test-max"] = "holdout-last"
    """holdout-last (nascli): last-epoch accuracy on a held-out part of the training set; test-max (the BPE
    reference): the best test-set accuracy over epochs, which selects on the test set."""
    holdout: float = 0.1
    """holdout-last: the fraction of the training set held out (drawn by a seed recorded in the manifest; NB201's
    datasets use their official valid split instead)."""

    def __post_init__(self) -> None:
        check_ranges(self, {"aux_weight": ">=0", "drop_path_prob": "[0,1)", "holdout": "(0,1)"})


@dataclasses.dataclass
class RetrainConfig:
    """`nas retrain`: one architecture trained from scratch with a paper's protocol, evaluated each epoch."""

    space: str | None = None
    """nb201 or darts (None: the space the genotype names)."""
    space_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    genotype: str | None = None
    """A registered name (DARTS_V2, RLDARTS, …), a canonical text, an NB201 index or a genotype.json path."""
    network: str | None = None
    """Instead of a genotype, a network that is not from a search space (`nascli.networks`: resnet20,
    resnet101-cifar — the RMI-NAS teachers); model.* and the DARTS-only settings do not apply to it."""
    seed: int = 0
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    aux_weight: float = 0.0
    """Weight of the auxiliary head's loss (DARTS: 0.4); > 0 builds the head, 0 leaves it out."""
    drop_path_prob: float = 0.0
    """DARTS drop-path probability reached at the end; epoch e uses p·e/E (E = optim.epochs)."""
    eval_every: int = 1
    """Evaluate on the test set every N epochs (and always after the last epoch of the run)."""
    runtime: RuntimeConfig = dataclasses.field(default_factory=RuntimeConfig)

    def __post_init__(self) -> None:
        check_ranges(self, {"aux_weight": ">=0", "drop_path_prob": "[0,1)", "eval_every": ">=1"})


@dataclasses.dataclass
class StageConfig:
    """One stage of a differentiable search; progressive learning shrinks K and prunes ops between stages."""

    epochs: int = 100
    partial_channels: int = 1
    """K: only the first 1/K of an edge's channels go through its ops, the rest bypass them (1: all channels)."""
    ops_kept: int | None = None
    """Ops per edge this stage keeps; the weakest by θ are pruned when it starts (None: every op)."""

    def __post_init__(self) -> None:
        check_ranges(self, {"epochs": ">=1", "partial_channels": ">=1", "ops_kept": ">=1"})


@dataclasses.dataclass
class SearchOptimConfig(OptimConfig):
    """SGD on the supernet weights of a differentiable search; defaults are DrNAS NB201's (methods/drnas.md §3.1).

    `epochs` is not read: the schedule runs over the stages' epochs in total.
    """

    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 3e-4
    grad_clip: float = 5.0


@dataclasses.dataclass
class ArchOptimConfig:
    """Adam on the architecture parameters θ (DARTS and DrNAS: betas (0.5, 0.999))."""

    lr: float = 3e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 1e-3
    """Used with `regularizer: l2` (the references' default regulariser: it pulls θ to 0, i.e. β to 1)."""
    grad_clip: float = 0.0
    """Clip θ's gradient to this L2 norm (0: no clipping; DrNAS ImageNet: 5)."""

    def __post_init__(self) -> None:
        check_ranges(self, {"lr": ">0", "weight_decay": ">=0", "grad_clip": ">=0"})
        if len(self.betas) != 2 or not all(0 <= beta < 1 for beta in self.betas):
            raise SettingError("betas", f"must be two numbers in [0, 1), not {list(self.betas)!r}")


@dataclasses.dataclass
class DifferentiableConfig:
    """Bi-level differentiable search of a mixed supernet: DARTS (softmax) or DrNAS (Dirichlet), methods/drnas.md."""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    split: typing.Literal["first-half", "official", "train-val"] = "first-half"
    """Weight / architecture halves. first-half: the first `train_portion` of the training set (unshuffled) trains
    the weights, the rest the architecture (DARTS, DrNAS); official: NB201's split (cifar10 and imagenet16-120:
    train / valid of the training set; cifar100: the training set / xvalid of the test set); train-val: the
    training part and the held-out part of an image folder (DrNAS ImageNet: 10% / 2.5% per class)."""
    train_portion: float = 0.5
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    optim: SearchOptimConfig = dataclasses.field(default_factory=SearchOptimConfig)
    arch: ArchOptimConfig = dataclasses.field(default_factory=ArchOptimConfig)
    order: typing.Literal["first", "second"] = "first"
    """second: DARTS's unrolled step with a finite-difference Hessian-vector product."""
    hessian_divisor_bug: bool = False
    """order second: divide the finite difference as pt.darts's `compute_hessian` does, (g⁺ − g⁻)/2 · ε instead of
    (g⁺ − g⁻)/(2ε), which shrinks the second-order term by ε² (BPE's DARTS searches inherit it; bpe.md §3.5)."""
    genotype_from: typing.Literal["last-epoch", "best-val-epoch"] = "last-epoch"
    """Which epoch's derived genotype is the result: the last one, or the one of the epoch with the best accuracy
    on the architecture half (pt.darts / BPE report "Best Genotype": the first epoch reaching the maximum)."""
    regularizer: typing.Literal["l2", "kl"] = "l2"
    """l2: Adam weight decay `arch.weight_decay` on θ; kl (drnas only): `kl_weight` · Σ_edges KL(Dir(β) ‖ Dir(1))
    added to the architecture loss, and no weight decay (the reference's two `reg_type`s)."""
    kl_weight: float = 1e-3
    stages: list[StageConfig] = dataclasses.field(default_factory=lambda: [StageConfig()])
    freeze_epochs: int = 0
    """θ is not updated during the first N epochs of every stage (DrNAS progressive: 10)."""
    edge_normalization: bool = False
    """PC-DARTS edge normalisation: each node weights its incoming edges by a softmax of learnt β (darts only)."""
    trajectory_samples: int = 100
    """NB201: architectures drawn from the Dirichlet after each epoch and looked up in the benchmark table."""
    valid_batches: int | None = None
    """Batches of the architecture half evaluated after each epoch (None: all of them, as the references)."""
    stage_lr: typing.Literal["continue", "reference"] = "continue"
    """LR at a progressive stage boundary. continue: the cosine goes on over all stages. reference: the first epoch
    of every later stage runs at the base LR, then the cosine goes on (DrNAS `configure_scheduler` under PyTorch
    1.3.0's closed-form CosineAnnealingLR: the new SGD keeps its base `lr` until the first `scheduler.step()`)."""
    weight_clip_with_arch: bool = False
    """The weight step's gradient-norm clip also counts θ's gradient of the training loss (DrNAS 201-space, where θ
    is a parameter of the model; its gradient is then discarded). False: the clip sees the weights only."""

    def __post_init__(self) -> None:
        check_ranges(self, {"train_portion": "(0,1)", "kl_weight": ">=0", "freeze_epochs": ">=0",
                            "trajectory_samples": ">=0", "valid_batches": ">=1"})
        if not self.stages:
            raise SettingError("stages", "must list at least one stage, e.g. [{epochs: 50}]")


@dataclasses.dataclass
class RmiConfig:
    """`--score rmi` (RMI-NAS, methods/rminas.md §2). Defaults are the reference's NB201 values; the DARTS recipes
    set batch 128, lr 0.025, weight_decay 3e-4, steps 600, observe_step 250."""

    teacher: str | None = None
    """The teacher: a `nas retrain` run folder (its last.pt), or a checkpoint file (a state dict, or a dict holding
    one under state_dict / model; keys may carry a `module.` prefix) of `teacher_network`."""
    teacher_network: str | None = None
    """Network of a teacher checkpoint file (resnet20, resnet101-cifar); None: resnet20 for cifar10, resnet101-cifar
    for cifar100. A run folder names its own network."""
    data: DataConfig = dataclasses.field(
        default_factory=lambda: DataConfig(dataset="cifar10", normalization="imagenet"))
    """The training images the batch is drawn from, with their training augmentation and normalisation (the
    reference: CIFAR-10 flip + crop pad 4 + ImageNet mean/std; CIFAR-100 adds rotation 15 and its own mean/std).
    `batch_size` is not read: the draw is `pool_factor` × `batch` images."""
    batch: int = 32
    """B: images kept for the whole search (NB201 32, DARTS 128)."""
    pool_factor: int = 16
    """One loader batch of pool_factor × B augmented images is drawn; the B with the lowest teacher loss are kept."""
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    """Candidate network size (None: the space's paper size: NB201 C=16 N=5; DARTS search-size C=16, L=8)."""
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    steps: int = 200
    """Length of the reference's per-candidate loop (recorded; only observe_step + 1 forwards ever run)."""
    observe_step: int = 150
    """The loss of the forward at this 0-based step is the candidate's RMI loss (after observe_step SGD steps)."""
    beta: float = 0.8
    """loss = beta · Σ_taps (1 − CKA) + (1 − beta) · CE."""

    def __post_init__(self) -> None:
        if self.batch < 2:
            raise NasInputError(f"rmi.batch must be at least 2 (CKA centres over the batch), got {self.batch}")
        if self.pool_factor < 1:
            raise NasInputError(f"rmi.pool_factor must be at least 1, got {self.pool_factor}")
        if not 0 <= self.observe_step < self.steps:
            raise NasInputError(f"rmi.observe_step must lie in 0..steps-1 ({self.steps - 1}), got {self.observe_step}")
        if not 0.0 <= self.beta <= 1.0:
            raise NasInputError(f"rmi.beta must lie in [0, 1], got {self.beta}")


@dataclasses.dataclass
class RfConfig:
    """`--strategy rf`: RMI-NAS's random-forest sampler (methods/rminas.md §3). Defaults are the reference's."""

    warmup: int = 100
    """Random architectures scored first; the 'good' threshold is fixed from their losses."""
    good_quantile: float = 0.05
    """Threshold = this quantile of the warm-up losses (loss = −score) + `threshold_margin`."""
    threshold_margin: float = 1e-9
    trees: int | None = None
    """Trees of the RandomForestClassifier (None: 30 on NB201, 98 on DARTS); random_state is the search seed."""
    proposals: int = 1000
    """Random candidates drawn per step; the untried one with the highest P(good) is scored."""
    successes: int = 100
    """Stop after this many good architectures found after the warm-up (warm-up goods do not count)."""
    max_evaluations: int = 2000
    """Stop after this many scored architectures in all (warm-up included), whichever comes first."""
    vote_top: int = 50
    """The final architecture is the vote of this many best good architectures."""
    darts_edge_rule: typing.Literal["most-votes", "largest-op-index"] = "most-votes"
    """DARTS vote: per node keep the two edges whose winning op has the most votes (nascli), or whose winning op has
    the largest index in the op list (the reference's `topk` on argmax indices, a bug the paper recipes reproduce)."""
    proposals_per_step: int = 1
    """k: architectures scored per step (1: the reference, which refits the forest after every one). k > 1 is the
    forest's parallel form: the warm-up draws k at a time and each fitted forest proposes its k most likely good
    untried candidates, scored together (spread over the processes under torchrun for an expensive score such as
    rmi); the forest then sees k new scores at once, and the stop rules are checked per step, so up to k − 1 more
    architectures may be scored than with k = 1."""

    def __post_init__(self) -> None:
        for name in ("warmup", "proposals", "successes", "max_evaluations", "vote_top", "proposals_per_step"):
            if getattr(self, name) < 1:
                raise NasInputError(f"rf.{name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 < self.good_quantile < 1.0:
            raise NasInputError(f"rf.good_quantile must lie in (0, 1), got {self.good_quantile}")
        if self.trees is not None and self.trees < 1:
            raise NasInputError(f"rf.trees must be at least 1 (or null for the space's default), got {self.trees}")
