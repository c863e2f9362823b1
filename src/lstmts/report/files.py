"""Files that other programs read, written atomically: a temporary name, fsync, then a rename.

Also the lock by which one process owns a run or sweep folder while it writes there.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import platform
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from lstmts.errors import UserError


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


FILE_MODE = 0o666 & ~_umask()


class CannotWrite(UserError):
    """A file could not be written: a full disk, a read-only folder, a quota, a file size limit."""


def cannot_write(path: Path, error: OSError) -> CannotWrite:
    """Return the one-line error for an OSError met while writing `path`."""
    reason = error.strerror or str(error) or type(error).__name__
    hint = {errno.ENOSPC: "free some space", errno.EDQUOT: "free some space under your quota",
            errno.EFBIG: "raise the file size limit (ulimit -f)", errno.EROFS: "write to another file system",
            errno.EACCES: "fix the folder's permissions", errno.EPERM: "fix the folder's permissions"}
    return CannotWrite(f"cannot write {path}: {reason}; {hint.get(error.errno, 'check the folder')} or choose another folder")


def replace_with(path: Path, write: Callable[[Path], None], suffix: str = ".tmp") -> None:
    """Create `path` by write(temporary path in the same folder) and a rename, so readers never see half a file.

    The temporary name starts with a dot and ends with `suffix` (Keras wants `.keras`). An OSError
    (full disk, read-only folder) becomes CannotWrite naming `path`; any failure leaves the old
    file, if any, and no temporary file.
    """
    path = Path(path)
    temporary = None
    try:
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
        temporary = Path(name)
        os.fchmod(handle, FILE_MODE)
        os.close(handle)
        write(temporary)
        os.replace(temporary, path)
        record_written(path)
    except OSError as error:
        raise cannot_write(path, error) from error
    finally:
        if temporary is not None:  # gone after the rename; left by a failure
            temporary.unlink(missing_ok=True)


# Each folder lstmts writes to lists the files it wrote there, one name a line: a run's clean slate
# removes only those, never a user's file that happens to have the same name.
MANIFEST = ".lstmts-files"


def record_written(*paths: Path) -> None:
    """Add each path's name to the manifest of its folder (an append: a killed run loses nothing it recorded)."""
    by_folder: dict[Path, list[str]] = {}
    for path in paths:
        by_folder.setdefault(Path(path).parent, []).append(Path(path).name)
    for folder, names in by_folder.items():
        known = recorded(folder)
        new = [name for name in dict.fromkeys(names) if name not in known]
        if new:
            with open(folder / MANIFEST, "a", encoding="utf-8") as stream:
                stream.write("".join(f"{name}\n" for name in new))


def recorded(folder: Path) -> set[str]:
    """Return the names lstmts recorded writing in folder (empty when it recorded none)."""
    try:
        return set((Path(folder) / MANIFEST).read_text(encoding="utf-8").splitlines()) - {""}
    except FileNotFoundError:
        return set()


def forget_recorded(folder: Path, names: set[str]) -> None:
    """Drop names from folder's manifest (their files were removed)."""
    remaining = sorted(recorded(folder) - set(names))
    manifest = Path(folder) / MANIFEST
    if remaining:
        manifest.write_text("".join(f"{name}\n" for name in remaining), encoding="utf-8")
    else:
        manifest.unlink(missing_ok=True)


def write_atomic(path: Path, text: str) -> None:
    """Write text to path via a temporary file and a rename, so readers never see half a file."""

    def write(temporary: Path) -> None:
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())

    replace_with(path, write)


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: Path, data: dict) -> None:
    """Write data as indented JSON, atomically; NaN and infinities become null."""
    write_atomic(path, json.dumps(_plain(data), indent=2, sort_keys=False) + "\n")


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """Write a DataFrame as CSV, atomically."""
    write_atomic(path, frame.to_csv(index=False))


def write_npz(path: Path, arrays: dict) -> None:
    """Write NumPy arrays by name into one .npz file, atomically."""
    def write(temporary: Path) -> None:
        with open(temporary, "wb") as stream:
            np.savez(stream, **arrays)

    replace_with(path, write, suffix=".npz")


def save_model(model, path: Path) -> None:
    """Save a Keras model to path atomically (Keras wants the `.keras` suffix on the temporary name too)."""
    replace_with(path, model.save, suffix=".keras")


# Folders this process holds: folder -> (descriptor of its lock file, how many holders).
_held: dict[Path, list[int]] = {}
LOCK_FILE = ".lstmts.lock"


class FolderInUse(UserError):
    """Another live process holds the run or sweep folder."""


def hold_folder(folder: Path, key: str = "hydra.run.dir") -> None:
    """Take this process's exclusive lock on `folder` (again, if it has it already).

    The lock is an flock on `.lstmts.lock` in the folder, released by release_folder or when the
    process ends, however it ends. A folder another process holds raises FolderInUse naming it.
    """
    folder = Path(folder).resolve()
    if folder in _held:
        _held[folder][1] += 1
        return
    lock_file = folder / LOCK_FILE
    try:
        descriptor = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    except OSError as error:
        raise cannot_write(lock_file, error) from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 200, 0).decode(errors="replace").strip()
        os.close(descriptor)
        raise FolderInUse(f"{folder} is in use by another lstmts run ({holder or 'a live process'}); wait for it to"
                          f" finish or choose another folder with {key}=PATH") from None
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"pid {os.getpid()} on {platform.node()}\n".encode(), 0)
    _held[folder] = [descriptor, 1]


def release_folder(folder: Path) -> None:
    """Give up one hold of `folder`; the lock goes with the last."""
    folder = Path(folder).resolve()
    held = _held.get(folder)
    if held is None:
        return
    held[1] -= 1
    if held[1] <= 0:
        del _held[folder]
        os.close(held[0])  # closing the descriptor releases the flock
