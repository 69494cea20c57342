"""Prior and posterior predictive checks, shown on the Methods page: does data simulated from the fitted
model look like the data the book logged? Each check simulates from draws of the model's parameters
(prior, then posterior) and reports where the observed statistic falls."""

from __future__ import annotations

import datetime as dt

import numpy as np

from analysis.contract.provenance import seed_from
from analysis.data.dataset import Dataset
from analysis.forecast import engine
from analysis.models import survival
from analysis.models.protocol import SamplerSettings


def _summary(name: str, observed: float, prior: np.ndarray, posterior: np.ndarray) -> dict:
    def interval(x):
        return [float(np.quantile(x, 0.05)), float(np.quantile(x, 0.95))]

    return {"statistic": name, "observed": float(observed), "prior_90": interval(prior),
            "posterior_90": interval(posterior), "posterior_p": float(np.mean(posterior >= observed))}


def _simulate_groups(rate, theta, effect, cohort, rng) -> np.ndarray:
    """Group event counts from (rate, theta, tier effects) draws: (draws, groups)."""
    exposure = np.asarray(cohort["exposure"])[None, :]
    tiers = np.asarray(cohort["tier_of_group"])
    group_rate = rate[:, None] * (np.exp(effect[:, tiers]) if effect is not None else 1.0)
    if theta is not None:
        z = rng.gamma(1 / theta[:, None], theta[:, None], size=group_rate.shape)
        group_rate = group_rate * z
    return rng.poisson(group_rate * exposure)


def survival_checks(prediction, data: Dataset, as_of: dt.date, *, rng: np.random.Generator) -> list[dict]:
    """Total events in the cohort, and the most events in one group (team moves), prior vs posterior."""
    rows = data.rows_for(prediction.id, as_of)
    inputs = survival.prepare(prediction, rows, as_of, data)
    cohort, prior = inputs["cohort"], prediction.model.prior
    draws, _ = survival.sample(cohort, prior, sampler=SamplerSettings(), label=f"{prediction.id} check")
    n = len(draws["rate"])
    prior_rate = rng.gamma(prior["alpha"], 1 / prior["beta"], n)
    prior_theta = rng.gamma(prior["frailty_shape"], 1 / prior["frailty_rate"], n) if cohort["frailty"] else None
    tiers = len(cohort["tiers"])
    prior_effect = rng.normal(0, prior.get("tier_sd", 0.0), (n, tiers)) if cohort["pooled_tiers"] else None
    post_effect = np.asarray(draws["tier_effect"]).reshape(n, -1) if cohort["pooled_tiers"] else None
    simulated_prior = _simulate_groups(prior_rate, prior_theta, prior_effect, cohort, rng)
    simulated_post = _simulate_groups(np.asarray(draws["rate"]), draws.get("theta"), post_effect, cohort, rng)
    observed = np.asarray(cohort["events"])
    return [_summary("events in the cohort", observed.sum(), simulated_prior.sum(1), simulated_post.sum(1)),
            _summary("most events in one group", observed.max(), simulated_prior.max(1), simulated_post.max(1))]


def rate_checks(prediction, data: Dataset, as_of: dt.date, *, rng: np.random.Generator) -> list[dict]:
    """Events in the exposure window, prior vs posterior predictive (exact Gamma draws)."""
    from analysis.models import gamma_poisson

    rows = data.rows_for(prediction.id, as_of)
    inputs = gamma_poisson.prepare(prediction, rows, as_of, data)
    prior = prediction.model.prior
    a, b = gamma_poisson.posterior(inputs, prior)
    n = 4000
    prior_counts = rng.poisson(rng.gamma(prior["alpha"], 1 / prior["beta"], n) * inputs["exposure"])
    post_counts = rng.poisson(rng.gamma(a, 1 / b, n) * inputs["exposure"])
    return [_summary("events in the exposure window", inputs["events"], prior_counts, post_counts)]


CHECKS = {"survival": survival_checks, "gamma_poisson": rate_checks}


def predictive_checks(data: Dataset, as_of: dt.date, prediction_ids: list[str]) -> dict[str, list[dict]]:
    """The checks for the named predictions (families without a check are skipped)."""
    out = {}
    for pid in prediction_ids:
        prediction = data.predictions[pid]
        check = CHECKS.get(prediction.model.family)
        if check is not None:
            cutoff = engine.forecast_cutoff(prediction, data, as_of)
            out[pid] = check(prediction, data, cutoff, rng=np.random.default_rng(seed_from(pid)))
    return out
