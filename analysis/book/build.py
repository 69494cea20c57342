"""Build steps for ``make book`` (``forecast prepare-book``): the bibliography, the offline Vega bundle, the
HTML fragments the kernel-free pages include, the static site files (snapshot permalinks, downloads, feed),
and invalidating exactly the chapter pages whose displayed content changed, so jupyter-cache (which keys only
on code cells) never serves a stale page. Every file is rewritten only when its bytes change, so Sphinx
re-reads only the pages that include something new."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from analysis.book import charts, citations, html, site
from analysis.book.views import Book
from analysis.contract.layout import Layout
from analysis.contract.provenance import digest, page_code_digest
from analysis.contract.schema import CORRECTION_COLUMNS, COVERAGE_COLUMNS, EVIDENCE_COLUMNS, RESOLUTION_COLUMNS
from analysis.files.storage import atomic_write_bytes
from analysis.files.yamlfile import MAX_DEPTH


CHECKED = ("NEO-1", "CHN-1", "EXP-1", "NEO-4")  # predictive checks shown on the Methods page


def page_fingerprints(book: Book) -> dict[str, str]:
    """A hash of exactly what each chapter page shows, so a data change re-executes only those pages."""
    layout, data = book.layout, book.data
    out = {}
    for slug in data.chapters():
        ids = sorted(p.id for p in data.predictions.values() if p.chapter == slug)
        files = [layout.evidence_file(slug), layout.predictions_file(slug), layout.scenarios_file(slug), layout.crowd]
        out[f"book/{slug}.md"] = digest({
            "records": [book.records[i].to_json() for i in ids], "snapshots": [book.snapshot(i) for i in ids],
            "ledger": [r for r in book.ledger_rows if r["prediction"] in ids],
            "versions": [digest(book.notes.get((book.snapshot(i) or {}).get("snapshot", ""))) for i in ids],
            "files": [f.read_bytes().hex() if f.exists() else None for f in files], "base": book.base_url,
            "code": page_code_digest()})
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


def invalidate_changed_pages(layout: Layout, fingerprints: dict[str, str]) -> list[str]:
    """Drop the jupyter-cache records of pages whose content changed, and touch them so Sphinx re-reads
    them. Every other page keeps its cached outputs. Returns the pages invalidated."""
    from jupyter_cache import get_cache

    store = layout.page_fingerprints
    old = json.loads(store.read_text()) if store.exists() else {}
    changed = sorted(page for page, value in fingerprints.items()
                     if old.get(page) != value and (layout.repo / page).exists())
    if changed and layout.jupyter_cache.exists():
        _drop_cached_outputs(get_cache(str(layout.jupyter_cache)), [layout.repo / page for page in changed])
    for page in changed:
        os.utime(layout.repo / page, None)
    atomic_write_bytes(store, json.dumps(fingerprints, indent=1, sort_keys=True).encode())
    return changed


def write_vega_bundle(layout: Layout) -> None:
    if not layout.vega_bundle.exists():
        import vl_convert as vlc

        # Wrapped in a function so its top-level names cannot clash with the theme's scripts.
        atomic_write_bytes(layout.vega_bundle, ("(function(){\n" + vlc.javascript_bundle() + "\n})();\n").encode())


def limits_html() -> str:
    from analysis.files.storage import MAX_BYTES, MiB

    sizes = ", ".join(f"{suffix} files {limit // MiB} MiB" for suffix, limit in MAX_BYTES.items() if suffix != ".yml")
    return (f"<ul class='limits'><li>Size: at most {sizes} per file; anything larger is refused at the line where the "
            f"limit is crossed.</li><li>YAML: plain values only (no anchors, aliases or merge keys), nested at most "
            f"{MAX_DEPTH} levels.</li><li>Every data file must be a regular file inside <code>data/</code>: a symbolic "
            "link, FIFO or device is refused before it is opened, and nothing it points to is read or quoted.</li>"
            "<li>Error messages quote at most 60 characters of your text, escaped.</li></ul>")


def fragments(book: Book, backtest: dict | None) -> dict[str, str]:
    """The HTML each kernel-free page includes, by file name."""
    from analysis.forecast.checks import predictive_checks

    out = {"front.html": book.front_page(), "freshness.html": book.freshness(), "dashboard.html": book.dashboard(),
           "changelog.html": book.changelog(),
           "coverage-columns.html": html.columns_table(COVERAGE_COLUMNS),
           "model-log.html": html.model_log_table(book.data.model_log),
           "correction-columns.html": html.columns_table(CORRECTION_COLUMNS),
           "families.html": html.families_table(), "evidence-columns.html": html.columns_table(EVIDENCE_COLUMNS),
           "resolution-columns.html": html.columns_table(RESOLUTION_COLUMNS), "limits.html": limits_html()}
    out["checks.html"] = html.checks_table(_cached_checks(book, predictive_checks))
    out.update(scorecard_fragments(book, backtest))
    return out


def _cached_checks(book: Book, predictive_checks) -> dict:
    """The predictive checks, recomputed only when a checked forecast changed: they compile and sample PyMC
    models, which would otherwise dominate a rebuild after one unrelated evidence row."""
    checked = [pid for pid in CHECKED if pid in book.data.predictions]
    key = digest({"as_of": book.current.as_of, "records": [book.records[pid].key for pid in checked]})
    store = book.layout.generated / "checks.json"
    try:
        cached = json.loads(store.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return cached["checks"]
    except (OSError, ValueError, AttributeError):
        pass  # missing or corrupt: recompute
    checks = predictive_checks(book.data, dt.date.fromisoformat(book.current.as_of), checked)
    atomic_write_bytes(store, json.dumps({"key": key, "checks": checks}, sort_keys=True).encode())
    return checks


PERIODS = {"before": "closed before 2025-01-01", "after": "opened on or after 2025-01-01",
           "straddling": "spanning 2025-01-01"}


def scorecard_fragments(book: Book, backtest: dict | None) -> dict[str, str]:
    board = book.scoreboard
    hindsight = html.score_table(board) if len(board) else "<p>No question written with hindsight is scored.</p>"
    if not backtest or not backtest.get("scores"):
        empty = "<p>The backtest has not run: <code>forecast backtest</code>.</p>"
        return {k: empty for k in ("score-headline.html", "score-baselines.html", "score-charts.html",
                                   "score-templates.html", "score-chapters.html", "rosters.html")} | \
            {"score-hindsight.html": hindsight}
    scores = backtest["scores"]
    rules = {t["id"]: t["rule"] for t in backtest["templates"]}
    calibration = charts.embed_html(charts.calibration_chart(scores["reliability"], "Calibration: all instances"),
                                    "chart-calibration")
    discrimination = charts.embed_html(charts.discrimination_chart(scores["discrimination"]["yes"],
                                                                   scores["discrimination"]["no"]), "chart-discrimination")
    by_chapter = "".join(charts.embed_html(charts.calibration_chart(bins, f"Calibration: {book.chapter_title(c)}", 220),
                                           f"chart-calibration-{c}")
                         for c, bins in scores["reliability_by_chapter"].items()
                         if scores["by_chapter"][c]["n"] >= 20)
    frozen = book.data.frozen
    latest_end = max((t["windows"][-1][1] for t in backtest["templates"] if t["id"] in frozen), default="")
    opened_after = sum(1 for t in backtest["templates"] if t["id"] in frozen
                       for w in t["windows"] if w[0] > frozen[t["id"]])
    freeze = (f'<p class="template-freeze">{len(frozen)} of {len(backtest["templates"])} templates are frozen (their '
              f'hashes and dates are in <code>data/template_freeze.csv</code>; a changed rule needs a new id). '
              f'Prospective questions, windows that open after their template was frozen: {opened_after} open. '
              + ("" if opened_after else f"Every frozen template's windows end by {latest_end}, so the prospective "
                 "record starts only when templates with later windows are added and frozen.") + "</p>")
    return {"score-headline.html": html.backtest_headline(scores) + freeze,
            "score-baselines.html": html.baselines_table(scores),
            "score-charts.html": calibration + discrimination + f'<div class="calibration-by-chapter">{by_chapter}</div>',
            "score-templates.html": html.groups_table(scores["by_template"], "template", rules)
            + html.groups_table({f"{k} days before": v for k, v in scores["by_lead"].items()}, "lead")
            + html.groups_table({PERIODS.get(k, k): v for k, v in (scores.get("by_period") or {}).items()}, "windows"),
            "score-chapters.html": html.groups_table(scores["by_chapter"], "chapter"),
            "rosters.html": html.rosters_table(backtest["rosters"]), "score-hindsight.html": hindsight}


def prepare(data_root: Path) -> dict:
    """Everything a build needs besides executing the chapter pages."""
    from analysis.commands import backtest as backtest_command
    from analysis.commands.export import csv_text, export_payload, flat

    book = Book(data_root)
    layout = book.layout
    site.write_if_changed(layout.references, citations.evidence_bibtex(book.data.evidence).encode("utf-8"))
    write_vega_bundle(layout)
    backtest = backtest_command.read(data_root)
    written = sum(site.write_if_changed(layout.fragments / name, text.encode("utf-8"))
                  for name, text in fragments(book, backtest).items())
    payload = export_payload(book.current, backtest)
    counts = site.write_site(book, json.dumps(payload, indent=2, sort_keys=True) + "\n",
                             csv_text([flat(p) for p in payload["predictions"]]))
    changed = invalidate_changed_pages(layout, page_fingerprints(book))
    return {"changed_pages": changed, "evidence_rows": int(len(book.data.evidence)), "fragments": written, **counts}


def figure(data_root: Path, prediction_id: str, out: Path, fmt: str) -> None:
    """``forecast figure``: the history chart as a static PNG or SVG."""
    from analysis.data.dataset import load_valid
    from analysis.forecast.current import require_current

    data = load_valid(data_root)
    current = require_current(data_root)
    if prediction_id not in current.records:
        raise KeyError(prediction_id)
    charts.save_figure(charts.history_chart(current.records[prediction_id], data.rows_for(prediction_id)), out, fmt)
