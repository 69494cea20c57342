"""Non-conjugate families recover known parameters from simulated data.

Parameters are drawn from the prior and data simulated from them, so a correct model's 90 %
intervals cover the truth 90 % of the time. With 20 simulations, fewer than 14 covered has
probability about 1 % for a correct model: a broken model fails this.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.contract.errors import ModelError
from analysis.families import gamma_poisson, logistic_trend, survival
from analysis.models.protocol import SamplerSettings

SIMS = 20
MIN_COVERED = 14
SAMPLER = SamplerSettings()


def covered(draws: np.ndarray, truth: float) -> bool:
    lo, hi = np.quantile(draws, [0.05, 0.95])
    return bool(lo <= truth <= hi)


def simulate_weibull(rng, prior):
    rate = rng.gamma(prior["alpha"], 1 / prior["beta"])
    shape = rng.lognormal(prior["shape_mu"], prior["shape_sigma"])
    n = 40
    age = rng.uniform(0.2, 6.0, size=n)  # years since each entity's start, at the as-of date
    event_time = rng.weibull(shape, size=n) / rate
    observed = event_time <= age
    times = np.where(observed, event_time, age).clip(1 / 365.25)
    inputs = {"entities": [str(i) for i in range(n)], "times": times.tolist(), "observed": observed.astype(int).tolist(),
              "age_now": age[~observed].tolist(), "risk_from": age[~observed].tolist(),
              "risk_to": (age[~observed] + 1).tolist(), "need": 1, "form": "weibull"}
    return inputs, {"rate": rate, "shape": shape}


def simulate_trend(rng, prior):
    intercept = rng.normal(prior["intercept_mu"], prior["intercept_sigma"])
    slope = rng.normal(prior["slope_mu"], prior["slope_sigma"])
    t = np.linspace(-2, 1, 6)
    n = np.full(6, 200.0)
    k = rng.binomial(200, 1 / (1 + np.exp(-(intercept + slope * t)))).astype(float)
    inputs = {"t": t.tolist(), "y": [0.5] * 6, "k": k.tolist(), "n": n.tolist(), "observation": "binomial",
              "horizon": 2.0, "threshold": 0.5, "direction": "above"}
    return inputs, {"intercept": intercept, "slope": slope}


def simulate_pooled(rng, prior):
    mu = rng.gamma(prior["alpha"], 1 / prior["beta"])
    tau = rng.gamma(2.0, 1 / 3.0)
    rates = mu * np.exp(tau * rng.normal(size=4) - tau**2 / 2)
    exposure = 3.0
    counts = rng.poisson(rates * exposure)
    inputs = {"events": int(counts[0]), "exposure": exposure, "horizon": 1.0, "need": 1, "pooled": True,
              "categories": ["a", "b", "c", "d"], "category_events": counts.tolist(), "target_index": 0}
    return inputs, {"rate": rates[0], "mu": mu}


FAMILIES = {
    "weibull": (survival, simulate_weibull,
                {"alpha": 4.0, "beta": 10.0, "shape_mu": 0.0, "shape_sigma": 0.3}, ["rate", "shape"]),
    "logistic_trend": (logistic_trend, simulate_trend,
                       {"intercept_mu": 0.0, "intercept_sigma": 1.0, "slope_mu": 0.0, "slope_sigma": 0.5},
                       ["intercept", "slope"]),
    "pooled_gamma_poisson": (gamma_poisson, simulate_pooled, {"alpha": 4.0, "beta": 2.0}, ["rate", "mu"]),
}


def coverage(name: str, sims: int, seed: int = 2026, break_it: bool = False) -> dict[str, int]:
    module, simulate, prior, names = FAMILIES[name]
    rng = np.random.default_rng(seed)
    hits = dict.fromkeys(names, 0)
    failures: list[int] = []
    for i in range(sims):
        inputs, truth = simulate(rng, prior)
        if break_it:  # a model fed the wrong data must lose coverage
            inputs = _break(name, inputs)
        try:
            draws, _ = module.sample(inputs, prior, seed=1000 + i, sampler=SAMPLER, label=f"{name}-{i}")
        except ModelError:
            failures.append(i)
            continue  # an unconverged fit counts as a miss
        for key in names:
            value = draws[key][:, 0] if draws[key].ndim > 1 else draws[key]
            hits[key] += covered(value, truth[key])
    return hits


def _break(name, inputs):
    broken = dict(inputs)
    if name == "weibull":
        broken["times"] = [t * 3 for t in inputs["times"]]
    elif name == "logistic_trend":
        broken["k"] = [n - k for k, n in zip(inputs["k"], inputs["n"])]
    else:
        broken["category_events"] = [c * 4 + 3 for c in inputs["category_events"]]
    return broken


@pytest.mark.parametrize("name", list(FAMILIES))
def test_interval_coverage(name):
    hits = coverage(name, SIMS)
    for key, count in hits.items():
        assert count >= MIN_COVERED, f"{name}: {key} covered {count}/{SIMS}"


@pytest.mark.parametrize("name", list(FAMILIES))
def test_coverage_test_detects_a_broken_model(name):
    hits = coverage(name, SIMS, break_it=True)
    assert min(hits.values()) < MIN_COVERED, hits


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FAMILIES))
def test_interval_coverage_long(name):
    hits = coverage(name, 100, seed=7)
    for key, count in hits.items():
        assert 80 <= count <= 98, f"{name}: {key} covered {count}/100"
