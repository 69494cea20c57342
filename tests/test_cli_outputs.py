"""resolve, cite, figure and export: the commands analysts use to close, cite and reuse forecasts."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from analysis.stores import ledger
from conftest import snapshot


AS_OF = dt.date(2026, 11, 29)


@pytest.fixture
def updated(data_dir):
    from analysis.commands.update import run_update

    run_update(data_dir, as_of=AS_OF, progress=False)
    return data_dir


def test_resolve_records_outcome_freezes_forecast_and_scores_it(run_cli, updated, monkeypatch):
    monkeypatch.setenv("FORECAST_TODAY", "2026-12-10")
    result = run_cli("resolve", "TST-4", "--outcome", "yes", "--on", "2026-12-05", "--source", "Fixture Press",
                     "--title", "It happened", "--url", "https://example.org/outcome", "--data", str(updated))
    assert result.code == 0, result.err
    assert b"TST-4,yes,2026-12-05,Fixture Press,It happened" in (updated / "resolutions.csv").read_bytes()
    from analysis.commands.update import run_update

    later = dt.date(2026, 12, 8)
    result = run_update(updated, as_of=later, progress=False)
    assert [n["cause"] for n in result.notes if n["snapshot"].startswith("TST-4@")] == ["resolution"]
    out = {p["id"]: p for p in json.loads(run_cli("export", "--data", str(updated)).out)["predictions"]}
    assert out["TST-4"]["status"] == "resolved" and out["TST-4"]["resolution"]["outcome"] == "yes"
    assert out["TST-4"]["as_of"] == "2026-12-04"  # the forecast stops the day before the outcome
    assert out["TST-4"]["brier"] == pytest.approx((1 - out["TST-4"]["probability"]) ** 2)
    assert out["TST-1"]["brier"] is None and out["TST-1"]["snapshot"].startswith("TST-1@2026-1")
    # a later row cannot change a resolved prediction's forecast, so no new ledger row for it
    rows_before = [r for r in ledger.read_ledger(updated) if r["prediction"] == "TST-4"]
    run_cli("add-evidence", "TST-4", "--observed-on", "2026-12-06", "--summary", "After the outcome.", "--publisher",
            "P", "--title", "T", "--source-date", "2026-12-06", "--source-kind", "primary", "--stance", "for",
            "--lr", "5", "--reason", "late", "--data", str(updated))
    run_update(updated, as_of=later, progress=False)
    assert [r for r in ledger.read_ledger(updated) if r["prediction"] == "TST-4"] == rows_before


@pytest.mark.parametrize("args, needle", [
    (["TST-99", "--outcome", "yes"], "unknown prediction id 'TST-99'"),
    (["TST-4", "--outcome", "maybe"], "is not an outcome"),
    (["TST-4", "--outcome", "no", "--url", "javascript:x"], "not an http(s) URL"),
])
def test_resolve_rejects_bad_input(run_cli, data_dir, args, needle):
    before = snapshot(data_dir)
    result = run_cli("resolve", *args, "--on", "2026-11-20", "--source", "S", "--title", "T", "--data", str(data_dir))
    assert result.code == 1 and needle in result.err and "Traceback" not in result.err
    assert snapshot(data_dir) == before


def test_cite_is_pinned_to_a_snapshot_in_every_format(run_cli, updated):
    row = ledger.resolve_snapshot(updated, "TST-2@2026-11-29")
    p = f"{float(row['probability']):.2f}"
    md = run_cli("cite", "TST-2", "--format", "markdown", "--data", str(updated))
    assert md.code == 0 and f"TST-2 (P = {p} as of 2026-11-29)" in md.out and "snapshot TST-2@2026-11-29" in md.out
    assert "question version 1" in md.out and "snapshots/TST-2@2026-11-29.html" in md.out
    bib = run_cli("cite", "TST-2", "--format", "bibtex", "--data", str(updated)).out
    assert bib.startswith("@misc{tst-2-2026-11-29,") and "url = {snapshots/TST-2@2026-11-29.html}" in bib
    csl = json.loads(run_cli("cite", "TST-2", "--format", "csl-json", "--data", str(updated)).out)
    assert csl[0]["id"] == "TST-2@2026-11-29" and csl[0]["issued"]["date-parts"] == [[2026, 11, 29]]
    assert csl[0]["title"].startswith(f"TST-2 (P = {p} as of 2026-11-29): ")
    early = run_cli("cite", "TST-2", "--as-of", "2026-10-01", "--data", str(updated))
    assert early.code == 1 and "2026-10-01 is before the first snapshot of TST-2" in early.err


def test_figure_writes_png_and_svg(run_cli, updated, tmp_path):
    png, svg = tmp_path / "f.png", tmp_path / "f.svg"
    assert run_cli("figure", "TST-3", "--format", "png", "--out", str(png), "--data", str(updated)).code == 0
    assert run_cli("figure", "TST-3", "--format", "svg", "--out", str(svg), "--data", str(updated)).code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000
    assert "<svg" in svg.read_text() and "TST-3: forecast history" in svg.read_text()


def test_export_csv_has_the_same_predictions(run_cli, updated):
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(run_cli("export", "--format", "csv", "--data", str(updated)).out)))
    assert [r["id"] for r in rows] == [f"TST-{i}" for i in range(1, 6)]
    assert all(r["snapshot"].startswith(r["id"] + "@") for r in rows)


def test_movers_lists_moves_with_the_evidence_behind_them(run_cli, updated):
    run_cli("add-evidence", "TST-4", "--observed-on", "2026-11-10", "--summary", "Strong signpost.", "--publisher",
            "P", "--title", "T", "--source-date", "2026-11-10", "--source-kind", "primary", "--stance", "for",
            "--lr", "6", "--reason", "diagnostic", "--logged-on", "2026-11-29", "--data", str(updated))
    result = run_cli("update", "--as-of", "2026-11-29", "--data", str(updated), "--movers", "0.05")
    assert result.code == 0, result.err
    assert "TST-4:" in result.out and "evidence: TST-E010" in result.out
    assert "TST-1:" not in result.out


def test_preview_shows_the_move_writes_nothing_and_matches_update(run_cli, updated):
    from conftest import snapshot

    before = snapshot(updated)
    args = ["TST-4", "--observed-on", "2026-11-10", "--summary", "A signpost.", "--publisher", "P", "--title", "T",
            "--source-date", "2026-11-10", "--source-kind", "primary", "--stance", "for", "--lr", "3",
            "--reason", "diagnostic", "--logged-on", "2026-11-29", "--data", str(updated)]
    preview = run_cli("add-evidence", *args, "--preview", "--as-of", "2026-11-29")
    assert preview.code == 0, preview.err
    assert snapshot(updated) == before and "nothing was written" in preview.out
    line = next(l for l in preview.out.splitlines() if l.startswith("TST-4:"))
    after = float(line.split("->")[1].split()[0])
    assert float(line.split(":")[1].split("->")[0]) < after
    assert run_cli("add-evidence", *args).code == 0
    from analysis.commands.update import run_update

    published = run_update(updated, as_of=AS_OF, progress=False).records["TST-4"].probability
    assert f"{published:.3f}" == f"{after:.3f}"
