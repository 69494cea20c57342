"""The update pipeline: convergence gate, determinism, compile-once reuse, cache, ledger, no leakage."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from analysis.data import dataset as ds
from analysis import engine, ledger
from analysis.families import base, logistic_trend
from analysis.models.protocol import SamplerSettings
from conftest import snapshot

ILL_POSED = """
- id: TST-9
  chapter: sample
  question: Will an ill-posed model be refused?
  resolution_criteria: YES never; this prediction exists to break the sampler.
  resolution_source: the fixture
  published: 2026-11-29
  resolves_by: 2027-12-31
  retrospective: false
  tags: [test]
  version: 1
  model:
    family: survival
    prior: {alpha: 0.001, beta: 0.001, shape_mu: 0.0, shape_sigma: 5.0, justification: "Deliberately improper-ish."}
    settings: {form: weibull, start_event: start, event: absorbed, count_from: 2026-12-01, min_events: 1}
"""


def test_unconverged_model_fails_update_and_writes_nothing(run_cli, data_dir):
    with open(data_dir / "predictions" / "sample.yaml", "a", encoding="utf-8") as handle:
        handle.write(ILL_POSED)
    evidence = data_dir / "evidence" / "sample.csv"
    text = evidence.read_text(encoding="utf-8").replace("TST-E004,TST-3,", "TST-E004,TST-3;TST-9,")
    evidence.write_text(text.replace("TST-E005,TST-3,", "TST-E005,TST-3;TST-9,"), encoding="utf-8")
    before = snapshot(data_dir)
    result = run_cli("update", "--data", str(data_dir), "--no-cache")
    assert result.code == 1
    assert "TST-9" in result.err and "did not converge" in result.err and "Traceback" not in result.err
    assert snapshot(data_dir) == before
    assert not engine.current_path(data_dir).exists()


def test_update_is_deterministic_and_cached(data_dir):
    from analysis.commands.update import run_update

    first = run_update(data_dir, use_cache=False, progress=False)
    second = run_update(data_dir, use_cache=False, progress=False)
    strip = lambda r: {p["id"]: (p["probability"], p["quantity"], p["history"]) for p in r["records"]}  # noqa: E731
    assert strip(first) == strip(second)
    assert len(first["new_ledger_rows"]) == 5 and second["new_ledger_rows"] == []

    data = ds.load_valid(data_dir)
    cache = engine.FitCache(engine.cache_dir(data_dir))
    p = data.predictions["TST-5"]
    engine.forecast_prediction(p, data, sampler=SamplerSettings(), cache=cache)
    warm = engine.FitCache(engine.cache_dir(data_dir))
    again = engine.forecast_prediction(p, data, sampler=SamplerSettings(), cache=warm)
    assert warm.misses == 0 and warm.hits > 0
    assert again["probability"] == first["records"][[r["id"] for r in first["records"]].index("TST-5")]["probability"]


def test_reused_compiled_model_matches_fresh_compile():
    inputs = {"t": [-1.0, -0.5, 0.0, 0.5], "y": [0.5] * 4, "k": [30.0, 38.0, 52.0, 61.0], "n": [100.0] * 4,
              "observation": "binomial", "horizon": 1.5, "threshold": 0.6, "direction": "above"}
    prior = {"intercept_mu": 0.0, "intercept_sigma": 1.0, "slope_mu": 0.0, "slope_sigma": 1.0}
    other = dict(inputs, k=[10.0, 20.0, 30.0, 40.0])
    sampler = SamplerSettings()
    logistic_trend.fit(other, prior, seed=3, sampler=sampler, label="warm-up")  # compiled and used once
    reused = logistic_trend.fit(inputs, prior, seed=3, sampler=sampler, label="reused")
    count = base.COMPILE_COUNT["n"]
    base.clear_compiled()
    fresh = logistic_trend.fit(inputs, prior, seed=3, sampler=sampler, label="fresh")
    assert base.COMPILE_COUNT["n"] == count + 1
    assert reused.probability == pytest.approx(fresh.probability, abs=1e-12)
    assert reused.quantity == fresh.quantity


def test_ledger_is_append_only_and_snapshots_are_unique(run_cli, data_dir):
    from analysis.commands.update import run_update

    run_update(data_dir, progress=False)
    path = ledger.ledger_path(data_dir)
    old = path.read_bytes()
    result = run_cli("add-evidence", "TST-2", "--observed-on", "2026-11-20", "--summary", "A later case.",
                     "--publisher", "Fixture Press", "--title", "Later", "--source-date", "2026-11-20",
                     "--event", "case", "--logged-on", "2026-11-29", "--data", str(data_dir))
    assert result.code == 0, result.err
    run_update(data_dir, progress=False, now=dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc))
    new = path.read_bytes()
    assert new.startswith(old) and len(new) > len(old)
    rows = ledger.read_ledger(data_dir)
    assert len({r["snapshot"] for r in rows}) == len(rows)
    assert ledger.resolve_snapshot(data_dir, "TST-2@2026-11-29")["prediction"] == "TST-2"


def test_later_evidence_never_changes_an_earlier_as_of_forecast(run_cli, data_dir):
    data = ds.load_valid(data_dir)
    sampler = SamplerSettings()
    cache = engine.FitCache(None)
    before = engine.history(data.predictions["TST-2"], data, dt.date(2026, 11, 1), sampler=sampler, cache=cache)
    run_cli("add-evidence", "TST-2", "--observed-on", "2026-06-01", "--summary", "Mid-2026 case.",
            "--publisher", "Fixture Press", "--title", "Mid", "--source-date", "2026-06-01", "--event", "case",
            "--data", str(data_dir))
    data = ds.load_valid(data_dir)
    after = engine.history(data.predictions["TST-2"], data, dt.date(2026, 11, 1), sampler=sampler, cache=cache)
    earlier = [h for h in before if h["as_of"] < "2026-06-01"]
    assert earlier and after[: len(earlier)] == earlier
    assert len(after) == len(before) + 1


def test_export_json_shape_and_csv_neutralises_formulas(run_cli, data_dir):
    from analysis.commands.update import run_update

    run_update(data_dir, progress=False)
    out = json.loads(run_cli("export", "--data", str(data_dir)).out)
    assert set(out) == {"generated_at", "evidence_sha256", "predictions"}
    item = out["predictions"][0]
    for key in ("id", "chapter", "question", "resolves_by", "retrospective", "status", "probability",
                "probability_mcse", "quantity", "as_of", "evidence_count", "model", "diagnostics", "sensitivity"):
        assert key in item
    assert set(item["quantity"]) == {"name", "median", "lo90", "hi90"}
    assert set(item["sensitivity"]) == {"weaker", "stated", "stronger"}
    from analysis.commands.export import neutralise

    assert neutralise("=HYPERLINK(\"x\")").startswith("'=") and neutralise("-1+2").startswith("'")
    assert neutralise("plain") == "plain"


def test_trend_extrapolation_widens_with_drift():
    """Beyond the last observation the logit drifts: a far deadline gets a wider, less extreme forecast."""
    inputs = {"t": [-1.0, -0.5, 0.0], "y": [0.5] * 3, "k": [80.0, 70.0, 60.0], "n": [100.0] * 3,
              "observation": "binomial", "horizon": 3.0, "threshold": 0.5, "direction": "below"}
    prior = {"intercept_mu": 0.0, "intercept_sigma": 1.0, "slope_mu": 0.0, "slope_sigma": 1.0}
    straight = logistic_trend.fit(dict(inputs, drift_sd=0.0), prior, seed=5, sampler=SamplerSettings(), label="a")
    drifting = logistic_trend.fit(dict(inputs, drift_sd=0.5), prior, seed=5, sampler=SamplerSettings(), label="b")
    width = lambda r: r.quantity.hi90 - r.quantity.lo90  # noqa: E731
    assert width(drifting) > width(straight) * 1.1
    assert 0.5 < drifting.probability < straight.probability
