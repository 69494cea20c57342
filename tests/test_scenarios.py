"""Scenario pricing: questions on one model keep their posterior's joint law, and join the chapter's copula."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.data.scenarios import ChapterScenarios, Scenario
from analysis.forecast.scenarios import couple, price

DRAWS = 200_000


def shared_group(rng):
    """Two nested questions on one model: B (at least one) is YES whenever A (at least three) is."""
    rate = rng.gamma(2.0, 0.5, DRAWS)
    events = rng.poisson(rate)
    return {"A": events >= 3, "B": events >= 1}


def chapter(correlation):
    scenarios = (Scenario("all yes", "", {"A": True, "B": True, "C": True}, ()),
                 Scenario("B and C", "", {"B": True, "C": True}, ()),
                 Scenario("A without B", "", {"A": True, "B": False}, ()))
    return ChapterScenarios("test", correlation, "", scenarios)


def test_coupling_reorders_draws_and_keeps_the_groups_joint_law():
    rng = np.random.default_rng(1)
    group = shared_group(rng)
    coupled = couple(group, rng.standard_normal(DRAWS), 0.5, rng)
    for key in group:
        assert coupled[key].sum() == group[key].sum()
    # the nesting (A implies B) survives: whole draws move, never single outcomes
    assert not np.any(coupled["A"] & ~coupled["B"])
    assert (coupled["A"] & coupled["B"]).sum() == (group["A"] & group["B"]).sum()


@pytest.mark.parametrize("correlation", [0.0, 0.5])
def test_a_shared_group_joins_the_copula_with_the_chapters_correlation(correlation):
    rng = np.random.default_rng(2)
    group = shared_group(rng)
    probabilities = {"A": group["A"].mean(), "B": group["B"].mean(), "C": 0.4}
    priced = {s["name"]: s for s in price(chapter(correlation), probabilities, DRAWS, [group])}
    assert priced["A without B"]["probability"] == 0.0
    p_b, p_c = probabilities["B"], probabilities["C"]
    if correlation == 0:
        assert priced["B and C"]["probability"] == pytest.approx(p_b * p_c, abs=0.005)
    else:
        # positive dependence: P(B and C) above independence, below the Gaussian copula of two single questions
        # at the same correlation (a group's rank coupling is weaker than a direct latent link)
        gaussian = stats.multivariate_normal([0, 0], [[1, correlation], [correlation, 1]]).cdf(
            [stats.norm.ppf(p_b), stats.norm.ppf(p_c)])
        assert p_b * p_c + 0.02 < priced["B and C"]["probability"] <= gaussian + 0.005
