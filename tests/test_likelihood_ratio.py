"""The likelihood-ratio family: a ratio of 1 is not evidence, the analyst's uncertainty does not grow
with the number of rows, and silence lowers an event's chance as its deadline nears."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from analysis.data.predictions import Model, Prediction
from analysis.models import likelihood_ratio

PRIOR = {"alpha": 2.0, "beta": 8.0, "justification": "test"}


def question(kind: str = "event") -> Prediction:
    return Prediction(id="TST-9", chapter="sample", question="q", resolution_criteria="c", resolution_source="s",
                      published=dt.date(2026, 12, 1), resolves_by=dt.date(2027, 12, 31), retrospective=False,
                      model=Model("likelihood_ratio", PRIOR, {"kind": kind}), tags=(), version=1)


def rows(*ratios: float) -> pd.DataFrame:
    return pd.DataFrame({"lr": [str(r) for r in ratios]})


def forecast(ratios, as_of=dt.date(2026, 12, 1), kind="event") -> float:
    inputs = likelihood_ratio.prepare(question(kind), rows(*ratios), as_of)
    return likelihood_ratio.fit(inputs, PRIOR).probability


def old_model(ratios, sd=0.5, draws=200_000, seed=1) -> float:
    """The family as it was before 2026-12-01: independent noise on every row's log ratio."""
    rng = np.random.default_rng(seed)
    p0 = rng.beta(2.0, 8.0, draws)
    shift = sum(rng.normal(np.log(r), sd, draws) for r in ratios) if ratios else 0.0
    return float(expit(logit(p0) + shift).mean())


def moved_by_unit_ratios(model) -> float:
    evidence = [2.0, 0.7]
    return abs(model(evidence + [1.0] * 20) - model(evidence))


def test_twenty_ratios_of_one_do_not_move_the_forecast():
    assert moved_by_unit_ratios(forecast) <= 0.01


def test_the_same_check_fails_on_the_old_per_row_noise():
    """The control: the model this family replaced drifts toward 50% as rows of ratio 1 pile up."""
    assert moved_by_unit_ratios(old_model) > 0.01


def test_uncertainty_does_not_grow_with_the_number_of_rows():
    one_strong = forecast([4.0])
    same_in_four = forecast([np.sqrt(2.0)] * 4)
    assert one_strong == pytest.approx(same_in_four, abs=1e-9)


def test_silence_lowers_an_event_as_its_deadline_nears():
    dates = [dt.date(2026, 12, 1), dt.date(2027, 4, 1), dt.date(2027, 8, 1), dt.date(2027, 12, 1)]
    values = [forecast([2.0], as_of=d) for d in dates]
    assert all(a > b for a, b in zip(values, values[1:])), values
    assert forecast([2.0], as_of=dt.date(2027, 12, 31)) == pytest.approx(0.0, abs=1e-12)


def test_a_state_question_does_not_decay_with_time():
    assert forecast([2.0], as_of=dt.date(2027, 8, 1), kind="state") == pytest.approx(forecast([2.0], kind="state"))


def test_evidence_moves_the_forecast_the_way_it_points():
    prior_only = forecast([])
    assert forecast([3.0]) > prior_only > forecast([1 / 3])


def test_a_fact_already_in_the_prior_is_not_evidence_again(run_cli, data_dir):
    """TST-E007 carries a ratio of 2 for TST-4; once the prior's justification names it (its reference class
    already contains the fact), it counts with a ratio of 1, and the forecast falls back to the prior's."""
    import datetime as dt

    from analysis.data.dataset import load_valid

    as_of = dt.date(2026, 11, 29)
    data = load_valid(data_dir)
    p = data.predictions["TST-4"]
    counted = likelihood_ratio.prepare(p, data.rows_for("TST-4", as_of), as_of, data)
    assert counted["log_lr"] == pytest.approx(np.log(2.0))
    path = data_dir / "predictions" / "sample.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"2 of 10 comparable cases."', '"2 of 10 comparable cases, TST-E007 among them."'),
                    encoding="utf-8")
    data = load_valid(data_dir)
    once = likelihood_ratio.prepare(data.predictions["TST-4"], data.rows_for("TST-4", as_of), as_of, data)
    assert once["log_lr"] == 0.0 and once["rows"] == 1
    path.write_text(text.replace('"2 of 10 comparable cases."', '"2 of 10 comparable cases, TST-E099 among them."'),
                    encoding="utf-8")
    result = run_cli("validate", "--data", str(data_dir))
    assert result.code == 1 and "TST-4: the prior names TST-E099, which is not one of its evidence rows" in result.err
