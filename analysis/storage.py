"""Safe file access: strict UTF-8 reads, and atomic, locked writes under ``data/``.

Every write goes to a temporary file in the same folder, is fsynced, then renamed over
the target, so a reader (or a crash) sees either the old bytes or the new ones.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from filelock import FileLock

from analysis.errors import DataError, Problem

BOM = "\ufeff"


def read_text(path: Path, shown: str | None = None) -> str:
    """Read a data file as UTF-8 (a BOM is accepted and dropped)."""
    shown = shown or str(path)
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError([Problem(shown, line, f"byte {raw[err.start]:#04x} is not valid UTF-8", "a UTF-8 text file")])
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise DataError([Problem(shown, line, "NUL character in file", "a text file")])
    return text[1:] if text.startswith(BOM) else text


@contextlib.contextmanager
def locked(data_root: Path, timeout: float = 120.0) -> Iterator[None]:
    """Hold the data folder's one write lock, so concurrent writers (add-evidence, resolve, the ledger)
    queue instead of racing, and each validates the data set as the others left it."""
    lock = FileLock(str(Path(data_root) / ".write.lock"), timeout=timeout)
    with lock:
        yield


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename (temp file in the same folder, fsync)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def append_bytes_atomically(path: Path, addition: bytes) -> None:
    """Append by rewriting old bytes + new bytes atomically: old bytes are never altered."""
    path = Path(path)
    old = path.read_bytes() if path.exists() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    atomic_write_bytes(path, old + addition)
