"""The update pipeline: convergence gate, determinism, caches, compile-once reuse, the quiet ledger,
explicit as-of dates, the coherence gate and the --check that CI runs."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from analysis.commands.update import run_update
from analysis.contract.layout import Layout
from analysis.data import dataset as ds
from analysis.forecast import engine
from analysis.models import base
from analysis.models.protocol import SamplerSettings
from analysis.stores import ledger, updates
from conftest import snapshot

AS_OF = dt.date(2026, 11, 29)
ROW = ["--observed-on", "2026-11-20", "--summary", "A later case.", "--publisher", "Fixture Press", "--title", "Later",
       "--source-date", "2026-11-20", "--source-kind", "primary", "--event", "case", "--stance", "for"]


def export(run_cli, data_dir) -> dict:
    return {p["id"]: json.dumps(p, sort_keys=True)
            for p in json.loads(run_cli("export", "--data", str(data_dir)).out)["predictions"]}


def test_unconverged_model_fails_update_and_writes_nothing(data_dir):
    before = snapshot(data_dir)
    with pytest.raises(Exception, match="TST-3.*did not converge"):
        run_update(data_dir, as_of=AS_OF, sampler=SamplerSettings(chains=2, draws=25, tune=10), use_cache=False,
                   progress=False)
    assert snapshot(data_dir) == before
    assert not Layout.of(data_dir).current.exists()


def test_update_is_deterministic_and_cached(data_dir):
    first = run_update(data_dir, as_of=AS_OF, use_cache=False, progress=False)
    second = run_update(data_dir, as_of=AS_OF, use_cache=False, progress=False, force=True)
    assert {k: r.to_json() for k, r in first.records.items()} == {k: r.to_json() for k, r in second.records.items()}
    assert len(first.written) == 5 and second.written == ()
    data = ds.load_valid(data_dir)
    cold = engine.FitCache(Layout.of(data_dir).fit_cache)
    engine.forecast_prediction(data.predictions["TST-3"], data, AS_OF, sampler=SamplerSettings(), cache=cold)
    warm = engine.FitCache(Layout.of(data_dir).fit_cache)
    again = engine.forecast_prediction(data.predictions["TST-3"], data, AS_OF, sampler=SamplerSettings(), cache=warm)
    assert warm.misses == 0 and warm.hits > 0
    assert again.to_json() == first.records["TST-3"].to_json()


def test_reused_compiled_model_matches_fresh_compile():
    from test_recovery import SURVIVAL_PRIOR, simulate_frailty

    from analysis.models import survival

    cohort, _ = simulate_frailty(np.random.default_rng(11), SURVIVAL_PRIOR)
    sampler = SamplerSettings()
    survival.sample({**cohort, "events": [e + 1 for e in cohort["events"]]}, SURVIVAL_PRIOR, sampler=sampler,
                    label="warm-up")  # compiled and used once
    survival._DRAWS.clear()
    reused, _ = survival.sample(cohort, SURVIVAL_PRIOR, sampler=sampler, label="reused")
    count = base.COMPILE_COUNT["n"]
    base.clear_compiled()
    survival._DRAWS.clear()
    fresh, _ = survival.sample(cohort, SURVIVAL_PRIOR, sampler=sampler, label="fresh")
    assert base.COMPILE_COUNT["n"] == count + 1
    for name in ("rate", "theta"):
        assert np.array_equal(reused[name], fresh[name])


def test_ledger_is_append_only_and_snapshots_are_unique(run_cli, data_dir):
    run_update(data_dir, as_of=AS_OF, progress=False)
    path = Layout.of(data_dir).ledger
    old = path.read_bytes()
    assert run_cli("add-evidence", "TST-2", *ROW, "--data", str(data_dir)).code == 0
    run_update(data_dir, as_of=AS_OF, progress=False)
    new = path.read_bytes()
    assert new.startswith(old) and len(new) > len(old)
    rows = ledger.read_ledger(data_dir)
    assert len({r["snapshot"] for r in rows}) == len(rows)
    assert ledger.resolve_snapshot(data_dir, "TST-2@2026-11-29r2")["prediction"] == "TST-2"


def test_one_row_moves_only_the_forecast_it_informs(run_cli, data_dir):
    """Same --as-of: one row for TST-2 adds ledger rows for TST-2 alone; every other export is byte-identical."""
    run_update(data_dir, as_of=AS_OF, progress=False)
    before = export(run_cli, data_dir)
    assert run_cli("add-evidence", "TST-2", *ROW, "--data", str(data_dir)).code == 0
    result = run_update(data_dir, as_of=AS_OF, progress=False)
    assert [r["prediction"] for r in result.written] == ["TST-2"]
    assert result.refit == ("TST-2",)
    assert [n["cause"] for n in result.notes] == ["evidence"]
    after = export(run_cli, data_dir)
    assert {k for k in before if before[k] != after[k]} == {"TST-2"}


def test_time_alone_earns_a_snapshot_only_when_it_moves_the_forecast(data_dir, monkeypatch):
    run_update(data_dir, as_of=AS_OF, progress=False)
    later = AS_OF + dt.timedelta(days=7)
    monkeypatch.setenv("FORECAST_TODAY", later.isoformat())
    with open(Layout.of(data_dir).coverage, "a", encoding="utf-8") as handle:  # the week was searched: nothing new
        handle.write(f"sample,{later},Fixture Press,nothing new,{later}\n")
    week = run_update(data_dir, as_of=later, progress=False)
    moved = {pid for pid, r in week.records.items()
             if abs(r.probability - float(ledger.latest_by_prediction(ledger.read_ledger(data_dir))[pid]["probability"]))
             > 0}
    assert {r["prediction"] for r in week.written} <= moved
    notes = updates.read_notes(data_dir)
    for row in week.written:
        assert notes[row["snapshot"]]["cause"] == "time"
    first = {r.id: r for r in run_update(data_dir, as_of=AS_OF, progress=False, force=True).records.values()}
    for pid, record in week.records.items():
        if pid not in {r["prediction"] for r in week.written}:
            assert abs(record.probability - first[pid].probability) < 0.005
    assert week.records["TST-5"].probability == first["TST-5"].probability  # a trend does not move with time


def test_later_evidence_never_changes_an_earlier_as_of_forecast(run_cli, data_dir):
    data = ds.load_valid(data_dir)
    cache = engine.FitCache(None)
    before = engine.history(data.predictions["TST-2"], data, None, dt.date(2026, 11, 1), sampler=SamplerSettings(),
                            cache=cache)
    run_cli("add-evidence", "TST-2", *[a if a != "2026-11-20" else "2026-06-01" for a in ROW], "--data", str(data_dir))
    data = ds.load_valid(data_dir)
    after = engine.history(data.predictions["TST-2"], data, None, dt.date(2026, 11, 1), sampler=SamplerSettings(),
                           cache=cache)
    earlier = [h for h in before if h.as_of < "2026-06-01"]
    assert earlier and after[: len(earlier)] == tuple(earlier)
    assert len(after) == len(before) + 1


def test_rows_count_from_their_first_public_date_not_the_event(data_dir):
    """TST-E003 happened on 2025-07-01 but was first public on 2025-07-03: a forecast as of 07-02 cannot use it."""
    data = ds.load_valid(data_dir)
    assert list(data.rows_for("TST-2", dt.date(2025, 7, 2))["id"]) == ["TST-E002"]
    assert list(data.rows_for("TST-2", dt.date(2025, 7, 3))["id"]) == ["TST-E002", "TST-E003"]


def test_check_fails_when_the_ledger_is_behind_the_data(run_cli, data_dir):
    assert run_cli("update", "--check", "--data", str(data_dir)).code == 1
    run_update(data_dir, as_of=AS_OF, progress=False)
    assert run_cli("update", "--check", "--data", str(data_dir)).code == 0
    assert run_cli("add-evidence", "TST-2", *ROW, "--data", str(data_dir)).code == 0
    behind = run_cli("update", "--check", "--data", str(data_dir))
    assert behind.code == 1 and "changed since the last update (as of 2026-11-29)" in behind.err
    before = snapshot(data_dir)
    assert run_cli("update", "--check", "--data", str(data_dir)).code == 1
    assert snapshot(data_dir) == before  # --check writes nothing


def test_recorded_as_of_reproduces_the_committed_forecasts(run_cli, data_dir):
    run_update(data_dir, as_of=AS_OF, progress=False)
    first = export(run_cli, data_dir)
    Layout.of(data_dir).current.unlink()
    before = snapshot(data_dir)
    result = run_cli("update", "--as-of", "recorded", "--data", str(data_dir))
    assert result.code == 0, result.err
    assert export(run_cli, data_dir) == {k: v for k, v in first.items()}
    assert snapshot(data_dir) == before  # a build at the recorded date writes nothing under data/


RELATIONS = """relations:
  - kind: subset
    lower: TST-4
    upper: TST-3
    note: A deliberate, false relation that validation must refuse.
