"""Exact posteriors are checked against PyMC, and the forecasts built on them against plain simulation.

For each conjugate family the posterior PyMC samples must agree with the closed form (mean and 90%
interval within 3 Monte Carlo standard errors), and P(YES) must agree within 0.01 with a forward
simulation from PyMC's draws written here, independently of the family's own quadrature.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
from scipy import stats
from scipy.special import expit, logit

from analysis.models import beta_binomial, gamma_poisson, likelihood_ratio, survival
from analysis.models.base import at_least_k_of
from analysis.models.protocol import SamplerSettings

SAMPLER = SamplerSettings(chains=4, draws=2000, tune=1000)
RNG = np.random.default_rng(20261201)


def pymc_draws(model, var: str, seed: int = 11):
    import nutpie

    compiled = nutpie.compile_pymc_model(model)
    idata = nutpie.sample(compiled, draws=SAMPLER.draws, tune=SAMPLER.tune, chains=SAMPLER.chains, seed=seed,
                          progress_bar=False, cores=1)
    return idata.posterior


def assert_agrees(posterior, exact, tolerance_mcse: float = 3.0):
    data = posterior.to_dataset(name="x")
    assert abs(float(posterior.mean()) - exact.mean()) <= tolerance_mcse * float(az.mcse(data, method="mean")["x"]) + 1e-12
    for prob in (0.05, 0.95):
        q_mcse = float(az.mcse(data, method="quantile", prob=prob)["x"])
        assert abs(float(posterior.quantile(prob)) - exact.ppf(prob)) <= tolerance_mcse * q_mcse + 1e-12


ARRIVALS = {"successes": 2, "trials": 9, "arrivals": 9, "exposure": 2.5, "horizon": 1.1, "units_so_far": 1,
            "successes_so_far": 0, "max_units": 6, "min_successes": 1, "if_fewer": "resolve"}
ARRIVALS_PRIOR = {"alpha": 0.5, "beta": 3.0, "rate_alpha": 2.0, "rate_beta": 1.0}


def simulate_arrivals(p, rate, inputs, rng):
    """Forward simulation of the marked-arrival question, written independently of the family."""
    n = rng.poisson(rate * inputs["horizon"])
    cap = inputs["max_units"]
    room = n if cap is None else np.minimum(n, cap - inputs["units_so_far"])
    successes = inputs["successes_so_far"] + rng.binomial(room, p)
    return successes >= inputs["min_successes"]


def test_beta_binomial_posteriors_match_pymc_and_the_forecast_matches_simulation():
    post = pymc_draws(beta_binomial.pymc_model(ARRIVALS, ARRIVALS_PRIOR), "p")
    a, b = beta_binomial.posterior(ARRIVALS, ARRIVALS_PRIOR)
    ra, rb = beta_binomial.rate_posterior(ARRIVALS, ARRIVALS_PRIOR)
    assert_agrees(post["p"], stats.beta(a, b))
    assert_agrees(post["rate"], stats.gamma(ra, scale=1 / rb))
    p, rate = post["p"].values.ravel(), post["rate"].values.ravel()
    simulated = np.mean([simulate_arrivals(p, rate, ARRIVALS, RNG).mean() for _ in range(25)])
    exact = beta_binomial.fit(ARRIVALS, ARRIVALS_PRIOR).probability
    assert abs(exact - simulated) < 0.01, (exact, simulated)


def test_beta_binomial_annul_rule_matches_simulation():
    """'All of the first 3 succeed', annulled when fewer arrive and none failed: P(YES | not annulled)."""
    inputs = {**ARRIVALS, "successes": 5, "trials": 5, "units_so_far": 0, "successes_so_far": 0, "max_units": 3,
              "min_successes": 3, "if_fewer": "annul", "horizon": 1.0}
    prior = {"alpha": 1.0, "beta": 1.0, "rate_alpha": 2.0, "rate_beta": 1.0}
    a, b = beta_binomial.posterior(inputs, prior)
    ra, rb = beta_binomial.rate_posterior(inputs, prior)
    p = RNG.beta(a, b, 400_000)
    n = RNG.poisson(RNG.gamma(ra, 1 / rb, 400_000) * inputs["horizon"])
    first = np.minimum(n, 3)
    failures = first - RNG.binomial(first, p)
    yes = (n >= 3) & (failures == 0)
    annulled = (n < 3) & (failures == 0)
    simulated = yes.mean() / (1 - annulled.mean())
    assert abs(beta_binomial.fit(inputs, prior).probability - simulated) < 0.01


GAMMA = {"events": 9, "exposure": 3.5, "horizon": 1.25, "need": 3, "pooled": False, "categories": [],
         "category_events": [], "target_index": -1}


def test_gamma_poisson_posterior_matches_pymc():
    prior = {"alpha": 2.0, "beta": 1.0}
    post = pymc_draws(gamma_poisson.pymc_model(GAMMA, prior), "rate")["rate"]
    a, b = gamma_poisson.posterior(GAMMA, prior)
    assert_agrees(post, stats.gamma(a, scale=1 / b))
    simulated = np.mean(RNG.poisson(post.values.ravel() * GAMMA["horizon"]) >= GAMMA["need"])
    assert abs(gamma_poisson.fit(GAMMA, prior, seed=1, sampler=SAMPLER, label="x").probability - simulated) < 0.01


COHORT = {"groups": list("abcdef"), "tier_of_group": [0] * 6, "tiers": [""], "events": [1, 0, 2, 0, 1, 0],
          "exposure": [2.0, 1.5, 3.2, 0.7, 2.6, 1.1], "frailty": False, "pooled_tiers": False}
QUESTION = {"at_risk": ["u1", "u2", "u3", "u4"], "group_index": [0, 1, 3, 5], "tier_index": [0, 0, 0, 0],
            "from": 0.0, "to": 1.2, "need": 2}


def test_survival_posterior_matches_pymc_and_the_forecast_matches_simulation():
    prior = {"alpha": 1.5, "beta": 4.0}
    post = pymc_draws(survival.pymc_model(COHORT, prior), "rate")["rate"]
    a, b = survival.posterior(COHORT, prior)
    assert_agrees(post, stats.gamma(a, scale=1 / b))
    rate = post.values.ravel()
    times = RNG.exponential(1 / rate[:, None], size=(rate.size, len(QUESTION["at_risk"])))
    simulated = np.mean((times <= QUESTION["to"]).sum(axis=1) >= QUESTION["need"])
    exact = survival.fit({"cohort": COHORT, "question": QUESTION}, prior, seed=1, sampler=SAMPLER, label="x")
    assert abs(exact.probability - simulated) < 0.01


def test_likelihood_ratio_quadrature_matches_simulation():
    inputs = {"log_lr": float(np.log(2.5 * 0.7 * 1.8)), "rows": 3, "spread": 0.5, "kind": "event",
              "fraction_left": 0.6}
    prior = {"alpha": 2.0, "beta": 8.0}
    p0 = RNG.beta(2.0, 8.0, 1_000_000)
    eta = RNG.normal(0.0, 0.5, p0.size)
    whole = expit(logit(p0) + inputs["log_lr"] * np.exp(eta - 0.125))
    simulated = np.mean(1 - (1 - whole) ** 0.6)
    assert abs(likelihood_ratio.fit(inputs, prior).probability - simulated) < 0.002


TREND = {"t": [-1.2, -0.9, -0.7, -0.4, -0.2, 0.0, 0.3], "y": [1.6, 1.5, 1.1, 1.0, 0.6, 0.5, 0.1], "target": 1.0,
         "threshold": 0.4, "direction": "below", "drift_scale": 0.5, "noise_scale": 0.1}
TREND_PRIOR = {"intercept_mu": 0.5, "intercept_sigma": 0.8, "slope_mu": -0.5, "slope_sigma": 0.8}


def test_trend_grid_posterior_matches_pymc_and_the_forecast_matches_simulation():
    """The trend family integrates its two noise scales on a grid; PyMC samples the same model."""
    from analysis.models import logistic_trend

    post = pymc_draws(logistic_trend.pymc_model(TREND, TREND_PRIOR), "sigma_slope")
    grid = logistic_trend.posterior_grid(TREND, TREND_PRIOR)
    for name, axis, values in (("sigma_slope", 1, grid["slopes"]), ("sigma_obs", 0, grid["noises"])):
        marginal = grid["weights"].sum(axis=axis)
        sampled = post[name]
        mean_mcse = float(az.mcse(sampled.to_dataset(name="x"), method="mean")["x"])
        assert abs(float(sampled.mean()) - float((marginal * values).sum())) <= 3 * mean_mcse + 0.01, name
    # P(YES) from PyMC's draws, by the Gaussian conditional written out here
    slopes, noises = post["sigma_slope"].values.ravel(), post["sigma_obs"].values.ravel()
    t = np.append(TREND["t"], TREND["target"])
    mean = TREND_PRIOR["intercept_mu"] + TREND_PRIOR["slope_mu"] * t
    below = []
    for s_slope, s_obs in zip(slopes[::8], noises[::8]):
        k = logistic_trend.covariance(t, (TREND_PRIOR["intercept_sigma"], TREND_PRIOR["slope_sigma"]), s_slope)
        k_oo = k[:-1, :-1] + s_obs**2 * np.eye(len(t) - 1)
        w = np.linalg.solve(k_oo, k[-1, :-1])
        m = mean[-1] + w @ (np.asarray(TREND["y"]) - mean[:-1])
        v = k[-1, -1] - k[-1, :-1] @ w + s_obs**2
        below.append(stats.norm.cdf((logit(TREND["threshold"]) - m) / np.sqrt(v)))
    exact = logistic_trend.fit(TREND, TREND_PRIOR, seed=1).probability
    assert abs(exact - float(np.mean(below))) < 0.01, (exact, np.mean(below))


def test_cross_check_can_fail():
    """A wrong 'exact' answer (the prior ignored) is caught by the same comparison."""
    prior = {"alpha": 2.0, "beta": 1.0}
    post = pymc_draws(gamma_poisson.pymc_model(GAMMA, prior), "rate")["rate"]
    with pytest.raises(AssertionError):
        assert_agrees(post, stats.gamma(GAMMA["events"] + 0.5, scale=1 / GAMMA["exposure"]))


def test_poisson_binomial_tail_matches_simulation():
    probs = RNG.uniform(0, 0.6, size=(1, 7))
    sims = (RNG.uniform(size=(200000, 7)) < probs).sum(axis=1)
    for k in range(0, 8):
        assert abs(at_least_k_of(probs, k)[0] - np.mean(sims >= k)) < 0.005


def test_a_change_of_measurement_basis_is_an_offset_not_a_trend():
    """Figures on a new basis share an offset integrated out exactly: the trend's forecast for the resolving
    figure equals the Gaussian conditional written out here with the offset as one more latent variable, and a
    drop on a new basis moves the forecast less than the same drop on the old one. The same drop read without
    the basis mark (the broken control) is read as a trend."""
    from analysis.models import logistic_trend

    drop = {**TREND, "y": [*TREND["y"][:-1], -0.8], "basket_sd": 0.3}
    marked = {**drop, "basis": [""] * 6 + ["new"], "target_basis": "new"}
    unmarked = {**drop, "basis": [""] * 7, "target_basis": ""}
    grid = logistic_trend.posterior_grid(marked, TREND_PRIOR)
    i, j = np.unravel_index(np.argmax(grid["weights"]), grid["weights"].shape)
    s_slope, s_obs = grid["slopes"][i], grid["noises"][j]
    # the joint law of (figures, resolving figure) with an explicit offset for the "new" basis
    t = np.append(drop["t"], drop["target"])
    on_new = np.array([0] * 6 + [1, 1], dtype=float)
    k = logistic_trend.covariance(t, (TREND_PRIOR["intercept_sigma"], TREND_PRIOR["slope_sigma"]), s_slope)
    k = k + 0.3**2 * np.outer(on_new, on_new)
    mean = TREND_PRIOR["intercept_mu"] + TREND_PRIOR["slope_mu"] * t
    k_oo = k[:-1, :-1] + s_obs**2 * np.eye(7)
    w = np.linalg.solve(k_oo, k[-1, :-1])
    m = mean[-1] + w @ (np.asarray(drop["y"]) - mean[:-1])
    v = k[-1, -1] - k[-1, :-1] @ w + s_obs**2
    assert abs(grid["mean"][i, j] - m) < 1e-9 and abs(grid["var"][i, j] - v) < 1e-9
    p_marked = logistic_trend.fit(marked, TREND_PRIOR, seed=1).probability
    p_unmarked = logistic_trend.fit(unmarked, TREND_PRIOR, seed=1).probability
    p_before = logistic_trend.fit({**TREND, "basket_sd": 0.3}, TREND_PRIOR, seed=1).probability
    # the resolving figure is on the new basis, so the new level still counts; but the old trend's slope is not
    # steepened by the jump as it is when the jump is read as part of one series
    assert p_before < p_marked, (p_before, p_marked)
    slope_marked = logistic_trend.fit(marked, TREND_PRIOR, seed=1).extra["sigma_slope_median"]
    slope_unmarked = logistic_trend.fit(unmarked, TREND_PRIOR, seed=1).extra["sigma_slope_median"]
    assert slope_marked < slope_unmarked  # the control reads the method change as a bending trend
