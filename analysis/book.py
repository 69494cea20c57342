"""What the book's pages call: one small object per page that loads the data once and renders
HTML fragments (see ``pages``) and charts (see ``charts``). No model or data logic lives here or
in the pages themselves: it is all in the library, where the tests reach it."""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path

import pandas as pd
from IPython.display import HTML

from analysis import charts, citations, engine, ledger, pages, scoring
from analysis import dataset as ds
from analysis.scenarios import SCENARIO_DIR, load_scenarios, price


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
        self.data_root = Path(data or os.environ.get("FORECAST_DATA") or repo_root() / "data").resolve()
        self.data = ds.load_valid(self.data_root)
        self.records = engine.read_current(self.data_root)
        missing = sorted(set(self.data.predictions) - set(self.records))
        if missing:
            raise RuntimeError(f"no current forecast for {', '.join(missing)}: run `forecast update` first")
        self.base_url = citations.book_url(self.data_root)

    @cached_property
    def ledger_rows(self) -> list[dict]:
        return ledger.read_ledger(self.data_root)

    def ledger_history(self, prediction_id: str) -> list[dict]:
        return [r for r in self.ledger_rows if r["prediction"] == prediction_id]

    def previous_probability(self, prediction_id: str) -> float | None:
        """The probability of the snapshot before the current one (None for a first forecast)."""
        rows = self.ledger_history(prediction_id)
        current = self.records[prediction_id]
        if rows and rows[-1]["snapshot"] == current.get("snapshot"):
            rows = rows[:-1]
        return float(rows[-1]["probability"]) if rows else None

    def chapter(self, slug: str) -> "Chapter":
        return Chapter(self, slug)

    # Pages that summarise every forecast -------------------------------------------------------
    def dashboard(self) -> HTML:
        predictions = list(self.data.predictions.values())
        previous = {p.id: self.previous_probability(p.id) for p in predictions}
        return HTML(pages.dashboard_table(predictions, self.records, previous))

    def changelog(self, threshold: float = 0.0) -> HTML:
        rows = []
        for pid in sorted(self.data.predictions):
            history = self.ledger_history(pid)
            for before, after in zip([None, *history], history):
                if before is None:
                    continue
                delta = float(after["probability"]) - float(before["probability"])
                if abs(delta) <= threshold:
                    continue
                steps = [h["evidence_id"] for h in self.records[pid]["history"]
                         if h["evidence_id"] and before["as_of"] < h["as_of"] <= after["as_of"]]
                rows.append((after["created_at"], pid, before, after, delta, steps))
        if not rows:
            return HTML('<p class="changelog-empty">No forecast has moved since it was first published: every '
                        'prediction has a single snapshot in the ledger.</p>')
        body = "".join(
            f'<tr><td>{pages.esc(c[:10])}</td><td><a href="{pages.esc(self.data.predictions[p].chapter)}.html#'
            f'{citations.anchor(p)}">{pages.esc(p)}</a></td><td>{pages.esc(b["snapshot"])} → {pages.esc(a["snapshot"])}</td>'
            f'<td>{pages.pct(float(b["probability"]))} → {pages.pct(float(a["probability"]))} ({d * 100:+.1f} pts)</td>'
            f'<td>{pages.esc(", ".join(s) or "model, prior or question change")}</td></tr>'
            for c, p, b, a, d, s in sorted(rows, reverse=True))
        return HTML('<table class="changelog-table"><thead><tr><th>logged</th><th>prediction</th><th>snapshots</th>'
                    '<th>move</th><th>evidence behind it</th></tr></thead><tbody>' + body + "</tbody></table>")

    def first_published(self) -> HTML:
        """The ledger's first snapshot of every prediction."""
        firsts = {}
        for row in self.ledger_rows:
            firsts.setdefault(row["prediction"], row)
        body = "".join(f'<tr><td>{pages.esc(r["snapshot"])}</td><td>{pages.pct(float(r["probability"]))}</td>'
                       f'<td>{pages.esc(r["created_at"][:10])}</td></tr>' for _, r in sorted(firsts.items()))
        return HTML('<table class="ledger-table"><thead><tr><th>first snapshot</th><th>P(YES)</th><th>logged</th>'
                    '</tr></thead><tbody>' + body + "</tbody></table>")

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
        board = self.scoreboard.sort_values("id")
        body = "".join(
            f'<tr><td><a href="{pages.esc(r.chapter)}.html#{citations.anchor(r.id)}">{pages.esc(r.id)}</a></td>'
            f'<td>{"YES" if r.outcome else "NO"}</td><td>{pages.pct(r.probability)}</td><td>{r.brier:.3f}</td>'
            f'<td>{r.brier_time_averaged:.3f}</td><td>{r.log_score:.2f}</td></tr>' for r in board.itertuples())
        return HTML('<table class="score-table"><thead><tr><th>question</th><th>outcome</th><th>last forecast</th>'
                    '<th>Brier</th><th>time-averaged Brier</th><th>log score</th></tr></thead><tbody>'
                    + body + "</tbody></table>")

    def calibration_chart(self) -> HTML:
        return HTML(charts.embed_html(charts.calibration_chart(self.scoreboard), "chart-calibration"))

    def brier_chart(self) -> HTML:
        over_time = scoring.brier_over_time(self.scoreboard)
        refs = {"coin flip (0.25)": scoring.COIN_FLIP, "Metaculus AI community (0.237)": scoring.METACULUS_AI}
        return HTML(charts.embed_html(charts.brier_chart(over_time, refs), "chart-brier"))


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
        rows = self.book.ledger_history(prediction_id)
        chart = charts.history_chart(record, self.book.data.rows_for(prediction_id))
        from analysis.versions import history_of

        versions = history_of(self.book.data_root, prediction_id)
        return HTML(pages.prediction_card(p, record, rows[-1] if rows else None, self.book.base_url, versions)
                    + charts.embed_html(chart, f"chart-{citations.anchor(prediction_id)}"))

    def moves(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for p in self.predictions:
            for step in self.book.records[p.id]["history"]:
                if step["evidence_id"] and step["move"] is not None:
                    out.setdefault(step["evidence_id"], {})[p.id] = step["move"]
        return out

    def evidence(self) -> HTML:
        return HTML(pages.evidence_table(self.evidence_rows, self.moves()))

    def stance_counts(self) -> dict[str, int]:
        counts = self.evidence_rows["stance"].value_counts().to_dict()
        return {k: int(counts.get(k, 0)) for k in ("for", "against", "neutral")}

    def priors(self) -> HTML:
        return HTML(pages.priors_table(self.predictions, self.book.records))

    def summary(self) -> HTML:
        previous = {p.id: self.book.previous_probability(p.id) for p in self.predictions}
        return HTML(pages.dashboard_table(self.predictions, self.book.records, previous)
                    .replace(f'href="{self.slug}.html#', 'href="#'))

    def scenarios(self) -> HTML:
        path = self.book.data_root / SCENARIO_DIR / f"{self.slug}.yaml"
        chapter, problems = load_scenarios(path, str(path), self.book.data.predictions)
        if problems:
            raise ValueError("; ".join(str(p) for p in problems))
        probabilities = {pid: self.book.records[pid]["probability"] for s in chapter.scenarios for pid in s.outcomes}
        return HTML(pages.scenarios_table(price(chapter, probabilities), chapter.correlation, chapter.justification))


def figure(data_root: Path, prediction_id: str, out: Path, fmt: str) -> None:
    """``forecast figure``: the history chart as a static PNG or SVG."""
    data = ds.load_valid(data_root)
    records = engine.read_current(data_root)
    if prediction_id not in records:
        raise KeyError(prediction_id)
    charts.save_figure(charts.history_chart(records[prediction_id], data.rows_for(prediction_id)), out, fmt)


def page_fingerprints(data_root: Path) -> dict[str, str]:
    """A hash of exactly what each page shows, so a data change re-executes only those pages."""
    data_root = Path(data_root)
    data = ds.load_valid(data_root)
    payload = json.loads(engine.current_path(data_root).read_text())
    records = {r["id"]: {k: v for k, v in r.items()} for r in payload["predictions"]}
    ledger_rows = ledger.read_ledger(data_root)
    out = {}
    for slug in sorted({p.chapter for p in data.predictions.values()}):
        ids = sorted(p.id for p in data.predictions.values() if p.chapter == slug)
        files = [data_root / ds.EVIDENCE_DIR / f"{slug}.csv", data_root / ds.PREDICTIONS_DIR / f"{slug}.yaml",
                 data_root / SCENARIO_DIR / f"{slug}.yaml"]
        out[f"book/{slug}.md"] = engine.digest({
            "records": [records.get(i) for i in ids], "ledger": [r for r in ledger_rows if r["prediction"] in ids],
            "files": [f.read_bytes().hex() if f.exists() else None for f in files]})
    everything = engine.digest({"records": records, "ledger": ledger_rows})
    for page in ("book/dashboard.md", "book/changelog.md", "book/scorecard.md"):
        out[page] = everything
    return out


def _drop_cached_outputs(cache, pages: list[Path]) -> None:
    """Remove each page's cached execution, found by its path and by its code's hash (so a cache
    copied from another checkout, whose records carry other paths, is handled too)."""
    from myst_nb.core.read import read_myst_markdown_notebook

    targets = {str(page.resolve()) for page in pages}
    doomed = {r.pk for r in cache.list_cache_records() if str(Path(r.uri).resolve()) in targets}
    for page in pages:
        try:
            doomed.add(cache.match_cache_notebook(read_myst_markdown_notebook(page.read_text(encoding="utf-8"))).pk)
        except KeyError:
            pass
    for pk in doomed:
        cache.remove_cache(pk)


def invalidate_changed_pages(repo: Path, data_root: Path) -> list[str]:
    """Drop the jupyter-cache records of pages whose data changed, and touch them so Sphinx re-reads
    them. Every other page keeps its cached outputs. Returns the pages invalidated."""
    from jupyter_cache import get_cache

    generated = engine.generated_dir(data_root)
    store = generated / "page-fingerprints.json"
    new = page_fingerprints(data_root)
    old = json.loads(store.read_text()) if store.exists() else {}
    changed = sorted(page for page, digest in new.items() if old.get(page) != digest and (repo / page).exists())
    cache_path = repo / "_build" / ".jupyter_cache"
    if changed and cache_path.exists():
        _drop_cached_outputs(get_cache(str(cache_path)), [repo / page for page in changed])
    for page in changed:
        os.utime(repo / page, None)
    from analysis.storage import atomic_write_bytes

    atomic_write_bytes(store, json.dumps(new, indent=1, sort_keys=True).encode())
    return changed


def prepare(repo: Path, data_root: Path) -> dict:
    """Everything a build needs besides the pages: bibliography, Vega bundle, cache invalidation."""
    from analysis.storage import atomic_write_bytes

    data = ds.load_valid(data_root)
    generated = engine.generated_dir(data_root)
    atomic_write_bytes(generated / "references.bib", citations.evidence_bibtex(data.evidence).encode("utf-8"))
    bundle = repo / "_static" / "vega-bundle.js"
    if not bundle.exists():
        import vl_convert as vlc

        # Wrapped in a function so its top-level names cannot clash with the theme's scripts.
        atomic_write_bytes(bundle, ("(function(){\n" + vlc.javascript_bundle() + "\n})();\n").encode("utf-8"))
    changed = invalidate_changed_pages(repo, data_root)
    return {"changed_pages": changed, "evidence_rows": int(len(data.evidence))}
