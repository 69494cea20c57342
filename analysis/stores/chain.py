"""The published record is tamper-evident: every row of every append-only store is chained, as a
transparency log chains its entries.

``data/chain.csv`` holds, for each store (the ledger, its notes, the update log, resolutions, question versions,
coverage, corrections and each evidence file), one line per record: the record's hash and a running hash that
folds in every earlier record of that store. A published row that is changed, deleted or moved no longer matches
its chain line, and ``validate`` and ``update --check`` name the first broken row. Appends extend the chains
(``seal``); nothing already chained is ever rewritten, and the chain began at the rows that existed when it was
introduced, without changing them.

A reader verifies a cited snapshot by hashing its ledger row (the sha256 of the JSON list of its cells) and folding
the hashes from the start of the ledger: the result must equal the chain value printed on the snapshot's page,
and the last value must equal the published head.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

from analysis.contract.errors import DataError, Problem
from analysis.contract.layout import Layout
from analysis.files.storage import append_csv_rows, read_text

COLUMNS = ["store", "record", "line", "sha256", "chain"]


def stores(root: Path) -> list[Path]:
    """The append-only stores under ``root``, in a fixed order."""
    layout = Layout.of(root)
    fixed = [layout.ledger, layout.snapshot_notes, layout.updates, layout.resolutions, layout.question_versions,
             layout.coverage, layout.corrections, layout.template_freeze]
    return [p for p in fixed if p.exists()] + sorted(layout.evidence_dir.glob("*.csv"))


def records(text: str) -> list[tuple[int, list[str]]]:
    """(first line, cells) of every non-empty CSV record, the header included."""
    reader = csv.reader(io.StringIO(text))
    out, start = [], 1
    for cells in reader:
        if any(c.strip() for c in cells):
            out.append((start, cells))
        start = reader.line_num + 1
    return out


def record_hash(cells: list[str]) -> str:
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode("utf-8")).hexdigest()


def fold(previous: str, row_hash: str) -> str:
    return hashlib.sha256(bytes.fromhex(previous) + bytes.fromhex(row_hash)).hexdigest()


def origin(store: str) -> str:
    return hashlib.sha256(store.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Link:
    store: str
    record: int  # 0 is the header
    line: int  # the chain file's own line, for messages
    sha256: str
    chain: str


def read_chain(root: Path) -> list[Link]:
    path = Layout.of(root).chain
    if not path.exists():
        return []
    rows = records(read_text(path, str(path), root))
    if rows and rows[0][1] != COLUMNS:
        raise DataError([Problem(_shown(path, root), 1, "the chain's header differs", ",".join(COLUMNS))])
    out = []
    for line, cells in rows[1:]:
        if len(cells) != len(COLUMNS) or not cells[1].isdigit():
            raise DataError([Problem(_shown(path, root), line, "a malformed chain line", ",".join(COLUMNS))])
        out.append(Link(cells[0], int(cells[1]), line, cells[3], cells[4]))
    return out


def _shown(path: Path, root: Path) -> str:
    return f"{Path(root).name}/{Path(path).relative_to(root)}"


def _name(path: Path, root: Path) -> str:
    return str(Path(path).relative_to(root))


def problems(root: Path) -> list[Problem]:
    """The first broken row of each store whose chained rows no longer match the chain."""
    root = Path(root).absolute()
    try:
        links = read_chain(root)
    except DataError as err:
        return err.problems
    by_store: dict[str, list[Link]] = {}
    for link in links:
        by_store.setdefault(link.store, []).append(link)
    out = []
    present = {_name(p, root): p for p in stores(root)}
    chain_shown = _shown(Layout.of(root).chain, root)
    for store, chained in by_store.items():
        path = present.get(store)
        if path is None:
            out.append(Problem(chain_shown, chained[0].line, f"the chained store {store} is missing",
                               "every published store kept"))
            continue
        rows = records(read_text(path, _shown(path, root), root))
        running = origin(store)
        for k, link in enumerate(chained):
            if k >= len(rows):
                out.append(Problem(_shown(path, root), rows[-1][0] if rows else 1,
                                   f"published rows were deleted: the chain has {len(chained)} records, the file "
                                   f"{len(rows)}", f"the published rows, as chained in {chain_shown}"))
                break
            line, cells = rows[k]
            running = fold(running, record_hash(cells))
            if link.record != k or record_hash(cells) != link.sha256 or running != link.chain:
                out.append(Problem(_shown(path, root), line, "a published row was changed, deleted or moved "
                                   f"(it no longer matches {chain_shown}:{link.line})",
                                   "published rows left as they were: append a correction instead"))
                break
    return out


def seal(root: Path) -> int:
    """Extend every store's chain to its current last row (call under the data folder's lock, after the data
    validated). Returns the number of records chained. Refuses to seal over a broken chain."""
    root = Path(root).absolute()
    broken = problems(root)
    if broken:
        raise DataError(broken)
    links = read_chain(root)
    last: dict[str, Link] = {}
    for link in links:
        last[link.store] = link
    new: list[list] = []
    for path in stores(root):
        store = _name(path, root)
        rows = records(read_text(path, _shown(path, root), root))
        done = last[store].record + 1 if store in last else 0
        running = last[store].chain if store in last else origin(store)
        for k in range(done, len(rows)):
            h = record_hash(rows[k][1])
            running = fold(running, h)
            new.append([store, k, rows[k][0], h, running])
    if new:
        append_csv_rows(Layout.of(root).chain, COLUMNS, new, root)
    return len(new)


def heads(root: Path) -> dict[str, str]:
    """The last chain value of each store: what a reader compares with a copy they hold."""
    out: dict[str, str] = {}
    for link in read_chain(Path(root).absolute()):
        out[link.store] = link.chain
    return out


def link_for(root: Path, store: str, record: int) -> Link | None:
    for link in read_chain(Path(root).absolute()):
        if link.store == store and link.record == record:
            return link
    return None
