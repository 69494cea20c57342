"""Safe file access: the data folder is a trust boundary.

Reads: only regular files inside the data folder, reached without following a symbolic link, of bounded
size, as strict UTF-8. A link, a FIFO or a device is refused before it is opened, so nothing outside the
folder is ever read (or echoed into an error message) and nothing can hang a read.

Writes: to a temporary file in the same folder, fsynced, then renamed over the target, so a reader (or a
crash) sees either the old bytes or the new ones; appends rewrite old bytes + new bytes the same way, so
old bytes are never altered. One lock per data folder makes concurrent writers queue.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from filelock import FileLock

from analysis.contract.errors import DataError, Problem

BOM = "\ufeff"
MiB = 1024 * 1024
# Per-file size limits by suffix: generous for real data (a 100,000-row evidence file is ~60 MiB), small
# enough that a hostile file is refused before it costs memory.
MAX_BYTES = {".csv": 256 * MiB, ".yaml": 2 * MiB, ".yml": 2 * MiB}
DEFAULT_MAX_BYTES = 16 * MiB
LINK_REFUSAL = "symbolic link not allowed (expected a regular file inside data/)"
SPECIAL_REFUSAL = "not a regular file (expected a regular file inside data/, not a FIFO, device or socket)"
OUTSIDE_REFUSAL = "path leads outside the data folder (expected a regular file inside data/)"


def size_limit(path: Path) -> int:
    return MAX_BYTES.get(Path(path).suffix.lower(), DEFAULT_MAX_BYTES)


def refusal(path: Path, root: Path | None, folder: bool = False) -> str | None:
    """Why ``path`` may not be read or written as a data file (or, with ``folder``, listed as a data
    folder), or None when it may.

    Every component from ``root`` down is checked with ``lstat`` (links are never followed), and the
    path itself must be a regular file or folder (or not exist yet, for a write)."""
    path = Path(path).absolute()
    chain = [path]  # every component from the root down, each checked without following a link
    if root is not None:
        root = Path(root).absolute()
        if os.path.islink(root):
            return LINK_REFUSAL
        try:
            parts = path.relative_to(root).parts
        except ValueError:
            return OUTSIDE_REFUSAL
        if any(part in ("..", "") for part in parts):
            return OUTSIDE_REFUSAL
        chain = [root.joinpath(*parts[: k + 1]) for k in range(len(parts))] or [root]
    for current in chain:
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(info.st_mode):
            return LINK_REFUSAL
    if folder:
        return None if stat.S_ISDIR(info.st_mode) else SPECIAL_REFUSAL.replace("a regular file", "a folder")
    if not stat.S_ISREG(info.st_mode):
        return SPECIAL_REFUSAL
    return None


def check_data_file(path: Path, shown: str, root: Path | None) -> None:
    reason = refusal(path, root)
    if reason:
        raise DataError([Problem(shown, 0, reason)])


def read_bytes(path: Path, shown: str | None = None, root: Path | None = None, limit: int | None = None) -> bytes:
    """The bytes of a regular data file, refusing links, special files and files over ``limit``."""
    shown = shown or str(path)
    check_data_file(path, shown, root)
    limit = size_limit(path) if limit is None else limit
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise DataError([Problem(shown, 0, "file not found")]) from None
    except OSError:  # a link swapped in after the check (ELOOP), or unreadable
        raise DataError([Problem(shown, 0, LINK_REFUSAL)]) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise DataError([Problem(shown, 0, SPECIAL_REFUSAL)])
        data = handle.read(limit + 1) if info.st_size > limit else handle.read()
    if len(data) > limit:
        line = data[:limit].count(b"\n") + 1
        raise DataError([Problem(shown, line, f"file is over the size limit of {limit // MiB} MiB",
                                 f"a data file of at most {limit // MiB} MiB (split it, or shorten its fields)")])
    return data


def read_text(path: Path, shown: str | None = None, root: Path | None = None) -> str:
    """Read a data file as UTF-8 (a BOM is accepted and dropped)."""
    shown = shown or str(path)
    raw = read_bytes(path, shown, root)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError([Problem(shown, line, f"byte {raw[err.start]:#04x} is not valid UTF-8", "a UTF-8 text file")])
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise DataError([Problem(shown, line, "NUL character in file", "a text file")])
    return text[1:] if text.startswith(BOM) else text


def data_files(folder: Path, pattern: str, root: Path, shown) -> tuple[list[Path], list[Problem]]:
    """The files in ``folder`` matching ``pattern`` that may be read, and a problem for each refused one
    (a link or special file is reported and skipped, never opened)."""
    folder = Path(folder)
    reason = refusal(folder, root, folder=True)
    if reason:
        return [], [Problem(shown(folder), 0, reason.replace("a regular file", "a folder"))]
    if not folder.is_dir():
        return [], []
    files, problems = [], []
    for path in sorted(folder.glob(pattern)):
        reason = refusal(path, root)
        if reason:
            problems.append(Problem(shown(path), 0, reason))
        else:
            files.append(path)
    return files, problems


def stray_problems(root: Path, shown) -> list[Problem]:
    """Links and special files anywhere under the data folder, whatever their names: nothing under data/ may
    lead outside it or hang a reader, even a file no loader reads."""
    root = Path(root)
    out = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in sorted(dirs + files):
            path = Path(folder) / name
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                out.append(Problem(shown(path), 0, LINK_REFUSAL))
            elif not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
                out.append(Problem(shown(path), 0, SPECIAL_REFUSAL))
        dirs[:] = [d for d in dirs if not os.path.islink(Path(folder) / d)]
    return out


_LOCKS: dict[str, FileLock] = {}


@contextlib.contextmanager
def locked(data_root: Path, timeout: float = 120.0) -> Iterator[None]:
    """Hold the data folder's one write lock, so concurrent writers (add-evidence, resolve, the ledger)
    queue instead of racing, and each validates the data set as the others left it. Re-entrant within
    a process: a command that holds it may call helpers that take it again."""
    from analysis.contract.layout import Layout

    path = str(Layout.of(data_root).lock)
    lock = _LOCKS.setdefault(path, FileLock(path, timeout=timeout))
    with lock:
        yield


def atomic_write_bytes(path: Path, data: bytes, root: Path | None = None) -> None:
    """Replace ``path`` with ``data`` in one rename (temp file in the same folder, fsync).

    With ``root`` (the data folder) the target must be a regular file inside it, reached without a link."""
    path = Path(path)
    if root is not None:
        check_data_file(path, str(path), root)
    elif os.path.islink(path):
        raise DataError([Problem(str(path), 0, LINK_REFUSAL)])
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)  # the replaced file's mode, or the umask's: never the temp file's private 0600
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


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def check_output(path: Path, data_root: Path, shown: str = "--out") -> Path:
    """Where a command may write a file the user asked for (a figure, an export): never inside the data folder
    (a typo must not replace a data file), never over a link, FIFO, device or folder, and only in a folder that
    already exists. Returns the absolute path."""
    target = Path(path).absolute()
    data = Path(data_root).absolute()
    resolved = Path(os.path.realpath(target))
    if resolved == Path(os.path.realpath(data)) or Path(os.path.realpath(data)) in resolved.parents:
        raise DataError([Problem(shown, 0, f"{path} is inside the data folder", "an output path outside data/")])
    if os.path.lexists(target):
        info = os.lstat(target)
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
            raise DataError([Problem(shown, 0, f"{path} exists and is not a regular file",
                                     "a new file, or a regular file to replace (not a link, FIFO, device or folder)")])
    if not target.parent.is_dir():
        raise DataError([Problem(shown, 0, f"folder {target.parent} does not exist", "an existing folder")])
    return target


def append_bytes_atomically(path: Path, addition: bytes, root: Path | None = None) -> None:
    """Append by rewriting old bytes + new bytes atomically: old bytes are never altered."""
    path = Path(path)
    old = read_bytes(path, str(path), root, limit=1 << 62) if path.exists() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    atomic_write_bytes(path, old + addition, root)


def format_row(values: Iterable) -> bytes:
    """One CSV record as bytes, quoted as needed, newline-terminated."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(["" if v is None else str(v) for v in values])
    return buffer.getvalue().encode("utf-8")


def csv_rows_bytes(path: Path, header: list[str], rows: list[list]) -> bytes:
    """The bytes that append ``rows`` to ``path``: with the header first when the file is empty or new."""
    body = b"".join(format_row(r) for r in rows)
    empty = not path.exists() or not path.read_bytes().strip()
    return (format_row(header) if empty else b"") + body


def append_csv_rows(path: Path, header: list[str], rows: list[list], root: Path | None = None) -> None:
    """Append CSV records atomically; the header is written only when the file is empty or new."""
    if rows:
        append_bytes_atomically(path, csv_rows_bytes(Path(path), header, rows), root)
