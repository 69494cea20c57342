"""Build steps for ``make book`` (``forecast prepare-book``): the bibliography, the offline Vega bundle,
and invalidating exactly the pages whose displayed content changed, so jupyter-cache (which keys only
on code cells) never serves a stale page."""

from __future__ import annotations

import json
import os
from pathlib import Path

from analysis.book import charts, citations
from analysis.contract.layout import Layout
from analysis.contract.provenance import digest
from analysis.data.dataset import Dataset, load_valid
from analysis.files.storage import atomic_write_bytes
from analysis.forecast.current import Current, require_current
from analysis.stores import ledger, updates

SUMMARY_PAGES = ("book/dashboard.md", "book/changelog.md", "book/scorecard.md")


def page_fingerprints(data: Dataset, current: Current) -> dict[str, str]:
    """A hash of exactly what each page shows, so a data change re-executes only those pages."""
    layout = data.layout
    records = {pid: r.to_json() for pid, r in current.records.items()}
    ledger_rows = ledger.read_ledger(data.root)
    notes = updates.read_notes(data.root)
    out = {}
    for slug in data.chapters():
        ids = sorted(p.id for p in data.predictions.values() if p.chapter == slug)
        files = [layout.evidence_file(slug), layout.predictions_file(slug), layout.scenarios_file(slug)]
        out[f"book/{slug}.md"] = digest({
            "records": [records.get(i) for i in ids], "snapshots": [current.snapshots.get(i) for i in ids],
            "ledger": [r for r in ledger_rows if r["prediction"] in ids],
            "files": [f.read_bytes().hex() if f.exists() else None for f in files]})
    everything = digest({"records": records, "ledger": ledger_rows, "notes": notes})
    for page in SUMMARY_PAGES:
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


def prepare(data_root: Path) -> dict:
    """Everything a build needs besides the pages: bibliography, Vega bundle, cache invalidation."""
    data = load_valid(data_root)
    layout = data.layout
    current = require_current(data_root)
    atomic_write_bytes(layout.references, citations.evidence_bibtex(data.evidence).encode("utf-8"))
    write_vega_bundle(layout)
    changed = invalidate_changed_pages(layout, page_fingerprints(data, current))
    return {"changed_pages": changed, "evidence_rows": int(len(data.evidence))}


def figure(data_root: Path, prediction_id: str, out: Path, fmt: str) -> None:
    """``forecast figure``: the history chart as a static PNG or SVG."""
    data = load_valid(data_root)
    current = require_current(data_root)
    if prediction_id not in current.records:
        raise KeyError(prediction_id)
    charts.save_figure(charts.history_chart(current.records[prediction_id], data.rows_for(prediction_id)), out, fmt)
