"""The whole data folder, loaded and cross-checked: predictions, evidence and resolutions.

``load(data_dir)`` returns a Dataset whose ``problems`` lists everything wrong, each as
``FILE:LINE: what (expected)``; callers refuse to act on a dataset with problems.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from analysis import evidence as ev
from analysis.errors import DataError, Problem, display_path
from analysis.families import FAMILIES, check_model
from analysis.predictions import Prediction, load_prediction_file
from analysis.schema import EVIDENCE_COLUMNS, RESOLUTION_COLUMNS
from analysis.tables import LINE, read_table

PREDICTIONS_DIR = "predictions"
EVIDENCE_DIR = "evidence"
RESOLUTIONS_FILE = "resolutions.csv"
LEDGER_FILE = "forecasts.csv"


def today() -> dt.date:
    """Today's date; ``FORECAST_TODAY`` pins it for reproducible runs and tests."""
    pinned = os.environ.get("FORECAST_TODAY")
    return dt.date.fromisoformat(pinned) if pinned else dt.date.today()


@dataclass
class Dataset:
    root: Path
    predictions: dict[str, Prediction] = field(default_factory=dict)
    evidence: pd.DataFrame | None = None
    resolutions: pd.DataFrame | None = None
    problems: list[Problem] = field(default_factory=list)

    def shown(self, path: Path) -> str:
        return display_path(path, self.root)

    @property
    def as_of(self) -> dt.date:
        """The data's as-of date: the latest date anything was logged (deterministic per commit)."""
        dates = [d for frame in (self.evidence, self.resolutions) if frame is not None and len(frame)
                 for d in frame["logged_on"] if d is not None]
        return max(dates) if dates else today()

    def rows_for(self, prediction_id: str, as_of: dt.date | None = None) -> pd.DataFrame:
        return ev.rows_for(self.evidence, prediction_id, as_of)

    def resolution(self, prediction_id: str) -> dict | None:
        if self.resolutions is None or not len(self.resolutions):
            return None
        match = self.resolutions[self.resolutions["prediction"] == prediction_id]
        return ev.row_dict(match.iloc[-1]) if len(match) else None

    def raise_for_problems(self) -> None:
        if self.problems:
            raise DataError(self.problems)


def _load_predictions(data: Dataset) -> None:
    folder = data.root / PREDICTIONS_DIR
    first_seen: dict[str, Prediction] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        shown = data.shown(path)
        try:
            predictions, problems = load_prediction_file(path, shown)
        except DataError as err:
            data.problems += err.problems
            continue
        data.problems += problems
        for p in predictions:
            prior, settings, model_problems = check_model(p.model.family, p.model.prior, p.model.settings)
            data.problems += [Problem(shown, p.line_of(key), f"{p.id}: {msg}", expected)
                              for key, msg, expected in model_problems]
            if model_problems:
                continue
            if p.id in first_seen:
                other = first_seen[p.id]
                data.problems.append(Problem(shown, p.line, f"duplicate prediction id '{p.id}'",
                                             f"a new id (first defined at {other.file}:{other.line})"))
                continue
            first_seen[p.id] = replace(p, model=replace(p.model, prior=prior, settings=settings))
    if not first_seen and not data.problems:
        data.problems.append(Problem(data.shown(folder), 1, "no predictions found", "data/predictions/<chapter>.yaml"))
    data.predictions = first_seen


def _load_table(data: Dataset, paths: list[Path], columns) -> pd.DataFrame:
    frames = []
    for path in paths:
        shown = data.shown(path)
        try:
            frame, problems = read_table(path, shown, columns)
        except DataError as err:
            data.problems += err.problems
            continue
        data.problems += problems
        frame["_file"] = shown
        frames.append(frame)
    names = [c.name for c in columns] + [LINE, "_file"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=names, dtype=object)


