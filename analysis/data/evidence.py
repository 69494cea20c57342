"""Loading ``data/evidence/*.csv`` and ``data/resolutions.csv`` into typed frames."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.contract.schema import parse_date
from analysis.files.csvtable import LINE

__all__ = ["LINE", "typed_evidence", "rows_for", "row_dict"]

DATE_COLUMNS = ("observed_on", "source_date", "logged_on", "first_public")
INT_COLUMNS = ("count", "trials")
FLOAT_COLUMNS = ("value",)


def _maybe(convert):
    def apply(text: str):
        if text == "":
            return None
        try:
            return convert(text)
        except (TypeError, ValueError):
            return None
    return apply


def _bounded_int(text: str) -> int | None:
    from analysis.contract.schema import MAX_COUNT

    value = int(text)
    return value if 0 <= value <= MAX_COUNT else None


def typed_evidence(frame: pd.DataFrame) -> pd.DataFrame:
    """Evidence with dates as ``datetime.date``, counts as Int64, values as floats, id lists split.

    Cells that failed validation become missing; call only after checking problems.
    """
    out = frame.copy()
    for column in DATE_COLUMNS:
        if column in out:
            out[column] = out[column].map(parse_date)
    # The date a fact became public: what an as-of date filters on (never the event date alone).
    public = out["first_public"] if "first_public" in out else out["observed_on"]
    out["public_on"] = [p if p is not None else o for p, o in zip(public, out["observed_on"])]
    for column in INT_COLUMNS:  # a cell out of the schema's range (already reported) becomes missing
        out[column] = pd.array(out[column].map(_maybe(_bounded_int)).tolist(), dtype="Int64")
    for column in FLOAT_COLUMNS:
        out[column] = out[column].map(_maybe(float)).astype(float)
    out["predictions"] = out["prediction"].map(lambda s: tuple(p.strip() for p in s.split(";") if p.strip()))
    return out


def rows_for(evidence: pd.DataFrame, prediction_id: str, as_of=None) -> pd.DataFrame:
    """The rows that name a prediction and were public on or before ``as_of`` (all when None)."""
    mask = evidence["predictions"].map(lambda ids: prediction_id in ids)
    if as_of is not None:
        mask &= evidence["public_on"].map(lambda d: d is not None and d <= as_of)
    return evidence[mask.astype(bool)]


def row_dict(row: pd.Series) -> dict:
    """A row as plain Python values (None for missing), for the families' row checks."""
    def clean(value):
        if value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return None
        return value
    return {key: clean(value) for key, value in row.items()}
