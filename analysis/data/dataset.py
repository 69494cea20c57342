"""The whole data folder, loaded once and cross-checked: predictions, evidence, resolutions, scenarios.

``load(data_dir)`` returns a Dataset whose ``problems`` lists everything wrong, each as
``FILE:LINE: what (expected)``; callers refuse to act on a dataset with problems. Every file is read
through ``files.storage``, so links and special files are refused, never opened.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from analysis.contract.errors import DataError, Problem, display_path, quote
from analysis.contract.layout import Layout
from analysis.contract.schema import (CORRECTION_COLUMNS, COVERAGE_COLUMNS, CROWD_COLUMNS, EVIDENCE_COLUMNS,
                                      RESOLUTION_COLUMNS, TEMPLATE_FREEZE_COLUMNS)
from analysis.data import corrections as fixes
from analysis.data import coverage as cov
from analysis.data import evidence as ev
from analysis.data.predictions import Prediction, load_prediction_file
from analysis.data.model_log import load_model_log
from analysis.data.relations import Relation, load_relations, logical_problems
from analysis.data.rosters import Roster, load_roster
from analysis.data.scenarios import ChapterScenarios, load_scenarios
from analysis.files.csvtable import read_table
from analysis.files.storage import data_files, refusal, stray_problems
from analysis.models import FAMILIES, check_model
from analysis.stores import chain, ledger
from analysis.stores.versions import version_problems


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
    scenarios: dict[str, ChapterScenarios] = field(default_factory=dict)
    rosters: dict[str, Roster] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    crowd: pd.DataFrame | None = None  # crowd forecasts: shown beside the book's, never read by a model
    reviews: list[cov.Review] = field(default_factory=list)  # the coverage record
    corrections: dict[str, list[dict]] = field(default_factory=dict)  # corrections applied, by evidence id
    model_log: list = field(default_factory=list)  # model changes, written before they are scored
    templates: list = field(default_factory=list)  # the backtest's question templates
    frozen: dict[str, str] = field(default_factory=dict)  # template id -> the day it was frozen
    problems: list[Problem] = field(default_factory=list)

    @property
    def layout(self) -> Layout:
        return Layout.of(self.root)

    def shown(self, path: Path) -> str:
        return display_path(path, self.root)

    def rows_for(self, prediction_id: str, as_of: dt.date | None = None) -> pd.DataFrame:
        return ev.rows_for(self.evidence, prediction_id, as_of)

    def resolution(self, prediction_id: str) -> dict | None:
        if self.resolutions is None or not len(self.resolutions):
            return None
        match = self.resolutions[self.resolutions["prediction"] == prediction_id]
        return ev.row_dict(match.iloc[-1]) if len(match) else None

    def chapters(self) -> list[str]:
        return sorted({p.chapter for p in self.predictions.values()})

    def reviewed_through(self, chapter: str) -> dt.date | None:
        """The date through which ``chapter``'s record was reviewed (None: never)."""
        review = cov.latest(self.reviews, chapter)
        return review.reviewed_through if review else None

    def freshness(self, chapter: str, as_of: dt.date) -> cov.Freshness:
        """How current ``chapter``'s record is at ``as_of``, and which of its moving rows are newer than it."""
        ids = {p.id for p in self.predictions.values() if p.chapter == chapter}
        rows = self.evidence[self.evidence["predictions"].map(lambda ps: bool(ids & set(ps)))]
        return cov.freshness(self.reviews, chapter, rows, as_of)

    def raise_for_problems(self) -> None:
        if self.problems:
            raise DataError(self.problems)


def _files(data: Dataset, folder: Path, pattern: str) -> list[Path]:
    files, problems = data_files(folder, pattern, data.root, data.shown)
    data.problems += problems
    return files


def _load_predictions(data: Dataset) -> None:
    first_seen: dict[str, Prediction] = {}
    for path in _files(data, data.layout.predictions_dir, "*.yaml"):
        shown = data.shown(path)
        try:
            predictions, problems = load_prediction_file(path, shown, data.root)
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
                data.problems.append(Problem(shown, p.line, f"duplicate prediction id {quote(p.id)}",
                                             f"a new id (first defined at {other.file}:{other.line})"))
                continue
            first_seen[p.id] = replace(p, model=replace(p.model, prior=prior, settings=settings))
    if not first_seen and not data.problems:
        data.problems.append(Problem(data.shown(data.layout.predictions_dir), 1, "no predictions found",
                                     "data/predictions/<chapter>.yaml"))
    data.predictions = first_seen