def _check_evidence(data: Dataset, evidence: pd.DataFrame) -> None:
    now = today()
    seen: dict[str, tuple[str, int]] = {}
    for row in map(ev.row_dict, (r for _, r in evidence.iterrows())):
        where = (row["_file"], row[LINE])
        say = lambda msg, expected: data.problems.append(Problem(*where, msg, expected))  # noqa: E731
        if row["id"] in seen:
            say(f"duplicate evidence id '{row['id']}'", f"a new id (first used at {seen[row['id']][0]}:{seen[row['id']][1]})")
        seen.setdefault(row["id"], where)
        if row["observed_on"] and row["observed_on"] > now:
            say(f"observed_on {row['observed_on']} is after today ({now})", "an event that has already happened")
        if row["count"] is not None and row["trials"] is not None and row["count"] > row["trials"]:
            say(f"successes (count {row['count']}) greater than trials ({row['trials']})", "count <= trials")
        for pid in row["predictions"]:
            prediction = data.predictions.get(pid)
            if prediction is None:
                say(f"unknown prediction id '{pid}'", "an id defined in data/predictions/*.yaml")
                continue
            module = FAMILIES[prediction.model.family]
            extra = (pid,) if module.NAME == "likelihood_ratio" else ()
            for column, msg, expected in module.row_problems(row, prediction.model.settings, *extra):
                say(f"{column}: {msg} (for {pid})", expected)


def _check_entity_dates(data: Dataset, evidence: pd.DataFrame) -> None:
    """Survival rows: every event has a start row for its entity, dated no later than the event."""
    for prediction in data.predictions.values():
        if prediction.model.family != "survival":
            continue
        s = prediction.model.settings
        rows = data.rows_for(prediction.id)
        starts = rows[rows["event"] == s["start_event"]].groupby("entity")["observed_on"].min()
        for _, row in rows[rows["event"] == s["event"]].iterrows():
            start = starts.get(row["entity"])
            where = (row["_file"], row[LINE])
            if start is None:
                data.problems.append(Problem(*where, f"entity '{row['entity']}' has no '{s['start_event']}' row "
                                             f"(for {prediction.id})", "a sourced start row for every tracked entity"))
            elif row["observed_on"] is not None and start is not None and row["observed_on"] < start:
                data.problems.append(Problem(*where, f"event date {row['observed_on']} is before the entity's start "
                                             f"{start} (for {prediction.id})", "an event on or after the start date"))


def _check_resolutions(data: Dataset, resolutions: pd.DataFrame) -> None:
    seen = set()
    for row in map(ev.row_dict, (r for _, r in resolutions.iterrows())):
        where = (row["_file"], row[LINE])
        if row["prediction"] not in data.predictions:
            data.problems.append(Problem(*where, f"unknown prediction id '{row['prediction']}'", "a defined prediction"))
        if row["prediction"] in seen:
            data.problems.append(Problem(*where, f"'{row['prediction']}' is resolved twice", "one resolution each"))
        seen.add(row["prediction"])
        if row["resolved_on"] and row["resolved_on"] > today():
            data.problems.append(Problem(*where, "resolved_on is after today", "a date that has passed"))


def load(root: Path | str = "data") -> Dataset:
    """Load and cross-check everything under ``root``; never raises for bad data (see ``problems``)."""
    data = Dataset(root=Path(root))
    if not data.root.is_dir():
        data.problems.append(Problem(str(root), 1, "data folder not found", "a folder with predictions/ and evidence/"))
        return data
    _load_predictions(data)
    before = len(data.problems)
    evidence = _load_table(data, sorted((data.root / EVIDENCE_DIR).glob("*.csv")), EVIDENCE_COLUMNS)
    resolution_path = data.root / RESOLUTIONS_FILE
    resolutions = _load_table(data, [resolution_path] if resolution_path.exists() else [], RESOLUTION_COLUMNS)
    data.evidence = ev.typed_evidence(evidence)
    data.resolutions = resolutions.assign(**{c: resolutions[c].map(ev.parse_date) for c in
                                             ("resolved_on", "source_date", "logged_on")})
    if len(data.problems) == before:  # cell-level problems make cross-checks noisy; report those first
        _check_evidence(data, data.evidence)
        _check_resolutions(data, data.resolutions)
        if len(data.problems) == before:
            _check_entity_dates(data, data.evidence)
        _check_scenarios(data)
        from analysis.versions import version_problems

        data.problems += version_problems(data.root, data.predictions)
    return data


def _check_scenarios(data: Dataset) -> None:
    from analysis.scenarios import SCENARIO_DIR, load_scenarios

    for path in sorted((data.root / SCENARIO_DIR).glob("*.yaml")):
        _, problems = load_scenarios(path, data.shown(path), data.predictions)
        data.problems += problems


def load_valid(root: Path | str = "data") -> Dataset:
    data = load(root)
    data.raise_for_problems()
    return data
