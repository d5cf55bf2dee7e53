"""Run folders, manifests, atomic writes and typed loaders that refuse the wrong kind of artifact."""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
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

from nascli.errors import NasInputError, NasRuntimeError, StageInterrupted

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
KINDS = ("supernet", "search", "correlate", "retrain", "flops-table")


NAME_MAX = 255
"""Bytes in one file or folder name on the usual file systems (ext4, xfs, btrfs, APFS, NTFS)."""

_FULL_DISK = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}


def output_error(exc: OSError, path: str | Path | None = None, action: str = "write"
                 ) -> NasInputError | NasRuntimeError:
    """One line naming the path that could not be written and the fix.

    An output the user chose badly (read-only, not writable, a file where a folder is needed, a name too long)
    is bad input (`NasInputError`, exit 2); a disk that fills up or fails is a failure of the stage
    (`NasRuntimeError`, exit 1).
    """
    where = Path(path) if path is not None else Path(exc.filename) if exc.filename else None
    target = f"cannot {action} {where}" if where is not None else f"cannot {action} a file"
    code = exc.errno
    if code in _FULL_DISK:
        full = code in (errno.ENOSPC, errno.EDQUOT)
        reason = "no space left on the device" if full else (exc.strerror or "I/O error")
        return NasRuntimeError(f"{target}: {reason}; free space (or move the run folder to another disk) and rerun "
                               "with --resume")
    fixes = {
        errno.EROFS: "the file system is read-only; choose an --out on a writable disk",
        errno.EACCES: "permission denied; choose an --out you may write to, or change the folder's permissions",
        errno.EPERM: "operation not permitted; choose an --out you may write to",
        errno.ENAMETOOLONG: f"a name in the path is too long (at most {NAME_MAX} bytes per name); choose a "
                            "shorter --out",
        errno.ENOTDIR: "a part of the path is a file, not a folder; choose another --out",
        errno.EISDIR: "it is a folder; give a file name",
        errno.EEXIST: "something of that name is in the way; choose another --out",
    }
    if code in fixes:
        return NasInputError(f"{target}: {fixes[code]}")
    return NasRuntimeError(f"{target}: {exc.strerror or exc}")


@contextlib.contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Turn an OS error raised while writing `path` into one line (`output_error`)."""
    try:
        yield
    except OSError as exc:
        raise output_error(exc, path) from None


def user_umask() -> int:
    """The process umask (read without changing it for good)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _temporary_prefix(name: str) -> str:
    """A hidden sibling name for an atomic write that stays within NAME_MAX even when `name` nearly fills it."""
    prefix = f".{name}."
    # mkstemp adds 8 random characters and the suffix
    if len((prefix + "xxxxxxxx.tmp").encode("utf-8")) > NAME_MAX:
        prefix = ".nascli-"
    return prefix


def _atomic_write(path: Path, write: Any, mode: str) -> None:
    path = Path(path)
    with writing(path):
        if len(path.name.encode("utf-8")) > NAME_MAX:
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path.name), suffix=".tmp", dir=path.parent)
        try:
            # mkstemp creates the file 0600; an artifact gets the mode of any file the user creates
            os.fchmod(fd, 0o666 & ~user_umask())
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


def append_jsonl(path: str | Path, record: Mapping[str, Any]) -> int:
    """Append one JSON object as a line and flush it to disk (creating the folder if needed); returns the file's
    size before the line, so that `withdraw_tail` can take it back."""
    path = Path(path)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(record, default=_json_default) + "\n").encode("utf-8")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            size = os.fstat(fd).st_size
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)  # never leave half a line behind (a full disk mid-write)
                raise
        finally:
            os.close(fd)
    return size


def withdraw_tail(path: str | Path, size: int) -> None:
    """Cut a file back to `size` bytes (needs no free space; used to take back a log line whose checkpoint
    could not be written)."""
    with contextlib.suppress(OSError):
        os.truncate(path, size)


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


RESUMABLE_CHANGES = ("runtime.", "meta.", "data.workers", "optim.stop_after_epochs",
                     "differentiable.optim.stop_after_epochs", "differentiable.data.workers")
"""Settings that `--resume` may change on a finished run (how it runs, or how far the schedule goes)."""


def check_output_folder(path: str | Path) -> None:
    """Refuse an --out that cannot hold a run folder (a file, a name too long, a read-only or forbidden place)
    with one line, before anything is written; leaves no trace of the check."""
    path = Path(path)
    for part in path.parts:
        if len(part.encode("utf-8")) > NAME_MAX:
            raise NasInputError(f"--out {str(path)[:80]}…: the name {part[:40]}… is {len(part.encode('utf-8'))} "
                                f"bytes, over the file system's {NAME_MAX}; choose a shorter --out")
    if path.exists() and not path.is_dir():
        raise NasInputError(f"--out {path} is a file, not a folder: a run folder holds several files; choose a "
                            "folder name")
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise NasInputError(f"--out {path}: {existing} is a file, not a folder; choose another --out")
    created = [p for p in (path, *path.parents) if not p.exists()]
    with writing(path):
        try:
            path.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".nascli-probe-", dir=path)
            os.close(fd)
            os.unlink(probe)
        finally:
            for folder in created:  # only the folders this check made, innermost first, and only while empty
                with contextlib.suppress(OSError):
                    folder.rmdir()


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, Mapping):
        flat: dict[str, Any] = {}
        for key, value in obj.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): obj}