def _load_table(data: Dataset, paths: list[Path], columns) -> pd.DataFrame:
    frames = []
    for path in paths:
        shown = data.shown(path)
        try:
            frame, problems = read_table(path, shown, columns, data.root)
        except DataError as err:
            data.problems += err.problems
            continue
        data.problems += problems
        frame["_file"] = shown
        frames.append(frame)
    names = [c.name for c in columns] + [ev.LINE, "_file"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=names, dtype=object)


def _check_evidence(data: Dataset, evidence: pd.DataFrame) -> None:
    now = today()
    seen: dict[str, tuple[str, int]] = {}
    for row in map(ev.row_dict, (r for _, r in evidence.iterrows())):
        where = (row["_file"], row[ev.LINE])
        say = lambda msg, expected: data.problems.append(Problem(*where, msg, expected))  # noqa: E731
        if row["id"] in seen:
            say(f"duplicate evidence id {quote(row['id'])}", f"a new id (first used at {seen[row['id']][0]}:"
                f"{seen[row['id']][1]})")
        seen.setdefault(row["id"], where)
        for column in ("observed_on", "first_public", "source_date", "logged_on"):
            if row[column] and row[column] > now:
                say(f"{column} {row[column]} is after today ({now})", "a date that has already come: an event "
                    "that happened, a source that was published, a row that was logged")
        first, observed, source = row["first_public"], row["observed_on"], row["source_date"]
        if first and observed and first < observed:
            say(f"first_public {first} is before observed_on {observed}", "a fact made public on or after it happened")
        if first and source and first > source:
            say(f"first_public {first} is after source_date {source}",
                "the earliest date the fact was public: at the latest the date of the source that was seen")
        if row["source_kind"] == "repost" and not row["source_note"]:
            say("a repost needs a source_note", "why no original (agency release, filing, company post, paper, "
                "original report) could be used")
        if row["count"] is not None and row["trials"] is not None and row["count"] > row["trials"]:
            say(f"successes (count {row['count']}) greater than trials ({row['trials']})", "count <= trials")
        unlisted = _lr_ids(row["lr"]) - set(row["predictions"])
        if unlisted or (row["lr"] and not row["predictions"]):
            say(f"lr gives a ratio for {', '.join(sorted(unlisted)) or 'a context row'}, which the row's prediction "
                "column does not list", "every question an lr names listed in prediction (a context row has no lr)")
        for pid in row["predictions"]:
            prediction = data.predictions.get(pid)
            if prediction is None:
                say(f"unknown prediction id {quote(pid)}", "an id defined in data/predictions/*.yaml")
                continue
            for column, msg, expected in FAMILIES[prediction.model.family].check_row(prediction, row):
                say(f"{column}: {msg} (for {pid})", expected)


def _duplicate_rows(data: Dataset, evidence: pd.DataFrame) -> None:
    """A fact logged twice: two rows that name the same questions with the same observation (event, entity,
    count, value) and the same summary, from the same source (address or title). Intake asks about near-duplicates; here an exact
    repeat is refused, since it would count the same fact twice."""
    from analysis.data.intake import normal_title, normal_url

    seen: dict[tuple, tuple[str, int, str]] = {}
    for row in map(ev.row_dict, (r for _, r in evidence.iterrows())):
        if not row["predictions"]:
            continue
        fact = (tuple(sorted(row["predictions"])), row["event"], row["entity"], row["count"], row["value"],
                normal_title(row["summary"]))  # two cases from one article differ in their summaries
        sources = ([("address", normal_url(row["source_url"]))] if row["source_url"] else []) + \
            [("title", normal_title(row["source_title"]))]
        for source in sources:
            first = seen.get((fact, source))
            if first is not None:
                data.problems.append(Problem(row["_file"], row[ev.LINE], f"{row['id']} repeats {first[2]} "
                                             f"({first[0]}:{first[1]}): the same observation from the same {source[0]}",
                                             "each fact logged once (one row may name several questions)"))
                break
            seen[(fact, source)] = (row["_file"], row[ev.LINE], row["id"])


def _lr_ids(cell: str) -> set[str]:
    """The question ids an ``ID=x;ID=y`` likelihood-ratio cell names (none for a bare number)."""
    return {part.partition("=")[0].strip() for part in (cell or "").split(";") if "=" in part}


