"""What the book's pages show, as data: one view of the whole book and one per chapter. Views load the data
set once and hand plain values to ``html`` (fragments) and ``charts``. No model or data logic lives here or in
the pages: it is in the library, where the tests reach it."""

from __future__ import annotations

import datetime as dt
import os
import re
from functools import cached_property
from pathlib import Path

import pandas as pd
from IPython.display import HTML

from analysis.book import charts, citations, html
from analysis.book.site import Snapshot
from analysis.contract.layout import Layout
from analysis.data.dataset import load_valid
from analysis.forecast import scoring
from analysis.forecast.current import require_current
from analysis.contract.provenance import seed_from
from analysis.forecast.scenarios import joint_draws, price
from analysis.stores import ledger, updates
from analysis.stores.versions import history_of, text_at


def repo_root(start: Path | None = None) -> Path:
    """The folder holding ``_config.yml`` (pages execute from ``book/``)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").exists():
            return folder
    raise FileNotFoundError("no _config.yml above " + str(here))


class Book:
    """The data behind every page: predictions, evidence, current forecasts, the ledger and its notes."""

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

    @cached_property
    def _by_prediction(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for row in self.ledger_rows:
            out.setdefault(row["prediction"], []).append(row)
        return out

    def ledger_history(self, prediction_id: str) -> list[dict]:
        return self._by_prediction.get(prediction_id, [])

    def snapshot(self, prediction_id: str) -> dict | None:
        """The ledger row that publishes a prediction's forecast (its latest snapshot)."""
        rows = self.ledger_history(prediction_id)
        return rows[-1] if rows else None

    def previous_probability(self, prediction_id: str) -> float | None:
        """The probability of the snapshot before the latest one (None for a first forecast)."""
        rows = self.ledger_history(prediction_id)
        return float(rows[-2]["probability"]) if len(rows) > 1 else None

    @cached_property
    def _evidence_by_id(self) -> pd.DataFrame:
        return self.data.evidence.set_index("id")

    def snapshot_view(self, row: dict) -> Snapshot:
        """What a snapshot rested on: its question's wording (and fine print) at that version and its evidence rows,
        with their sources. A snapshot written before evidence lists were kept says so."""
        wording = text_at(self.data_root, row["prediction"], int(row["version"])) or {}
        p = self.data.predictions[row["prediction"]]
        note = self.notes.get(row["snapshot"])
        recorded = note is not None and note["model_sha256"] != "unrecorded"
        evidence = []
        if recorded:
            ev = self._evidence_by_id
            for i in (i for i in note["evidence_ids"].split(";") if i):
                if i in ev.index:
                    r = ev.loc[i]
                    evidence.append((i, str(r["summary"]), f"{r['source_publisher']}, {r['source_title']}, "
                                                           f"{r['source_date']}", str(r["source_url"] or "")))
                else:
                    evidence.append((i, "(row no longer in the data)", "", ""))
        return Snapshot(row, wording.get("question", p.question), wording.get("resolution_criteria",
                                                                                p.resolution_criteria),
                        evidence, recorded, wording.get("fine_print", p.fine_print) or "",
                        (note or {}).get("note", ""))

    def chapter_title(self, slug: str) -> str:
        """A chapter's title, from the first heading of its page."""
        page = self.layout.pages / f"{slug}.md"
        if page.exists():
            match = re.search(r"^# (.+)$", page.read_text(encoding="utf-8"), flags=re.MULTILINE)
            if match:
                return match.group(1).strip()
        return slug.replace("-", " ").capitalize()

    def chapters(self) -> list[str]:
        """Chapter slugs in the order of the table of contents."""
        import yaml

        toc = yaml.safe_load((self.layout.repo / "_toc.yml").read_text(encoding="utf-8"))
        files = [c["file"].split("/")[-1] for part in toc.get("parts", []) for c in part.get("chapters", [])]
        known = set(self.data.chapters())
        return [f for f in files if f in known] + sorted(known - set(files))

    def headline(self, slug: str):
        predictions = sorted((p for p in self.data.predictions.values() if p.chapter == slug),
                             key=lambda p: int(p.id.rsplit("-", 1)[1]))
        return next((p for p in predictions if "headline" in p.tags), predictions[0])

    def chapter(self, slug: str) -> "Chapter":
        return Chapter(self, slug)

    def changes(self, threshold: float = 0.0) -> list[dict]:
        """Every move between consecutive snapshots, newest first, with its cause."""
        rows = []
        for pid in sorted(self.data.predictions):
            history = self.ledger_history(pid)
            for before, after in zip(history, history[1:]):
                delta = float(after["probability"]) - float(before["probability"])
                if abs(delta) <= threshold:
                    continue
                note, old = self.notes.get(after["snapshot"]), self.notes.get(before["snapshot"])
                added = sorted(set((note or {}).get("evidence_ids", "").split(";")) -
                               set((old or {}).get("evidence_ids", "").split(";")) - {""}) if note and old else []
                rows.append({"logged": after["created_at"][:10], "prediction": pid, "before": before, "after": after,
                             "delta": delta, "cause": note["cause"] if note else "before notes were kept",
                             "note": (note or {}).get("note", ""),
                             "evidence": added})
        return sorted(rows, key=lambda r: (r["logged"], r["prediction"]), reverse=True)

    def crowd_for(self, prediction_id: str) -> list[dict]:
        crowd = self.data.crowd
        return [] if crowd is None or not len(crowd) else \
            [r for _, r in crowd[crowd["prediction"] == prediction_id].iterrows()]

    # -- fragments for the kernel-free pages -------------------------------------------------------------
    def front_page(self) -> str:
        heads = []
        for slug in self.chapters():
            p = self.headline(slug)
            heads.append({"chapter": slug, "title": self.chapter_title(slug), "prediction": p,
                          "record": self.records[p.id], "previous": self.previous_probability(p.id)})
        unset = "" if self.base_url else html.UNSET_BASE_BANNER
        return unset + html.front_page(heads, self.biggest_recent_moves(), self.data.predictions, self.current.as_of,
                                       self.current.generated_at)

    def biggest_recent_moves(self, days: int = 30, limit: int = 8, floor: float = 0.005) -> list[dict]:
        """The largest moves logged in the ``days`` before the as-of date, sorted by size before they are cut,
        and only those of at least ``floor`` (smaller ones round to no visible change)."""
        start = (dt.date.fromisoformat(self.current.as_of) - dt.timedelta(days=days)).isoformat()
        recent = [c for c in self.changes() if c["logged"] >= start and abs(c["delta"]) >= floor]
        return sorted(recent, key=lambda c: (-abs(c["delta"]), c["prediction"]))[:limit]

    def freshness(self) -> str:
        """Each chapter's coverage at the current as-of date."""
        as_of = dt.date.fromisoformat(self.current.as_of)
        rows = [(slug, self.chapter_title(slug), self.data.freshness(slug, as_of)) for slug in self.chapters()]
        return html.freshness_table(rows, self.current.as_of)

    def dashboard(self) -> str:
        predictions = list(self.data.predictions.values())
        previous = {p.id: self.previous_probability(p.id) for p in predictions}
        titles = {slug: self.chapter_title(slug) for slug in self.chapters()}
        return self.freshness() + html.dashboard_table(predictions, self.records, previous, titles, self.chapters())

    def changelog(self) -> str:
        return html.changelog_table(self.changes(), self.data.predictions)

    @cached_property
    def scoreboard(self) -> pd.DataFrame:
        return scoring.scoreboard(list(self.records.values()))


