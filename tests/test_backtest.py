"""The backtest on the book's own data: rule-generated instances, leak-free forecasts (checked by a test
that fails when the filter is sabotaged), rosters that keep their NO entries, and the acceptance counts."""

from __future__ import annotations

import datetime as dt

import pytest

from analysis.commands.backtest import summarise, templates_of
from analysis.data import dataset as ds
from analysis.forecast import backtest, engine
from conftest import REPO

DATA = REPO / "data"


@pytest.fixture(scope="module")
def data():
    return ds.load_valid(DATA)


@pytest.fixture(scope="module")
def templates(data):
    return templates_of(data)


@pytest.fixture(scope="module")
def instances(data, templates):
    return backtest.run_backtest(data, templates, cache=engine.FitCache(REPO / ".cache" / "fits"))


def leaks(instances, data) -> list[tuple[str, str]]:
    """(instance, row) for every row a forecast used that was not yet public on its as-of date."""
    public = dict(zip(data.evidence["id"], data.evidence["public_on"]))
    return [(i.id, row) for i in instances for row in i.evidence_ids
            if public[row] > dt.date.fromisoformat(i.as_of)]


def test_no_forecast_uses_a_row_before_it_was_public(instances, data):
    assert instances and not leaks(instances, data)
    assert all(dt.date.fromisoformat(i.as_of) < dt.date.fromisoformat(i.window_start) for i in instances)


def test_the_leak_check_fails_when_the_filter_is_sabotaged(data, templates, monkeypatch):
    """Filter by the date the source was seen instead of the first public date: the check must catch it."""
    monkeypatch.setattr(backtest, "known", lambda rows, as_of: rows[rows["source_date"] <= as_of + dt.timedelta(days=90)])
    chosen = [t for t in templates if t.id in ("china-lab-stop-year", "export-case-quarter", "neo-founder-year")]
    sabotaged = backtest.run_backtest(data, chosen, cache=engine.FitCache(None))
    assert leaks(sabotaged, data)


def test_roster_units_enter_only_once_they_had_qualified(instances, data):
    for i in instances:
        template = i.template
        roster = {"neo-founder-year": "neo-lab-founders", "china-lab-release-half": "china-open-labs",
                  "china-lab-stop-year": "china-open-labs"}.get(template)
        if roster:
            entry = data.rosters[roster].by_name()[i.unit]
            assert entry.qualified_on <= dt.date.fromisoformat(i.as_of)


def test_rosters_state_their_rule_and_keep_units_that_resolved_no(instances, data):
    for roster in data.rosters.values():
        assert roster.rule and roster.source and roster.frozen_on
        assert all(name and reason for name, reason in roster.excluded)
    assert len(data.rosters["neo-lab-founders"].excluded) >= 10  # the labs the rule kept out are published
    founders = {i.unit for i in instances if i.template == "neo-founder-year"}
    absorbed = {i.unit for i in instances if i.template == "neo-founder-year" and i.outcome}
    assert absorbed and founders - absorbed  # founders who stayed independent are in the cohort
    labs_that_released = {i.unit for i in instances if i.template == "china-lab-release-half" and i.outcome}
    labs = {i.unit for i in instances if i.template == "china-lab-release-half"}
    assert labs - labs_that_released


def test_acceptance_counts(instances):
    questions = {i.id.rsplit("@", 1)[0] for i in instances}
    assert len(questions) >= 150
    assert len({i.template for i in instances}) >= 8
    assert len({i.chapter for i in instances}) >= 5
    share = sum(i.outcome for i in instances) / len(instances)
    assert 0.2 <= share <= 0.8, share


def test_scores_carry_every_baseline_with_intervals(instances):
    overall = summarise(instances)["overall"]
    for name in backtest.BASELINES:
        assert f"bss_{name}" in overall and len(overall["intervals"][f"bss_{name}"]) == 2
    m = overall["murphy"]
    assert m["reliability"] - m["resolution"] + m["uncertainty"] == pytest.approx(overall["brier"], abs=0.03)


def test_a_frozen_template_cannot_change_without_a_new_id(tmp_path):
    """The template set is frozen with a hash per template (data/template_freeze.csv): editing a frozen rule is
    refused at its line; the same rule under a new id is a new template, and the old one keeps its record."""
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(DATA, copy)
    assert not ds.load(copy).problems
    path = copy / "templates.yaml"
    text = path.read_text(encoding="utf-8")
    changed = text.replace("windows: {every: year, from: 2022-01-01, until: 2025-12-31}",
                           "windows: {every: year, from: 2023-01-01, until: 2025-12-31}", 1)
    assert changed != text
    path.write_text(changed, encoding="utf-8")
    problems = [str(p) for p in ds.load(copy).problems]
    assert any("template 'neo-founder-year' changed after it was frozen on 2026-12-07" in p for p in problems), problems
    renamed = changed.replace("  - id: neo-founder-year\n", "  - id: neo-founder-year-v2\n", 1)
    path.write_text(renamed, encoding="utf-8")
    problems = [str(p) for p in ds.load(copy).problems]
    assert any("frozen template 'neo-founder-year' is no longer defined" in p for p in problems), problems