def _check_resolutions(data: Dataset, resolutions: pd.DataFrame) -> None:
    seen = set()
    for row in map(ev.row_dict, (r for _, r in resolutions.iterrows())):
        where = (row["_file"], row[ev.LINE])
        if row["prediction"] not in data.predictions:
            data.problems.append(Problem(*where, f"unknown prediction id {quote(row['prediction'])}",
                                         "a defined prediction"))
        if row["prediction"] in seen:
            data.problems.append(Problem(*where, f"{quote(row['prediction'])} is resolved twice", "one resolution each"))
        seen.add(row["prediction"])
        if row["resolved_on"] and row["resolved_on"] > today():
            data.problems.append(Problem(*where, "resolved_on is after today", "a date that has passed"))
        p = data.predictions.get(row["prediction"])
        if p is None or not row["resolved_on"]:
            continue
        opened = p.backtest_from if p.retrospective else FAMILIES[p.model.family].scope(p).start
        if row["resolved_on"] < opened:
            data.problems.append(Problem(*where, f"resolved_on {row['resolved_on']} is before the question's window "
                                         f"opens ({opened})", "a resolution dated inside the question's life"))
        if row["outcome"] == "no" and row["resolved_on"] < p.resolves_by and not row["note"]:
            data.problems.append(Problem(*where, f"a NO on {row['resolved_on']}, before the deadline {p.resolves_by}, "
                                         "gives no reason", "a note saying why the question can no longer resolve YES "
                                         "(the criteria allow an early NO only when YES became impossible)"))


def _load_rosters(data: Dataset) -> None:
    for path in _files(data, data.layout.rosters_dir, "*.yaml"):
        roster, problems = load_roster(path, data.shown(path), data.root)
        data.problems += problems
        if roster is not None:
            data.rosters[roster.name] = roster


def _load_crowd(data: Dataset) -> None:
    path = data.layout.crowd
    if not os.path.lexists(path):
        data.crowd = pd.DataFrame(columns=[c.name for c in CROWD_COLUMNS])
        return
    before = len(data.problems)
    frame = _load_table(data, [path], CROWD_COLUMNS)
    if len(data.problems) == before:
        for row in map(ev.row_dict, (r for _, r in frame.iterrows())):
            where = (row["_file"], row[ev.LINE])
            if row["prediction"] not in data.predictions:
                data.problems.append(Problem(*where, f"unknown prediction id {quote(row['prediction'])}",
                                             "a defined prediction"))
            if not 0 <= float(row["probability"]) <= 1:
                data.problems.append(Problem(*where, f"probability {quote(row['probability'])} is outside [0, 1]",
                                             "a probability between 0 and 1"))
    data.crowd = frame


def _present(data: Dataset, path: Path) -> bool:
    """Whether an optional data file is there to read: absent is fine, a link or special file is a problem."""
    if not os.path.lexists(path):
        return False
    reason = refusal(path, data.root)
    if reason:
        data.problems.append(Problem(data.shown(path), 0, reason))
        return False
    return True


def _load_optional_table(data: Dataset, path: Path, columns) -> pd.DataFrame | None:
    """A CSV store that may not exist yet (None then); a refused file is a problem."""
    return _load_table(data, [path], columns) if _present(data, path) else None


def _load_coverage(data: Dataset) -> None:
    before = len(data.problems)
    frame = _load_optional_table(data, data.layout.coverage, COVERAGE_COLUMNS)
    if len(data.problems) > before:
        return
    if frame is not None:
        frame = cov.typed(frame)
        data.problems += cov.problems(frame, set(data.chapters()), today())
        data.reviews = cov.reviews(frame)
    needs = sorted({p.chapter for p in data.predictions.values() if FAMILIES[p.model.family].reads_time})
    for chapter in needs:
        if cov.latest(data.reviews, chapter) is None:
            first = min((p for p in data.predictions.values() if p.chapter == chapter), key=lambda p: p.line)
            data.problems.append(Problem(first.file, first.line, f"chapter {quote(chapter)} has no coverage row, and "
                                         "its models read time as evidence", f"a review: forecast review {chapter} "
                                         "--through DATE --searched \"what was searched\""))


