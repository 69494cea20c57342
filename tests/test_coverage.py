"""The coverage record: rate models stop their clocks at the reviewed-through date; a row newer than the
review counts toward the question's tally but not toward the rate; a review moves the forecast; the card
and ``update`` say when the record is behind."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from scipy import stats

from analysis.book import html
from analysis.contract.layout import Layout
from conftest import snapshot

DAYS = 365.25
NEW_CASE = ["--observed-on", "2026-12-10", "--first-public", "2026-12-10", "--source-date", "2026-12-10",
            "--summary", "A case was filed after the last review.", "--publisher", "Fixture Press", "--title",
            "A December case", "--source-kind", "primary", "--stance", "for", "--event", "case"]


def years(a: str, b: str) -> float:
    return (dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days / DAYS


def tst2_probability(events: int, end: str, need: int) -> float:
    """TST-2 by hand: Gamma(2, 1) prior on cases a year, exposure from 2023-01-01 to ``end``, the future from
    max(end, 2026-12-01) to 2027-12-31, and P(at least ``need`` more) from the negative binomial."""
    a, b = 2 + events, 1 + years("2023-01-01", end)
    horizon = years(max(end, "2026-12-01"), "2027-12-31")
    return float(stats.nbinom.sf(need - 1, a, b / (b + horizon)))


def current(data_dir) -> dict:
    payload = json.loads(Layout.of(data_dir).current.read_text())
    return {p["id"]: p for p in payload["predictions"]}


def test_a_row_after_the_review_counts_as_an_event_but_not_toward_the_rate(run_cli, data_dir, monkeypatch):
    monkeypatch.setenv("FORECAST_TODAY", "2026-12-20")
    assert run_cli("add-evidence", "TST-2", *NEW_CASE, "--data", str(data_dir)).code == 0
    updated = run_cli("update", "--as-of", "2026-12-20", "--data", str(data_dir))
    assert updated.code == 0, updated.err
    record = current(data_dir)["TST-2"]
    # Reviewed through 2026-11-29: two cases over that exposure, and the December case already counts toward
    # the question (one more is needed), with the future starting at the review date.
    assert record["probability"] == pytest.approx(tst2_probability(2, "2026-11-29", need=1), abs=1e-9)
    assert record["reviewed_through"] == "2026-11-29" and record["unreviewed"] == ["TST-E010"]
    assert "warning: sample" in updated.err and "TST-E010" in updated.err
    from analysis.forecast.record import Forecast

    card_text = html.review_text(Forecast.from_json(record))
    assert "Record reviewed through 2026-11-29 (21 days before the as-of date)" in card_text
    assert "TST-E010" in card_text and "not toward the rate" in card_text

    reviewed = run_cli("review", "sample", "--through", "2026-12-20", "--searched", "Fixture Press, all of December",
                       "--data", str(data_dir))
    assert reviewed.code == 0, reviewed.err
    assert "1 new row(s): TST-E010" in reviewed.out  # what it found, from the rows logged since the last review
    again = run_cli("update", "--as-of", "2026-12-20", "--data", str(data_dir))
    assert again.code == 0 and "warning" not in again.err
    after = current(data_dir)["TST-2"]
    assert after["probability"] == pytest.approx(tst2_probability(3, "2026-12-20", need=1), abs=1e-9)
    assert after["probability"] != pytest.approx(record["probability"], abs=1e-4)  # the review moved it
    assert after["unreviewed"] == [] and after["reviewed_through"] == "2026-12-20"
    notes = Layout.of(data_dir).snapshot_notes.read_text()
    assert "TST-2@2026-12-20r2" in notes or notes.count("TST-2@2026-12-20") == 2  # the review earned a snapshot


def test_time_without_a_review_is_not_evidence(run_cli, data_dir, monkeypatch):
    """Past the reviewed-through date, the clock of every time-reading model stops: a week later with no
    review, nothing moves (and the week costs no snapshot)."""
    monkeypatch.setenv("FORECAST_TODAY", "2026-12-31")
    assert run_cli("update", "--as-of", "2026-12-20", "--data", str(data_dir)).code == 0
    first = current(data_dir)
    later = run_cli("update", "--as-of", "2026-12-27", "--data", str(data_dir))
    assert later.code == 0
    second = current(data_dir)
    for pid in ("TST-1", "TST-2", "TST-3", "TST-4"):
        assert second[pid]["probability"] == pytest.approx(first[pid]["probability"], abs=1e-12), pid
    assert "0 new ledger rows" in later.out
    # The control: a review to the later date makes time count again, and the event questions move.
    assert run_cli("review", "sample", "--through", "2026-12-27", "--searched", "x", "--found", "nothing new",
                   "--data", str(data_dir)).code == 0
    assert run_cli("update", "--as-of", "2026-12-27", "--data", str(data_dir)).code == 0
    third = current(data_dir)
    assert third["TST-2"]["probability"] < first["TST-2"]["probability"]
    assert third["TST-4"]["probability"] < first["TST-4"]["probability"]


def test_update_warns_when_a_chapter_is_stale(run_cli, data_dir, monkeypatch):
    monkeypatch.setenv("FORECAST_TODAY", "2027-01-15")
    result = run_cli("update", "--as-of", "2027-01-15", "--data", str(data_dir))
    assert result.code == 0
    assert "warning: sample: the record was reviewed through 2026-11-29, 47 days before 2027-01-15" in result.err
    fresh = run_cli("update", "--as-of", "2026-12-29", "--data", str(data_dir))
    assert "reviewed through" not in fresh.err  # 30 days: not yet stale


def test_a_time_reading_model_without_any_review_is_refused(run_cli, data_dir):
    Layout.of(data_dir).coverage.unlink()
    result = run_cli("validate", "--data", str(data_dir))
    assert result.code == 1
    assert "sample.yaml:2: chapter 'sample' has no coverage row" in result.err
    assert "forecast review sample --through DATE" in result.err


@pytest.mark.parametrize("row, message", [
    ("nowhere,2026-11-01,x,nothing new,2026-11-02", "stream 'nowhere' is not a chapter"),
    ("sample,2026-11-20,x,nothing new,2026-11-10", "reviewed_through 2026-11-20 is after reviewed_on 2026-11-10"),
    ("sample,2026-11-20,x,nothing new,2027-01-01", "reviewed_on 2027-01-01 is after today"),
    ("sample,2026-02-30,x,nothing new,2026-11-10", "reviewed_through '2026-02-30' is not a valid date"),
    ("sample,2026-11-20,,nothing new,2026-11-21", "searched is empty"),
])
def test_bad_coverage_rows_are_reported_at_their_line(run_cli, data_dir, row, message):
    path = Layout.of(data_dir).coverage
    path.write_text(path.read_text() + row + "\n")
    result = run_cli("validate", "--data", str(data_dir))
    assert result.code == 1 and f"coverage.csv:3: {message}" in result.err, result.err
    assert "Traceback" not in result.err


def test_review_refuses_bad_input_and_writes_nothing(run_cli, data_dir):
    before = snapshot(data_dir)
    for args in (["nowhere", "--through", "2026-11-29"], ["sample", "--through", "2026-13-01"],
                 ["sample", "--through", "2026-11-29", "--on", "2026-11-01"]):
        result = run_cli("review", *args, "--searched", "x", "--data", str(data_dir))
        assert result.code == 1 and "Traceback" not in result.err, result.err
    assert snapshot(data_dir) == before
