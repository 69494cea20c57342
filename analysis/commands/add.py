"""Adding one row (evidence or a resolution): build it, validate the whole data set as it would be
after the append (in a scratch copy), then append atomically under the data folder's lock."""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

from analysis.contract.errors import DataError, Problem, quote
from analysis.contract.layout import Layout
from analysis.contract.schema import EVIDENCE_COLUMNS, URL_RE, names
from analysis.data.dataset import Dataset, load
from analysis.files.storage import append_bytes_atomically, csv_rows_bytes, locked, refusal
from analysis.stores import chain


def next_evidence_id(data: Dataset, prefix: str) -> str:
    numbers = [int(m.group(1)) for i in data.evidence["id"] if (m := re.fullmatch(rf"{prefix}-E(\d+)", str(i)))]
    return f"{prefix}-E{(max(numbers) + 1 if numbers else 1):03d}"


def check_url(url: str) -> None:
    if url and not URL_RE.match(url):
        raise DataError([Problem("--url", 0, f"{quote(url)} is not an http(s) URL", "an address starting https://")])


def evidence_row(data: Dataset, prediction_ids: list[str], fields: dict) -> dict:
    """The new row, with its id, or a DataError naming the unknown prediction."""
    unknown = [p for p in prediction_ids if p not in data.predictions]
    if unknown:
        raise DataError([Problem("PREDICTION_ID", 0, f"unknown prediction id {quote(unknown[0])}",
                                 "an id shown by `forecast list`")])
    first = data.predictions[prediction_ids[0]]
    row = {c.name: "" for c in EVIDENCE_COLUMNS}
    row.update({k: ("" if v is None else str(v)) for k, v in fields.items()})
    row["first_public"] = row["first_public"] or row["source_date"]  # the source's date: the latest it can be
    row["id"] = next_evidence_id(data, first.prefix)
    row["prediction"] = ";".join(prediction_ids)
    return row


def duplicate_problems(data: Dataset, row: dict) -> list[Problem]:
    """The rows the new one may repeat (same address, same or near-identical title), as problems that name
    the flag that lets a different fact from the same source through."""
    from analysis.data.intake import duplicates

    return [Problem("--title" if d.why != "the same address" else "--url", 0,
                    f"the new row may repeat {d.evidence_id} at {d.file}:{d.line} ({d.why})",
                    "a fact not yet logged; if it is a different fact from the same source, pass --not-duplicate")
            for d in duplicates(data.evidence, row)]


def add_evidence(root: Path, prediction_ids: list[str], fields: dict, *, allow_duplicate: bool = False) -> str:
    """Append one row for ``prediction_ids``; return its new id. Files are untouched on any error, and a row
    that repeats a logged one (by address or title) is refused unless ``allow_duplicate``."""
    root = Path(root).absolute()
    check_url(fields.get("source_url", ""))
    with locked(root):
        data = load(root)
        data.raise_for_problems()
        row = evidence_row(data, prediction_ids, fields)
        if not allow_duplicate:
            found = duplicate_problems(data, row)
            if found:
                raise DataError(found)
        target = Layout.of(root).evidence_file(data.predictions[prediction_ids[0]].chapter)
        append_validated(root, target, names(EVIDENCE_COLUMNS), [[row[c] for c in names(EVIDENCE_COLUMNS)]])
    return row["id"]


def append_validated(root: Path, target: Path, header: list[str], rows: list[list]) -> None:
    """Append ``rows`` to ``target`` only if the whole data set validates with them (call under the lock)."""
    reason = refusal(target, root)
    if reason:
        raise DataError([Problem(str(target), 0, reason)])
    addition = csv_rows_bytes(target, header, rows)
    validate_after_append(root, target, addition)
    append_bytes_atomically(target, addition, root)
    chain.seal(root)  # the new row joins its store's chain


def scratch_copy(root: Path, copy: Path) -> None:
    """A scratch copy of the data folder that never follows a link (a link is copied as a link, and the copy's
    validation refuses it) and never opens a special file."""
    def skip(folder, entries):
        out = {e for e in entries if e.endswith((".lock", ".tmp"))}
        for e in entries:
            info = os.lstat(os.path.join(folder, e))
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode) or stat.S_ISLNK(info.st_mode)):
                out.add(e)  # a FIFO or device is reported by the original's validation, never read
        return out

    shutil.copytree(root, copy, symlinks=True, ignore=skip)


