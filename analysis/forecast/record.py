"""What a forecast is: one frozen record per prediction, built once by ``engine`` and never mutated.

The record is what the ledger snapshots, what ``forecasts.json`` holds, what the book shows and what
``forecast export`` publishes. Its JSON form is ``to_json``; ``from_json`` reads it back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields

import numpy as np

from analysis.models.protocol import Diagnostics, Quantity


def jsonable(value):
    """Plain JSON values from dates, numpy scalars, tuples and nested containers."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (np.ndarray, tuple, list)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Step:
    """One point of the as-of replay: the forecast once this evidence row was public."""

    as_of: str
    evidence_id: str | None
    probability: float
    move: float | None
    median: float
    lo90: float
    hi90: float


@dataclass(frozen=True)
class ModelSpec:
    family: str
    prior: dict
    settings: dict
    digest: str  # family, family version, prior and settings: a change here is a model change


@dataclass(frozen=True)
class Resolution:
    outcome: str
    resolved_on: str
    source_publisher: str
    source_title: str
    source_date: str
    source_url: str
    note: str


@dataclass(frozen=True)
class Alternative:
    """The forecast under one structural alternative of the model (for the model range)."""

    label: str
    probability: float


@dataclass(frozen=True)
class Forecast:
    id: str
    chapter: str
    question: str
    version: int
    resolves_by: str
    retrospective: bool
    status: str  # open, resolved or annulled
    probability: float
    probability_mcse: float
    quantity: Quantity
    as_of: str
    evidence_ids: tuple[str, ...]
    evidence_sha256: str
    model: ModelSpec
    diagnostics: Diagnostics
    sensitivity: dict  # weaker / stated / stronger prior
    alternatives: tuple[Alternative, ...]
    history: tuple[Step, ...]
    resolution: Resolution | None
    key: str  # digest of everything the record depends on: same key, same record
    reviewed_through: str = ""  # the chapter's record was reviewed through this date (the coverage record)
    unreviewed: tuple[str, ...] = ()  # its rows first public after that date: tallied, not yet in the rate
    progress: tuple[int, int] | None = None  # (already counted in the window, needed) for a counting question

    @property
    def evidence_count(self) -> int:
        return len(self.evidence_ids)

    @property
    def model_range(self) -> tuple[float, float]:
        values = [self.probability, *(a.probability for a in self.alternatives)]
        return min(values), max(values)

    def to_json(self) -> dict:
        return jsonable(asdict(self))

    @classmethod
    def from_json(cls, data: dict) -> "Forecast":
        known = {f.name for f in fields(cls)}
        item = {k: v for k, v in data.items() if k in known}
        item["quantity"] = Quantity(**item["quantity"])
        item["diagnostics"] = Diagnostics(**item["diagnostics"])
        item["model"] = ModelSpec(**item["model"])
        item["resolution"] = Resolution(**item["resolution"]) if item.get("resolution") else None
        item["history"] = tuple(Step(**s) for s in item["history"])
        item["alternatives"] = tuple(Alternative(**a) for a in item.get("alternatives") or ())
        item["evidence_ids"] = tuple(item["evidence_ids"])
        item["unreviewed"] = tuple(item.get("unreviewed") or ())
        item["progress"] = tuple(item["progress"]) if item.get("progress") else None
        return cls(**item)