def _apply_corrections(data: Dataset, evidence: pd.DataFrame, resolutions: pd.DataFrame
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    before = len(data.problems)
    frame = _load_optional_table(data, data.layout.corrections, CORRECTION_COLUMNS)
    if frame is None or len(data.problems) > before:
        return evidence, resolutions
    corrected, problems, applied = fixes.apply({"evidence": evidence, "resolutions": resolutions}, frame)
    data.problems += problems
    data.corrections = applied
    return corrected["evidence"], corrected["resolutions"]


def _load_templates(data: Dataset) -> None:
    """The backtest templates, and the freeze that says which may no longer change."""
    from analysis.data.templates import freeze_problems, load_templates

    if not _present(data, data.layout.templates):
        return
    data.templates, problems = load_templates(data.layout.templates, data.shown(data.layout.templates), data.root,
                                              data.rosters)
    data.problems += problems
    before = len(data.problems)
    frame = _load_optional_table(data, data.layout.template_freeze, TEMPLATE_FREEZE_COLUMNS)
    if frame is None or len(data.problems) > before or problems:
        return
    rows = [ev.row_dict(r) for _, r in frame.iterrows()]
    data.problems += freeze_problems(data.templates, rows, data.shown(data.layout.template_freeze))
    data.frozen = {r["template"]: r["frozen_on"] for r in rows}


def _load_model_log(data: Dataset) -> None:
    path = data.layout.model_log
    if not _present(data, path):
        return
    data.model_log, problems = load_model_log(path, data.shown(path), set(FAMILIES), data.predictions, today(),
                                              data.root)
    data.problems += problems


def _load_relations(data: Dataset) -> None:
    path = data.layout.relations
    if not _present(data, path):
        return
    data.relations, problems = load_relations(path, data.shown(path), data.predictions, data.root)
    data.problems += problems + logical_problems(data.relations, data.predictions)


def _load_scenarios(data: Dataset) -> None:
    for path in _files(data, data.layout.scenarios_dir, "*.yaml"):
        chapter, problems = load_scenarios(path, data.shown(path), data.predictions, data.root)
        data.problems += problems
        if chapter is not None:
            data.scenarios[chapter.chapter] = chapter


def load(root: Path | str = "data") -> Dataset:
    """Load and cross-check everything under ``root``; never raises for bad data (see ``problems``)."""
    data = Dataset(root=Path(root).absolute())
    reason = refusal(data.root, None, folder=True) if os.path.lexists(data.root) else None
    if reason or not data.root.is_dir():
        data.problems.append(Problem(str(root), 0, reason.replace("a regular file", "a real folder") if reason
                                     else "data folder not found", "" if reason else
                                     "a folder with predictions/ and evidence/"))
        return data
    known = {str(p) for p in data.problems}
    data.problems += [p for p in stray_problems(data.root, data.shown) if str(p) not in known]
    _load_rosters(data)
    _load_predictions(data)
    evidence_paths = _files(data, data.layout.evidence_dir, "*.csv")
    resolution_paths = [data.layout.resolutions] if os.path.lexists(data.layout.resolutions) else []
    for path in resolution_paths:
        reason = refusal(path, data.root)
        if reason:
            data.problems.append(Problem(data.shown(path), 0, reason))
            resolution_paths = []
    before = len(data.problems)  # a refused file is reported, and the other files are still cross-checked
    evidence = _load_table(data, evidence_paths, EVIDENCE_COLUMNS)
    resolutions = _load_table(data, resolution_paths, RESOLUTION_COLUMNS)
    if len(data.problems) == before:
        evidence, resolutions = _apply_corrections(data, evidence, resolutions)
    data.evidence = ev.typed_evidence(evidence)
    data.resolutions = resolutions.assign(**{c: resolutions[c].map(ev.parse_date) for c in
                                             ("resolved_on", "source_date", "logged_on")})
    if len(data.problems) == before:  # cell-level problems make cross-checks noisy; report those first
        _check_evidence(data, data.evidence)
        _duplicate_rows(data, data.evidence)
        _check_resolutions(data, data.resolutions)
        if len(data.problems) == before:
            for prediction in data.predictions.values():
                data.problems += FAMILIES[prediction.model.family].check_prediction(prediction, data)
        _load_scenarios(data)
        _load_relations(data)
        _load_crowd(data)
        _load_coverage(data)
        _load_model_log(data)
        _load_templates(data)
        try:
            data.problems += version_problems(data.root, data.predictions)
        except DataError as err:
            data.problems += err.problems
        data.problems += chain.problems(data.root) + ledger.row_problems(data.root)
    data.problems = list(dict.fromkeys(data.problems))  # one report per problem, in the order found
    return data


def load_valid(root: Path | str = "data") -> Dataset:
    data = load(root)
    data.raise_for_problems()
    return data
