"""What the book's pages show, as data: one view of the whole book and one per chapter. Views load the
data set once and hand plain values to ``html`` (fragments) and ``charts``. No model or data logic
lives here or in the pages: it is in the library, where the tests reach it."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import pandas as pd
from IPython.display import HTML

from analysis.book import charts, citations, html
from analysis.contract.layout import Layout
from analysis.data.dataset import load_valid
from analysis.forecast import scoring
from analysis.forecast.current import require_current
from analysis.forecast.scenarios import price
from analysis.stores import ledger, updates
from analysis.stores.versions import history_of


def repo_root(start: Path | None = None) -> Path:
    """The folder holding ``_config.yml`` (pages execute from ``book/``)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").exists():
            return folder
    raise FileNotFoundError("no _config.yml above " + str(here))


class Book:
    """The data behind every page: predictions, evidence, current forecasts and the ledger."""

    def __init__(self, data: Path | str | None = None):
        self.data_root = Path(data or os.environ.get("FORECAST_DATA") or repo_root() / "data").absolute()
        self.layout = Layout.of(self.data_root)
        self.data = load_valid(self.data_root)
        self.current = require_current(self.data_root)
        self.records = self.current.records
        missing = sorted(set(self.data.predictions) - set(self.records))
        if missing:
            raise RuntimeError(f"no current forecast for {', '.join(missing)}: run `forecast update` first")
        self.base_url = citations.base_url(self.layout)

    @cached_property
    def ledger_rows(self) -> list[dict]:
        return ledger.read_ledger(self.data_root)

    @cached_property
    def notes(self) -> dict[str, dict]:
        return updates.read_notes(self.data_root)

    def ledger_history(self, prediction_id: str) -> list[dict]:
        return [r for r in self.ledger_rows if r["prediction"] == prediction_id]

    def snapshot(self, prediction_id: str) -> dict | None:
        """The ledger row that publishes a prediction's current forecast."""
        rows = self.ledger_history(prediction_id)
        return rows[-1] if rows else None

    def previous_probability(self, prediction_id: str) -> float | None:
        """The probability of the snapshot before the latest one (None for a first forecast)."""
        rows = self.ledger_history(prediction_id)
        return float(rows[-2]["probability"]) if len(rows) > 1 else None

    def chapter(self, slug: str) -> "Chapter":
        return Chapter(self, slug)

    def dashboard(self) -> HTML:
        predictions = list(self.data.predictions.values())
        previous = {p.id: self.previous_probability(p.id) for p in predictions}
        return HTML(html.dashboard_table(predictions, self.records, previous))

    def changes(self, threshold: float = 0.0) -> list[dict]:
        """Every move between consecutive snapshots, newest first, with its cause."""
        rows = []
        for pid in sorted(self.data.predictions):
            history = self.ledger_history(pid)
            for before, after in zip(history, history[1:]):
                delta = float(after["probability"]) - float(before["probability"])
                if abs(delta) <= threshold:
                    continue
                note = self.notes.get(after["snapshot"])
                old = self.notes.get(before["snapshot"])
                added = sorted(set((note or {}).get("evidence_ids", "").split(";")) -
                               set((old or {}).get("evidence_ids", "").split(";")) - {""}) if note and old else []
                cause = note["cause"] if note else "before notes were kept"
                rows.append({"logged": after["created_at"][:10], "prediction": pid, "before": before, "after": after,
                             "delta": delta, "cause": cause, "evidence": added})
        return sorted(rows, key=lambda r: (r["logged"], r["prediction"]), reverse=True)

    def changelog(self, threshold: float = 0.0) -> HTML:
        return HTML(html.changelog_table(self.changes(threshold), self.data.predictions))

    @cached_property
    def scoreboard(self) -> pd.DataFrame:
        return scoring.scoreboard(list(self.records.values()))

    def score_summary(self) -> dict:
        board = self.scoreboard
        return {"questions": int(len(board)), "yes": int(board["outcome"].sum()) if len(board) else 0,
                "brier": float(board["brier"].mean()) if len(board) else None,
                "brier_time_averaged": float(board["brier_time_averaged"].mean()) if len(board) else None,
                "log_score": float(board["log_score"].mean()) if len(board) else None}

    def score_table(self) -> HTML:
        return HTML(html.score_table(self.scoreboard))

    def calibration_chart(self) -> HTML:
        return HTML(charts.embed_html(charts.calibration_chart(self.scoreboard), "chart-calibration"))


class Chapter:
    """One chapter's predictions, evidence and scenarios."""

    def __init__(self, book: Book, slug: str):
        self.book, self.slug = book, slug
        self.predictions = sorted((p for p in book.data.predictions.values() if p.chapter == slug),
                                  key=lambda p: int(p.id.rsplit("-", 1)[1]))
        if not self.predictions:
            raise KeyError(f"no predictions for chapter {slug!r}")

    @property
    def evidence_rows(self) -> pd.DataFrame:
        ev = self.book.data.evidence
        ids = {p.id for p in self.predictions}
        own = ev["_file"].str.endswith(f"/{self.slug}.csv")
        names = ev["predictions"].map(lambda ps: bool(ids & set(ps)))
        return ev[own | names]

    def card(self, prediction_id: str) -> HTML:
        p = self.book.data.predictions[prediction_id]
        record = self.book.records[prediction_id]
        chart = charts.history_chart(record, self.book.data.rows_for(prediction_id))
        versions = history_of(self.book.data_root, prediction_id)
        return HTML(html.prediction_card(p, record, self.book.snapshot(prediction_id), self.book.base_url, versions)
                    + charts.embed_html(chart, f"chart-{citations.anchor(prediction_id)}"))

    def moves(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for p in self.predictions:
            for step in self.book.records[p.id].history:
                if step.evidence_id and step.move is not None:
                    out.setdefault(step.evidence_id, {})[p.id] = step.move
        return out

    def evidence(self) -> HTML:
        return HTML(html.evidence_table(self.evidence_rows, self.moves()))

    def stance_counts(self) -> dict[str, int]:
        counts = self.evidence_rows["stance"].value_counts().to_dict()
        return {k: int(counts.get(k, 0)) for k in ("for", "against", "neutral")}

    def priors(self) -> HTML:
        return HTML(html.priors_table(self.predictions, self.book.records))

    def summary(self) -> HTML:
        previous = {p.id: self.book.previous_probability(p.id) for p in self.predictions}
        return HTML(html.dashboard_table(self.predictions, self.book.records, previous)
                    .replace(f'href="{self.slug}.html#', 'href="#'))

    def scenarios(self) -> HTML:
        chapter = self.book.data.scenarios.get(self.slug)
        if chapter is None:
            return HTML("")
        probabilities = {pid: self.book.records[pid].probability for s in chapter.scenarios for pid in s.outcomes}
        return HTML(html.scenarios_table(price(chapter, probabilities), chapter.correlation, chapter.justification))
