"""Sampled families recover known truths from simulated data.

Parameters are drawn from the prior and data simulated from them, so a correct model's 90% intervals
cover the truth 90% of the time. With 20 simulations, fewer than 14 covered has probability about 1%
for a correct model; feeding each model deliberately wrong data must break its coverage.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from analysis.contract.errors import ModelError
from analysis.models import gamma_poisson, logistic_trend, survival
from analysis.models.protocol import SamplerSettings

SIMS = 20
MIN_COVERED = 14
SAMPLER = SamplerSettings()


def covered(draws: np.ndarray, truth: float) -> bool:
    lo, hi = np.quantile(draws, [0.05, 0.95])
    return bool(lo <= truth <= hi)


SURVIVAL_PRIOR = {"alpha": 3.0, "beta": 20.0, "frailty_shape": 2.0, "frailty_rate": 4.0, "tier_sd": 0.5}


def simulate_frailty(rng, prior):
    """Labs of 1-6 founders in two tiers; each lab's founders share a Gamma frailty."""
    rate = rng.gamma(prior["alpha"], 1 / prior["beta"])
    theta = rng.gamma(prior["frailty_shape"], 1 / prior["frailty_rate"])
    effect = rng.normal(0.0, prior["tier_sd"], size=2)
    groups, tiers, events, exposure = [], [], [], []
    for g in range(14):
        tier = g % 2
        z = rng.gamma(1 / theta, theta)
        years = rng.uniform(0.5, 4.0, size=rng.integers(1, 7)).sum()
        groups.append(f"lab{g}")
        tiers.append(tier)
        exposure.append(float(years))
        events.append(int(rng.poisson(z * rate * np.exp(effect[tier]) * years)))
    cohort = {"groups": groups, "tier_of_group": tiers, "tiers": ["a", "b"], "events": events,
              "exposure": exposure, "frailty": True, "pooled_tiers": True}
    return cohort, {"rate": rate, "theta": theta}


PRIOR_TREND = {"intercept_mu": 0.5, "intercept_sigma": 0.5, "slope_mu": -0.3, "slope_sigma": 0.5}


def simulate_trend(rng, prior):
    """The model's own generative story: a straight line through t0 with the prior's intercept and slope,
    plus integrated-Brownian slope noise from the first observation on, plus measurement noise. Observed 8
    times over two years; the truth is the share measured a year later."""
    scales = {"drift_scale": 0.5, "noise_scale": 0.1}
    s_slope = abs(rng.normal(0, 0.5))
    s_obs = logistic_trend.NOISE_FLOOR + abs(rng.normal(0, 0.1))
    times = np.append(np.sort(rng.uniform(-2.0, 0.0, size=8)), 1.0)
    line = rng.normal(prior["intercept_mu"], prior["intercept_sigma"]) + \
        rng.normal(prior["slope_mu"], prior["slope_sigma"]) * times
    drift = slope = 0.0
    latent, previous = [], times[0]
    for t in times:
        gap = t - previous
        a, b = rng.standard_normal(2)
        drift += slope * gap + s_slope * gap ** 1.5 * (a / 2 + b / (2 * np.sqrt(3)))
        slope += s_slope * np.sqrt(gap) * a
        latent.append(drift)
        previous = t
    measured = line + np.asarray(latent) + s_obs * rng.standard_normal(times.size)
    inputs = {"t": times[:-1].tolist(), "y": measured[:-1].tolist(), "target": 1.0, "threshold": 0.5,
              "direction": "above", **scales}
    return inputs, {"share": float(expit(measured[-1]))}


def simulate_pooled(rng, prior):
    mu = rng.gamma(prior["alpha"], 1 / prior["beta"])
    tau = rng.gamma(2.0, 1 / 3.0)
    rates = mu * np.exp(tau * rng.normal(size=4) - tau**2 / 2)
    counts = rng.poisson(rates * 3.0)
    inputs = {"events": int(counts[0]), "exposure": 3.0, "horizon": 1.0, "need": 1, "pooled": True,
              "categories": ["a", "b", "c", "d"], "category_events": counts.tolist(), "target_index": 0}
    return inputs, {"rate": rates[0], "mu": mu}


def draw_survival(inputs, prior, i):
    draws, _ = survival.sample(inputs, prior, sampler=SAMPLER, label=f"survival-{i}")
    return {"rate": draws["rate"], "theta": draws["theta"]}