"""


def test_a_relation_the_definitions_do_not_imply_is_refused(run_cli, data_dir):
    """TST-4 (a one-off event) does not imply TST-3 (a founder absorbed): the relation could only ever hold
    numerically, so validation refuses it at its line, before any fit."""
    (data_dir / "relations.yaml").write_text(RELATIONS, encoding="utf-8")
    before = snapshot(data_dir)
    result = run_cli("update", "--as-of", "2026-11-29", "--data", str(data_dir))
    assert result.code == 1, result
    assert "relations.yaml:2: the subset relation TST-4 -> TST-3 is not implied" in result.err
    assert snapshot(data_dir) == before


def test_the_coherence_gate_refuses_numbers_that_break_a_valid_relation(data_dir):
    """The gate is the second line: forecasts that break a valid relation (a model bug) are never written."""
    from dataclasses import replace

    from analysis.data.relations import Relation
    from analysis.forecast.coherence import violations

    records = run_update(data_dir, as_of=AS_OF, progress=False).records
    relation = Relation("threshold", "TST-2", "TST-1", "test", "relations.yaml", 3)
    assert violations(records, [relation]) == [] or records["TST-2"].probability > records["TST-1"].probability
    broken = {**records, "TST-2": replace(records["TST-2"], probability=records["TST-1"].probability + 0.2,
                                          probability_mcse=0.0)}
    found = violations(broken, [relation])
    assert len(found) == 1 and found[0].startswith("relations.yaml:3: TST-2") and "TST-1" in found[0]


def test_neo3_and_neo6_old_windows_would_be_refused(tmp_path):
    """The shipped relations hold by the questions' definitions; the versions before this fix did not: NEO-3's
    resolve-by date ended six months before the window its text names (refused on its own), and NEO-6 counted
    from 2026-11-29 (a relation that held only numerically)."""
    import shutil

    from conftest import REPO

    copy = tmp_path / "data"
    shutil.copytree(REPO / "data", copy)
    assert not [p for p in ds.load(copy).problems if "relation" in p.message]
    path = copy / "predictions" / "neo-labs.yaml"
    text = path.read_text(encoding="utf-8")
    old3 = text.replace("  resolves_by: 2027-12-31\n  retrospective: false\n  tags: [talent, survival, signpost]",
                        "  resolves_by: 2027-06-30\n  retrospective: false\n  tags: [talent, survival, signpost]")
    assert old3 != text
    path.write_text(old3, encoding="utf-8")
    messages = [p.message for p in ds.load(copy).problems]
    assert any("names 2027-12-31, after resolves_by 2027-06-30" in m for m in messages), messages
    old6 = text.replace('tracked: ["Ilya Sutskever", "Mira Murati"]\n      count_from: 2026-12-01',
                        'tracked: ["Ilya Sutskever", "Mira Murati"]\n      count_from: 2026-11-29')
    assert old6 != text
    path.write_text(old6, encoding="utf-8")
    messages = [p.message for p in ds.load(copy).problems]
    assert any("subset relation NEO-6 -> NEO-3 is not implied" in m and "window" in m for m in messages), messages


def test_update_runs_on_a_dask_cluster(data_dir):
    """The documented path to a cluster: joblib's Dask backend on a local dask.distributed cluster."""
    from dask.distributed import Client, LocalCluster
    from joblib import parallel_config

    local = run_update(data_dir, as_of=AS_OF, use_cache=False, progress=False)
    Layout.of(data_dir).current.unlink()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client, parallel_config(backend="dask"):
        distributed = run_update(data_dir, as_of=AS_OF, jobs=2, use_cache=False, progress=False, force=True)
        assert client.scheduler_info()["workers"]
    assert {k: r.to_json() for k, r in distributed.records.items()} == {k: r.to_json() for k, r in local.records.items()}