def validate_after_append(root: Path, target: Path, addition: bytes) -> None:
    """Validate the whole data set as it would be after the append, in a scratch copy."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / root.name
        scratch_copy(root, copy)
        scratch_target = copy / target.relative_to(root)
        old = scratch_target.read_bytes() if scratch_target.exists() else b""
        if old and not old.endswith(b"\n"):
            old += b"\n"
        scratch_target.parent.mkdir(parents=True, exist_ok=True)
        scratch_target.write_bytes(old + addition)
        data = load(copy)
        if data.problems:
            first_new = old.count(b"\n") + 1 + (1 if not old else 0)  # the new row's line (after a new header)
            shown_target = data.shown(scratch_target)
            raise DataError([_on_the_new_row(p, shown_target, first_new) if p.file == shown_target else
                             Problem(p.file.replace(copy.name, root.name, 1) if p.file.startswith(copy.name) else p.file,
                                     p.line, p.message, p.expected) for p in data.problems])


FLAGS = {"source_publisher": "--publisher", "source_title": "--title", "source_url": "--url",
         "source_note": "--note", "resolved_on": "--on", "reviewed_through": "--through"}


def _on_the_new_row(problem: Problem, shown: str, first_new: int) -> Problem:
    """A problem in the row being added names the option that gave the value, not a line that does not exist
    yet in the file."""
    if problem.line < first_new:
        return Problem(shown.replace(shown.split("/")[0], "data", 1), problem.line, problem.message, problem.expected)
    column = problem.message.split(" ", 1)[0].rstrip(":")
    flag = FLAGS.get(column, "--" + column.replace("_", "-")) if re.fullmatch(r"[a-z_]+", column) else "the new row"
    return Problem(flag, 0, problem.message, problem.expected)


BASE_FIELDS = {  # column -> (prompt, allowed values); what every row needs
    "observed_on": ("when it happened (YYYY-MM-DD)", ()),
    "summary": ("one or two neutral sentences", ()),
    "source_publisher": ("who published the source you saw", ()),
    "source_title": ("the source's title", ()),
    "source_date": ("the source's date (YYYY-MM-DD)", ()),
    "first_public": ("the earliest date the fact was public (YYYY-MM-DD; default: the source's date)", ()),
    "source_kind": ("primary, original_reporting or repost", ("primary", "original_reporting", "repost")),
    "stance": ("for, against or neutral, relative to the chapter's claim", ("for", "against", "neutral")),
}


def questions(data: Dataset, prediction_ids: list[str]) -> dict[str, tuple[str, tuple]]:
    """The columns to ask for: every row's own, then those the named predictions' families read."""
    from analysis.models import FAMILIES

    out = dict(BASE_FIELDS)
    for pid in prediction_ids:
        prediction = data.predictions[pid]
        for column, (meaning, choices) in FAMILIES[prediction.model.family].row_hints(prediction, data).items():
            old = out.get(column, ("", ()))
            out[column] = (meaning, tuple(dict.fromkeys(old[1] + choices)))
    return out


def preview(root: Path, prediction_ids: list[str], fields: dict, as_of) -> list[dict]:
    """Each named forecast before and after the row, as ``forecast update`` would publish it; writes nothing
    to the data folder (the row is tried in a scratch copy)."""
    from analysis.contract.layout import Layout
    from analysis.forecast import engine
    from analysis.models.protocol import SamplerSettings

    root = Path(root).absolute()
    data = load(root)
    data.raise_for_problems()
    row = evidence_row(data, prediction_ids, fields)
    target = Layout.of(root).evidence_file(data.predictions[prediction_ids[0]].chapter)
    cols = names(EVIDENCE_COLUMNS)
    addition = csv_rows_bytes(target, cols, [[row[c] for c in cols]])
    cache = engine.FitCache(Layout.of(root).fit_cache)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / root.name
        scratch_copy(root, copy)
        scratch_target = copy / target.relative_to(root)
        old = scratch_target.read_bytes() if scratch_target.exists() else b""
        scratch_target.write_bytes(old + (b"" if not old or old.endswith(b"\n") else b"\n") + addition)
        after = load(copy)
        if after.problems:
            raise DataError([Problem(p.file.replace(copy.name, root.name, 1), p.line, p.message, p.expected)
                             for p in after.problems])
        out = []
        for pid in prediction_ids:
            fits = [engine.forecast_prediction(d.predictions[pid], d, as_of, sampler=SamplerSettings(), cache=cache)
                    for d in (data, after)]
            out.append({"id": pid, "before": fits[0].probability, "after": fits[1].probability,
                        "change": fits[1].probability - fits[0].probability, "row": row["id"]})
    return out