SCENARIO_DRAWS = 20_000


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

    def review(self):
        """How current this chapter's record is at the book's as-of date (the coverage record)."""
        return self.book.data.freshness(self.slug, dt.date.fromisoformat(self.book.current.as_of))

    def reviewed_through(self) -> str:
        """The date the chapter's record was reviewed through, for the prose to quote."""
        review = self.review()
        return review.reviewed_through.isoformat() if review.reviewed_through else "never"

    def probability(self, prediction_id: str) -> float:
        return self.book.records[prediction_id].probability

    def model_range(self, prediction_id: str) -> tuple[float, float]:
        """The lowest and highest P(YES) across the forecast and its structural alternatives."""
        return self.book.records[prediction_id].model_range

    def quantity(self, prediction_id: str):
        """The quantity behind the forecast (its name, median and 90% interval)."""
        return self.book.records[prediction_id].quantity

    def cohort(self, prediction_id: str) -> dict:
        """The roster cohort behind a survival question, as of the current forecast, for the prose to quote."""
        from analysis.models import survival

        p = self.book.data.predictions[prediction_id]
        as_of = dt.date.fromisoformat(self.book.current.as_of)
        rows = self.book.data.rows_for(prediction_id, as_of)
        return survival.cohort_totals(survival.cohort(p, rows, as_of, self.book.data))

    def card(self, prediction_id: str) -> HTML:
        p = self.book.data.predictions[prediction_id]
        record = self.book.records[prediction_id]
        rows = self.book.data.rows_for(prediction_id)
        chart = charts.history_chart(record, rows, width="container", snapshots=self.book.ledger_history(prediction_id))
        row = self.book.snapshot(prediction_id)
        citations_by_format = {fmt: citations.cite(row, p, self.book.base_url, fmt) for fmt in
                               ("markdown", "bibtex", "csl-json")} if row else {}
        return HTML(html.prediction_card(p, record, row, self.book.previous_probability(prediction_id),
                                         citations_by_format, history_of(self.book.data_root, prediction_id),
                                         self.book.crowd_for(prediction_id), rows, self.moves(),
                                         self.book.data.corrections)
                    + charts.embed_html(chart, f"chart-{citations.anchor(prediction_id)}"))

    def moves(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for p in self.predictions:
            for step in self.book.records[p.id].history:
                if step.evidence_id and step.move is not None:
                    out.setdefault(step.evidence_id, {})[p.id] = step.move
        return out

    def evidence(self) -> HTML:
        return HTML(html.evidence_table(self.evidence_rows, self.moves(), corrections=self.book.data.corrections))

    def stance_counts(self) -> dict[str, int]:
        counts = self.evidence_rows["stance"].value_counts().to_dict()
        return {k: int(counts.get(k, 0)) for k in ("for", "against", "neutral")}

    def source_kinds(self) -> dict[str, int]:
        moving = self.evidence_rows[self.evidence_rows["prediction"] != ""]
        counts = moving["source_kind"].value_counts().to_dict()
        return {k: int(counts.get(k, 0)) for k in ("primary", "original_reporting", "repost")}

    def priors(self) -> HTML:
        return HTML(html.priors_table(self.predictions, self.book.records))

    def summary(self) -> HTML:
        previous = {p.id: self.book.previous_probability(p.id) for p in self.predictions}
        return HTML(html.dashboard_table(self.predictions, self.book.records, previous,
                                         {self.slug: self.book.chapter_title(self.slug)}, [self.slug], local=True))

    def _scenario_probability(self, prediction_id: str) -> float:
        """A scenario's input: the forecast for an open question, the outcome (1 or 0) for a resolved one."""
        record = self.book.records[prediction_id]
        if record.resolution is not None and record.resolution.outcome in ("yes", "no"):
            return 1.0 if record.resolution.outcome == "yes" else 0.0
        return record.probability

    def scenarios(self) -> HTML:
        """Scenarios priced jointly: questions on one model from its posterior, the rest by the copula."""
        chapter = self.book.data.scenarios.get(self.slug)
        if chapter is None:
            return HTML("")
        ids = sorted({pid for s in chapter.scenarios for pid in s.outcomes})
        probabilities = {pid: self._scenario_probability(pid) for pid in ids}
        as_of = dt.date.fromisoformat(self.book.current.as_of)
        open_ids = [pid for pid in ids if self.book.records[pid].resolution is None]  # a resolved outcome is fixed
        shared = joint_draws([self.book.data.predictions[pid] for pid in open_ids], self.book.data, as_of,
                             SCENARIO_DRAWS, seed_from(["scenarios", self.slug,
                                                        *(self.book.records[pid].key for pid in ids)]))
        priced = price(chapter, probabilities, draws=SCENARIO_DRAWS, joint_groups=shared)
        return HTML(html.scenarios_table(priced, chapter.correlation, chapter.justification,
                                         [sorted(group) for group in shared]))