def test_export_json_shape_and_csv_neutralises_formulas(run_cli, data_dir):
    run_update(data_dir, as_of=AS_OF, progress=False)
    out = json.loads(run_cli("export", "--data", str(data_dir)).out)
    assert {"generated_at", "as_of", "predictions"} <= set(out)
    item = out["predictions"][0]
    for key in ("id", "chapter", "question", "resolves_by", "retrospective", "status", "probability",
                "probability_mcse", "quantity", "as_of", "evidence_count", "model", "diagnostics", "sensitivity",
                "model_range", "snapshot"):
        assert key in item
    from analysis.commands.export import neutralise

    assert neutralise("=HYPERLINK(\"x\")").startswith("'=") and neutralise("-1+2").startswith("'")
    assert neutralise("plain") == "plain"


def test_survival_cohort_counts_exposure_until_the_event_or_the_as_of_date(data_dir):
    from analysis.models import survival

    data = ds.load_valid(data_dir)
    as_of = dt.date(2026, 1, 15)
    totals = survival.cohort_totals(survival.cohort(data.predictions["TST-3"], data.rows_for("TST-3", as_of), as_of,
                                                    data))
    # Founder A: 2024-01-15 to the move on 2025-09-01; C: 2024-01-15 to as-of; B: 2024-06-01 to as-of.
    expected = (base.years(dt.date(2024, 1, 15), dt.date(2025, 9, 1)) + base.years(dt.date(2024, 1, 15), as_of)
                + base.years(dt.date(2024, 6, 1), as_of))
    assert totals == {"units": 3, "events": 1, "without_event": 2, "exposure": pytest.approx(expected),
                      "groups": 2, "groups_with_events": 1}
    before = survival.cohort_totals(survival.cohort(data.predictions["TST-3"], data.rows_for("TST-3", dt.date(2025, 8, 1)),
                                                    dt.date(2025, 8, 1), data))
    assert before["events"] == 0 and before["exposure"] < expected  # the move is not seen before it was public


def test_beta_binomial_units_arrive_when_they_become_public(data_dir):
    from analysis.models import beta_binomial

    data = ds.load_valid(data_dir)
    prediction = data.predictions["TST-1"]
    rows = data.rows_for("TST-1", AS_OF)
    late = rows.iloc[[0]].copy()
    # a report about a period before arrivals_from, published after it, is an arrival; one published later
    # than the as-of date is not seen at all
    late["observed_on"], late["public_on"], late["id"] = dt.date(2023, 6, 1), dt.date(2024, 3, 1), "X-1"
    before = beta_binomial.prepare(prediction, rows, AS_OF)
    after = beta_binomial.prepare(prediction, pd.concat([rows, late]), AS_OF)
    assert after["arrivals"] == before["arrivals"] + int(late["trials"].iloc[0])
