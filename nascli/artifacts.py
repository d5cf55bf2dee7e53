"""Run folders, manifests, atomic writes and typed loaders that refuse the wrong kind of artifact."""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from nascli.errors import NasInputError, StageInterrupted

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
KINDS = ("supernet", "search", "correlate", "retrain", "flops-table")


def _atomic_write(path: Path, write: Any, mode: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename, so readers never see half a file."""
    _atomic_write(Path(path), lambda h: h.write(data), "wb")


def atomic_write_text(path: str | Path, text: str) -> None:
    """Atomic text write (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Atomic JSON write, indented, keys in insertion order."""
    atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """`torch.save` to a temporary file, then rename."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def load_checkpoint(path: str | Path, what: str = "checkpoint") -> dict[str, Any]:
    """Load a nascli checkpoint with `weights_only=True`; a missing or corrupt file is a `NasInputError`."""
    path = Path(path)
    if not path.is_file():
        raise NasInputError(f"{what} {path} does not exist: check the run folder, or rerun the stage that writes it")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged zip/pickle
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NasInputError(
            f"{what} {path} is corrupt or not a nascli checkpoint ({reason[:120]}): "
            "delete it and rerun the stage, or point to another run folder"
        ) from None
    if not isinstance(obj, dict):
        raise NasInputError(f"{what} {path} is not a nascli checkpoint (expected a dict of tensors)")
    return obj


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def append_jsonl(path: str | Path, record: Mapping[str, Any]) -> None:
    """Append one JSON object as a line and flush it to disk (creating the folder if needed)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, default=_json_default) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """All complete JSON lines of a log; a truncated last line (crash mid-write) is skipped."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def write_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Atomically replace a JSONL log with `records` (used to drop entries past a resume point)."""
    atomic_write_text(path, "".join(json.dumps(r, default=_json_default) + "\n" for r in records))


def _git_hash() -> str | None:
    try:
        root = Path(__file__).resolve().parents[1]
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages a result depends on."""
    import numpy

    import nascli

    return {
        "python": platform.python_version(),
        "nascli": nascli.__version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
    }


def now() -> str:
    """Current UTC time in ISO format."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a run folder; a missing or unreadable one is a `NasInputError`."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise NasInputError(f"{folder} is not a nascli run folder (no {MANIFEST}): pass the folder a stage wrote")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NasInputError(f"{path} is corrupt ({exc.msg if hasattr(exc, 'msg') else exc}): rerun the stage") from None
    if not isinstance(manifest, dict) or "kind" not in manifest:
        raise NasInputError(f"{path} is not a nascli manifest (no 'kind')")
    return manifest


def check_manifest(
    manifest: Mapping[str, Any], folder: str | Path, *, kind: str | None = None, space: str | None = None,
) -> None:
    """Refuse an artifact of the wrong kind, space or format version with one clear line."""
    if kind is not None and manifest.get("kind") != kind:
        raise NasInputError(
            f"{folder} holds a {manifest.get('kind')!r} run, not a {kind!r} run: pass the folder of a {kind} stage"
        )
    if space is not None and manifest.get("space") != space:
        raise NasInputError(
            f"{folder} was made for the {manifest.get('space')!r} space, not {space!r}: "
            f"use --space {manifest.get('space')} or another run folder"
        )
    version = manifest.get("format_version", FORMAT_VERSION)
    if version > FORMAT_VERSION:
        raise NasInputError(f"{folder} was written by a newer nascli (format {version}): upgrade nascli")


class RunFolder:
    """A stage's output folder with its manifest; only rank 0 writes."""

    def __init__(self, path: str | Path, *, writer: bool = True) -> None:
        self.path = Path(path)
        self.writer = writer
        self.manifest: dict[str, Any] = {}

    def file(self, name: str) -> Path:
        """Path of a file inside the run folder."""
        return self.path / name

    def prepare(
        self, *, kind: str, space: str | None, resume: bool, overwrite: bool = False,
        guard_files: Iterable[str] = (),
    ) -> bool:
        """Check the folder before any write; returns True when an earlier run is continued.

        A folder that already holds results is never overwritten silently: without `resume` (or
        `overwrite`) it is an error naming both ways out; with `resume` it must hold the same kind and space.
        """
        existing = self.path / MANIFEST
        if existing.exists():
            manifest = read_manifest(self.path)
            if resume:
                check_manifest(manifest, self.path, kind=kind, space=space)
                self.manifest = manifest
                return True
            if not overwrite:
                raise NasInputError(
                    f"{self.path} already holds a {manifest.get('kind')} run: pass --resume to continue it, "
                    "or choose a new --out folder"
                )
        elif resume:
            leftovers = [name for name in guard_files if (self.path / name).exists()]
            if leftovers:
                raise NasInputError(f"{self.path} has {leftovers[0]} but no {MANIFEST}: it is not a nascli run folder")
            # nothing to resume: start fresh (a crash before the first write leaves no manifest)
        return False

    def start(
        self, *, kind: str, space: str | None, dataset: str | None, config: Mapping[str, Any], seed: int | None,
        parents: Iterable[str | Path] = (), extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Write (or refresh, on resume) the manifest with status `running`."""
        previous = self.manifest
        self.manifest = {
            "format_version": FORMAT_VERSION,
            "kind": kind,
            "space": space,
            "dataset": dataset,
            "status": "running",
            "seed": seed,
            "config": dict(config),
            "parents": [_parent_entry(p) for p in parents],
            "versions": package_versions(),
            "git": _git_hash(),
            "command": " ".join(sys.argv),
            "started": previous.get("started", now()),
            "resumed": [*previous.get("resumed", []), now()] if previous else [],
            "finished": None,
            **(dict(extra) if extra else {}),
        }
        self._write()

    def update(self, **fields: Any) -> None:
        """Merge fields into the manifest and rewrite it."""
        self.manifest.update(fields)
        self._write()

    def finish(self, status: str = "done", **fields: Any) -> None:
        """Mark the run finished (`done` or `failed`)."""
        self.update(status=status, finished=now(), **fields)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Mark the manifest `interrupted` (SIGINT/SIGTERM) or `failed` (anything else) if the body raises."""
        try:
            yield
        except (StageInterrupted, KeyboardInterrupt):
            self.update(status="interrupted")
            raise
        except BaseException:
            self.update(status="failed")
            raise

    def _write(self) -> None:
        if self.writer:
            self.path.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.path / MANIFEST, self.manifest)


def _parent_entry(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    entry: dict[str, Any] = {"path": str(path)}
    target = path / MANIFEST if path.is_dir() else path
    if target.is_file():
        entry["sha256"] = file_sha256(target)
    return entry
