"""The generated file of current forecasts, ``_build/generated/forecasts.json``: every prediction's
record at the update's as-of date, with the ledger snapshot it is published as. Rebuilt by
``forecast update`` (never committed); the book, ``forecast export`` and the citations read it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from analysis.contract.errors import DataError, Problem
from analysis.contract.layout import Layout
from analysis.contract.provenance import package_versions
from analysis.files.storage import atomic_write_bytes
from analysis.forecast.record import Forecast


@dataclass(frozen=True)
class Current:
    as_of: str
    generated_at: str
    inputs_sha256: str
    records: dict[str, Forecast]
    snapshots: dict[str, str]  # prediction -> the ledger snapshot that publishes it


def write_current(root: Path, current: Current) -> None:
    payload = {"as_of": current.as_of, "generated_at": current.generated_at, "inputs_sha256": current.inputs_sha256,
               "versions": package_versions(),
               "predictions": [{**current.records[pid].to_json(), "snapshot": current.snapshots.get(pid, "")}
                               for pid in sorted(current.records)]}
    atomic_write_bytes(Layout.of(root).current, json.dumps(payload, indent=1, sort_keys=True).encode())


def read_current(root: Path) -> Current | None:
    path = Layout.of(root).current
    if not path.exists():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        records = {p["id"]: Forecast.from_json(p) for p in payload["predictions"]}
        return Current(payload["as_of"], payload["generated_at"], payload.get("inputs_sha256", ""), records,
                       {p["id"]: p.get("snapshot", "") for p in payload["predictions"]})
    except (ValueError, KeyError, TypeError):
        return None  # an old or damaged file is simply rebuilt


def require_current(root: Path) -> Current:
    current = read_current(root)
    if current is None:
        path = Layout.of(root).current
        raise DataError([Problem(str(path), 0, "no forecasts yet", "run `forecast update` first")])
    return current