def draw_trend(inputs, prior, i):
    result = logistic_trend.fit(inputs, prior, seed=1000 + i, sampler=SAMPLER, label=f"trend-{i}")
    return {"share": np.array([result.quantity.lo90, result.quantity.median, result.quantity.hi90])}


def draw_pooled(inputs, prior, i):
    draws, _ = gamma_poisson.sample(inputs, prior, seed=1000 + i, sampler=SAMPLER, label=f"pooled-{i}")
    return {"rate": draws["rate"][:, 0], "mu": draws["mu"]}


FAMILIES = {
    "survival_frailty": (simulate_frailty, SURVIVAL_PRIOR, draw_survival),
    "logistic_trend": (simulate_trend, PRIOR_TREND, draw_trend),
    "pooled_gamma_poisson": (simulate_pooled, {"alpha": 4.0, "beta": 2.0}, draw_pooled),
}


def _break(name, inputs):
    broken = dict(inputs)
    if name == "survival_frailty":
        broken["exposure"] = [t * 4 for t in inputs["exposure"]]
    elif name == "logistic_trend":
        broken["y"] = [-y for y in inputs["y"]]
    else:
        broken["category_events"] = [c * 4 + 3 for c in inputs["category_events"]]
    return broken


def coverage(name: str, sims: int, seed: int = 2026, break_it: bool = False) -> dict[str, int]:
    simulate, prior, draw = FAMILIES[name]
    rng = np.random.default_rng(seed)
    hits: dict[str, int] = {}
    for i in range(sims):
        inputs, truth = simulate(rng, prior)
        if break_it:
            inputs = _break(name, inputs)
        try:
            draws = draw(inputs, prior, i)
        except ModelError:
            draws = {}  # an unconverged fit counts as a miss
        for key, value in truth.items():
            hits[key] = hits.get(key, 0) + (key in draws and (covered(draws[key], value) if draws[key].size > 3
                                                              else draws[key][0] <= value <= draws[key][-1]))
    return hits


@pytest.mark.parametrize("name", list(FAMILIES))
def test_interval_coverage(name):
    hits = coverage(name, SIMS)
    for key, count in hits.items():
        assert count >= MIN_COVERED, f"{name}: {key} covered {count}/{SIMS}"


@pytest.mark.parametrize("name", list(FAMILIES))
def test_coverage_test_detects_a_broken_model(name):
    hits = coverage(name, SIMS, break_it=True)
    assert min(hits.values()) < MIN_COVERED, hits


def test_frailty_marginal_matches_explicit_latent_frailties():
    """The negative-binomial group likelihood is the Gamma frailty integrated out: a PyMC model with an
    explicit frailty per lab must give the same posterior for the base rate and theta."""
    import nutpie
    import pymc as pm

    cohort, _ = simulate_frailty(np.random.default_rng(7), SURVIVAL_PRIOR)
    cohort = {**cohort, "pooled_tiers": False, "tiers": [""], "tier_of_group": [0] * len(cohort["groups"])}
    prior = SURVIVAL_PRIOR
    marginal, _ = survival.sample(cohort, prior, sampler=SamplerSettings(draws=2000), label="marginal")
    with pm.Model() as explicit:
        rate = pm.Gamma("rate", prior["alpha"], prior["beta"])
        theta = pm.Gamma("theta", prior["frailty_shape"], prior["frailty_rate"])
        z = pm.Gamma("z", 1 / theta, 1 / theta, shape=len(cohort["groups"]))
        pm.Poisson("events", mu=z * rate * np.asarray(cohort["exposure"]), observed=np.asarray(cohort["events"]))
    idata = nutpie.sample(nutpie.compile_pymc_model(explicit), draws=3000, tune=1500, chains=4, seed=3,
                          progress_bar=False, cores=1, target_accept=0.95)
    for name in ("rate", "theta"):
        a, b = np.median(marginal[name]), float(idata.posterior[name].median())
        assert abs(a - b) / b < 0.1, (name, a, b)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FAMILIES))
def test_interval_coverage_long(name):
    hits = coverage(name, 100, seed=7)
    for key, count in hits.items():
        assert 80 <= count <= 98, f"{name}: {key} covered {count}/100"