def changed_settings(recorded: Mapping[str, Any], config: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, recorded value, new value) for every setting that differs, except those `--resume` may change."""
    before = _flatten(json.loads(json.dumps(recorded, default=_json_default)))
    after = _flatten(json.loads(json.dumps(config, default=_json_default)))
    changes = []
    for key in sorted(set(before) | set(after)):
        if key.startswith(RESUMABLE_CHANGES) or key in RESUMABLE_CHANGES:
            continue
        if before.get(key) != after.get(key):
            changes.append((key, before.get(key), after.get(key)))
    return changes


class RunFolder:
    """A stage's output folder with its manifest; only rank 0 writes.

    `prepare` is the one guard of every stage's output: it refuses an --out that cannot be written, another
    stage's run folder, an existing run without --resume or --overwrite, and a --resume that would change a
    finished run's settings; a finished run resumed unchanged is left exactly as it is.
    """

    def __init__(self, path: str | Path, *, writer: bool = True) -> None:
        self.path = Path(path)
        self.writer = writer
        self.manifest: dict[str, Any] = {}
        self.frozen = False
        """True when --resume met a finished run with the same settings: nothing is rewritten."""

    def file(self, name: str) -> Path:
        """Path of a file inside the run folder."""
        return self.path / name

    def prepare(
        self, *, kind: str, space: str | None, resume: bool, overwrite: bool = False,
        guard_files: Iterable[str] = (), config: Mapping[str, Any] | None = None,
    ) -> bool:
        """Check the folder before any write; returns True when an earlier run is continued.

        A folder that already holds results is never overwritten silently: without `resume` (or `overwrite`) it is
        an error naming the ways out; with `resume` it must hold the same kind and space, and a finished run
        (status done) may change only `RESUMABLE_CHANGES` (`config`: the settings the stage will record).
        """
        if self.writer:
            check_output_folder(self.path)
        existing = self.path / MANIFEST
        if existing.exists():
            manifest = read_manifest(self.path)
            previous = manifest.get("kind")
            if previous != kind:
                raise NasInputError(
                    f"{self.path} holds a {previous!r} run, not a {kind!r} run: choose a new --out for the {kind} run "
                    "(a run folder belongs to one stage)"
                )
            status = manifest.get("status")
            if resume:
                check_manifest(manifest, self.path, kind=kind, space=space)
                self.manifest = manifest
                if status == "done" and config is not None:
                    changes = changed_settings(manifest.get("config", {}), config)
                    if changes:
                        key, before, after = changes[0]
                        more = f" and {len(changes) - 1} more" if len(changes) > 1 else ""
                        raise NasInputError(
                            f"{self.path} is a finished {kind} run; --resume cannot change {key} ({before!r} → "
                            f"{after!r}){more}: choose a new --out, or pass --overwrite (not --resume) to replace it"
                        )
                    recorded = _flatten(json.loads(json.dumps(manifest.get("config", {}), default=_json_default)))
                    now_given = _flatten(json.loads(json.dumps(config, default=_json_default)))
                    stops = [k for k in RESUMABLE_CHANGES if k.endswith("stop_after_epochs")]
                    self.frozen = all(recorded.get(k) == now_given.get(k) for k in stops)
                return True
            if not overwrite:
                if status == "done":
                    raise NasInputError(f"{self.path} already holds a finished {kind} run: pass --overwrite to "
                                        "replace it, or choose a new --out folder")
                raise NasInputError(
                    f"{self.path} already holds an unfinished {kind} run ({status}): pass --resume to continue it, "
                    "--overwrite to replace it, or choose a new --out folder"
                )
        elif resume:
            leftovers = [name for name in guard_files if (self.path / name).exists()]
            if leftovers:
                raise NasInputError(f"{self.path} has {leftovers[0]} but no {MANIFEST}: it is not a nascli run folder; "
                                    "choose a new --out folder")
            # nothing to resume: start fresh (a crash before the first write leaves no manifest)
        return False

    def start(
        self, *, kind: str, space: str | None, dataset: str | None, config: Mapping[str, Any], seed: int | None,
        parents: Iterable[str | Path] = (), extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Write (or refresh, on resume) the manifest with status `running`."""
        if self.frozen:
            return
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
        if self.frozen:
            return
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
            self._mark("interrupted")
            raise
        except BaseException:
            self._mark("failed")
            raise

    def _mark(self, status: str) -> None:
        """Best effort: on a full disk the manifest cannot be rewritten, and the stage's own error matters more."""
        with contextlib.suppress(OSError, NasInputError, NasRuntimeError):
            self.update(status=status)

    def _write(self) -> None:
        if self.writer:
            with writing(self.path):
                self.path.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.path / MANIFEST, self.manifest)


def _parent_entry(path: str | Path) -> dict[str, Any]:
    path = Path(path).absolute()  # the manifest must name the parent from any working directory
    entry: dict[str, Any] = {"path": str(path)}
    target = path / MANIFEST if path.is_dir() else path
    if target.is_file():
        entry["sha256"] = file_sha256(target)
    return entry
