"""Conjugate families are answered exactly; PyMC's posterior must agree with the exact answer.

Mean and 90 % interval within 3 Monte Carlo standard errors, P(YES) within 0.01.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
from scipy import stats

from analysis.families import beta_binomial, gamma_poisson, survival
from analysis.models.protocol import SamplerSettings

SAMPLER = SamplerSettings(chains=4, draws=2000, tune=1000)


def pymc_draws(model, var: str, seed: int = 11):
    import nutpie

    compiled = nutpie.compile_pymc_model(model)
    idata = nutpie.sample(compiled, draws=SAMPLER.draws, tune=SAMPLER.tune, chains=SAMPLER.chains, seed=seed,
                          progress_bar=False, cores=1)
    return idata.posterior[var]


def assert_agrees(posterior, exact_dist, tolerance_mcse: float = 3.0):
    mean_mcse = float(az.mcse(posterior.to_dataset(name="x"), method="mean")["x"])
    assert abs(float(posterior.mean()) - exact_dist.mean()) <= tolerance_mcse * mean_mcse + 1e-12
    for prob in (0.05, 0.95):
        q_mcse = float(az.mcse(posterior.to_dataset(name="x"), method="quantile", prob=prob)["x"])
        assert abs(float(posterior.quantile(prob)) - exact_dist.ppf(prob)) <= tolerance_mcse * q_mcse + 1e-12


CASES = {
    "beta_binomial": (beta_binomial, {"successes": 7, "trials": 20, "future_trials": 6, "min_successes": 3},
                      {"alpha": 2.0, "beta": 3.0}, "p"),
    "gamma_poisson": (gamma_poisson, {"events": 9, "exposure": 3.5, "horizon": 1.25, "need": 3, "pooled": False,
                                      "categories": [], "category_events": [], "target_index": -1},
                      {"alpha": 2.0, "beta": 1.0}, "rate"),
    "survival": (survival, {"entities": list("abcdefgh"), "times": [0.5, 1.2, 2.0, 0.8, 3.1, 1.7, 2.6, 0.3],
                            "observed": [1, 0, 1, 0, 0, 1, 0, 0], "age_now": [1.2, 0.8, 3.1, 2.6, 0.3],
                            "risk_from": [1.3, 0.9, 3.2, 2.7, 0.4], "risk_to": [2.3, 1.9, 4.2, 3.7, 1.4],
                            "need": 2, "form": "exponential"},
                 {"alpha": 1.5, "beta": 4.0}, "rate"),
}


def exact_distribution(module, inputs, prior):
    a, b = module.posterior(inputs, prior)
    return stats.beta(a, b) if module is beta_binomial else stats.gamma(a, scale=1 / b)


@pytest.mark.parametrize("name", list(CASES))
def test_pymc_posterior_matches_exact(name):
    module, inputs, prior, var = CASES[name]
    posterior = pymc_draws(module.pymc_model(inputs, prior), var)
    assert_agrees(posterior, exact_distribution(module, inputs, prior))
    exact_p = module.fit(inputs, prior, seed=1, sampler=SAMPLER, label=name).probability
    pymc_p = float(np.mean(module.pymc_probability({var: posterior.values.ravel()}, inputs, None)))
    assert abs(exact_p - pymc_p) < 0.01, (exact_p, pymc_p)


def test_cross_check_can_fail():
    """A wrong 'exact' answer (prior ignored) is caught by the same comparison."""
    module, inputs, prior, var = CASES["gamma_poisson"]
    posterior = pymc_draws(module.pymc_model(inputs, prior), var)
    wrong = stats.gamma(inputs["events"] + 0.5, scale=1 / inputs["exposure"])
    with pytest.raises(AssertionError):
        assert_agrees(posterior, wrong)


def test_beta_binomial_exact_matches_enumeration():
    """P(YES) by brute-force enumeration over the Beta-binomial predictive."""
    inputs, prior = CASES["beta_binomial"][1], CASES["beta_binomial"][2]
    a, b = beta_binomial.posterior(inputs, prior)
    grid = (np.arange(20000) + 0.5) / 20000
    p = stats.beta.ppf(grid, a, b)
    brute = np.mean(stats.binom.sf(inputs["min_successes"] - 1, inputs["future_trials"], p))
    exact = beta_binomial.fit(inputs, prior, seed=1, sampler=SAMPLER, label="x").probability
    assert abs(brute - exact) < 1e-4


def test_poisson_binomial_tail_matches_simulation():
    from analysis.models.base import at_least_k_of

    rng = np.random.default_rng(5)
    probs = rng.uniform(0, 0.6, size=(1, 7))
    sims = (rng.uniform(size=(200000, 7)) < probs).sum(axis=1)
    for k in range(0, 8):
        assert abs(at_least_k_of(probs, k)[0] - np.mean(sims >= k)) < 0.005
