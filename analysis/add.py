"""Adding one evidence row: build it, validate it against the whole data set, append atomically."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from analysis import dataset as ds
from analysis.errors import DataError, Problem
from analysis.schema import EVIDENCE_COLUMNS, URL_RE
from analysis.storage import append_bytes_atomically, locked
from analysis.tables import format_row


def next_evidence_id(data: ds.Dataset, prefix: str) -> str:
    numbers = [int(m.group(1)) for i in data.evidence["id"] if (m := re.fullmatch(rf"{prefix}-E(\d+)", str(i)))]
    return f"{prefix}-E{(max(numbers) + 1 if numbers else 1):03d}"


def _header_bytes() -> bytes:
    return format_row([c.name for c in EVIDENCE_COLUMNS])


def add_evidence(root: Path, prediction_ids: list[str], fields: dict) -> str:
    """Append one row for ``prediction_ids``; return its new id. Files are untouched on any error."""
    root = Path(root)
    url = fields.get("source_url", "")
    if url and not URL_RE.match(url):
        raise DataError([Problem("--url", 1, f"'{url}' is not an http(s) URL", "an address starting https://")])
    with locked(root):
        data = ds.load(root)
        data.raise_for_problems()
        unknown = [p for p in prediction_ids if p not in data.predictions]
        if unknown:
            raise DataError([Problem("PREDICTION_ID", 1, f"unknown prediction id '{unknown[0]}'",
                                     "an id shown by `forecast list`")])
        first = data.predictions[prediction_ids[0]]
        row = {c.name: "" for c in EVIDENCE_COLUMNS}
        row.update({k: ("" if v is None else str(v)) for k, v in fields.items()})
        row["id"] = next_evidence_id(data, first.prefix)
        row["prediction"] = ";".join(prediction_ids)
        target = root / ds.EVIDENCE_DIR / f"{first.chapter}.csv"
        addition = format_row([row[c.name] for c in EVIDENCE_COLUMNS])
        if not target.exists() or not target.read_bytes().strip():
            addition = _header_bytes() + addition
        validate_after_append(root, target, addition)
        append_bytes_atomically(target, addition)
    return row["id"]


def validate_after_append(root: Path, target: Path, addition: bytes) -> None:
    """Validate the whole data set as it would be after the append, in a scratch copy."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / root.name
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns("*.lock", ".*.tmp"))
        scratch_target = copy / target.relative_to(root)
        old = scratch_target.read_bytes() if scratch_target.exists() else b""
        if old and not old.endswith(b"\n"):
            old += b"\n"
        scratch_target.parent.mkdir(parents=True, exist_ok=True)
        scratch_target.write_bytes(old + addition)
        data = ds.load(copy)
        if data.problems:
            raise DataError([Problem(p.file.replace(copy.name, root.name, 1) if p.file.startswith(copy.name) else p.file,
                                     p.line, p.message, p.expected) for p in data.problems])
