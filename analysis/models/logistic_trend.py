"""A share over time as a local-linear-trend state-space model on the logit scale.

The logit of the share has a level and a slope that both wander: the slope is Brownian with diffusion
``sigma_slope`` per year^(1/2), the level integrates it and adds its own Brownian noise ``sigma_level``,
and each published figure adds measurement noise ``sigma_obs``. All three are learned from the data
(half-normal priors of scale ``drift_scale``, ``level_scale`` and ``noise_scale``), so a trend bends only
as much as the data say it does, and uncertainty grows with the distance extrapolated. The level and
slope at ``t0`` have the prior's normal distributions. Time is the period a measurement describes
(``observed_on``: the middle or end of the sampled period), and every data point is used.

The states are integrated out exactly (the model is Gaussian on the logit scale, the Kalman-filter
likelihood written as one multivariate normal), so the observed logits are an observed variable and
predictive checks come for free. Question form: the share measured for the period ending
``measure_lag_days`` before resolves_by is above (or below) ``threshold``, measurement noise included.
Sampled with NUTS from one compiled model per padded size.
"""

from __future__ import annotations

import numpy as np

from analysis.models import base
from analysis.models.base import FamilyBase, FitResult, Quantity, Setting, special, stats

PRIOR_KEYS = {"intercept_mu": "logit share at t0", "intercept_sigma": "its sd",
              "slope_mu": "logit change per year at t0", "slope_sigma": "its sd"}
DEFAULTS = {"drift_scale": 0.5, "level_scale": 0.1, "noise_scale": 0.1, "measure_lag_days": 0}
SCALES = ("drift_scale", "level_scale", "noise_scale")
QUANTITY = "share measured at the resolving period"
EPS = 1e-3
NOISE_FLOOR = 0.02  # logit units: about half a percentage point near a share of 0.75


def row_problems(row: dict, settings: dict) -> list[tuple[str, str, str]]:
    if row["entity"] != settings["series"]:
        return [("entity", f"entity '{row['entity']}' is not this trend's series", f"'{settings['series']}'")]
    if row["value"] is None:
        return [("value", "value is empty", "the measured share in [0, 1]")]
    if not 0 <= row["value"] <= 1:
        return [("value", f"share {row['value']} is outside [0, 1]", "a share between 0 and 1")]
    return []


def setting(settings: dict, key: str):
    return settings.get(key, DEFAULTS[key])


def prepare(prediction, rows, as_of, data=None) -> dict:
    s = prediction.model.settings
    ordered = rows.sort_values(["observed_on", "id"])
    target = prediction.resolves_by.toordinal() - int(setting(s, "measure_lag_days"))
    return {"t": [base.years(s["t0"], d) for d in ordered["observed_on"]],
            "y": special.logit(np.clip(ordered["value"].astype(float), EPS, 1 - EPS)).tolist(),
            "target": (target - s["t0"].toordinal()) / base.DAYS_PER_YEAR,
            "threshold": float(s["threshold"]), "direction": s["direction"],
            **{key: float(setting(s, key)) for key in SCALES}}


def covariance(t, prior_sd, sigma_slope, sigma_level, xp=np):
    """Covariance of the latent logit at times ``t`` (years from t0): the level's and slope's prior
    spread at t0, integrated Brownian slope noise and Brownian level noise, both from the origin
    ``min(0, t)`` on. Written for numpy and pytensor alike (``xp``)."""
    intercept_sd, slope_sd = prior_sd
    origin = xp.minimum(xp.min(t), 0.0) if xp is not np else min(float(np.min(t)), 0.0)
    u = t - origin
    s, v = u[:, None], u[None, :]
    low, high = xp.minimum(s, v), xp.maximum(s, v)
    integrated = low**2 * high / 2 - low**3 / 6
    return (intercept_sd**2 + slope_sd**2 * t[:, None] * t[None, :] + sigma_slope**2 * integrated
            + sigma_level**2 * low)


def _model(size: int):
    import pymc as pm
    import pytensor.tensor as pt

    with pm.Model() as model:
        prior = {name: pm.Data(name, 0.0) for name in PRIOR_KEYS}
        scales = {name: pm.Data(name, DEFAULTS[name]) for name in SCALES}
        t, y, w = pm.Data("t", np.zeros(size)), pm.Data("y", np.zeros(size)), pm.Data("w", np.zeros(size))
        sigma_slope = pm.HalfNormal("sigma_slope", scales["drift_scale"])
        sigma_level = pm.HalfNormal("sigma_level", scales["level_scale"])
        # A figure is never exact (rounding, revisions, sources that disagree): a floor keeps the
        # covariance well conditioned when published figures lie on a smooth curve.
        sigma_obs = pm.Deterministic("sigma_obs", NOISE_FLOOR + pm.HalfNormal("sigma_obs_excess", scales["noise_scale"]))
        real_t = pt.switch(w > 0, t, pt.max(t * w))  # padded times repeat a real one: harmless, masked below
        cov = covariance(real_t, (prior["intercept_sigma"], prior["slope_sigma"]), sigma_slope, sigma_level, xp=pt)
        mask = w[:, None] * w[None, :]
        cov = mask * (cov + sigma_obs**2 * pt.eye(size)) + (1 - mask) * pt.eye(size)
        mean = w * (prior["intercept_mu"] + prior["slope_mu"] * real_t)
        pm.MvNormal("logit_share", mu=mean, cov=cov, observed=y)
    return model


def sample(inputs, prior, *, seed, sampler, label):
    """Posterior draws of the three noise scales (NUTS, compiled once per padded size)."""
    n = len(inputs["t"])
    size = base.bucket(max(n, 1), smallest=8)
    compiled = base.compiled_model(("logistic_trend", size), lambda: _model(size))
    data = {name: float(prior[name]) for name in PRIOR_KEYS}
    data.update({name: inputs[name] for name in SCALES})
    data.update({"t": base.pad(inputs["t"], size), "y": base.pad(inputs["y"], size), "w": base.pad(np.ones(n), size)})
    return base.sample_nuts(compiled, data, seed=seed, sampler=sampler, label=label,
                            var_names=["sigma_slope", "sigma_level", "sigma_obs"], min_target_accept=0.95,
                            min_tune=1500)


def forecast(inputs: dict, prior: dict, draws: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per draw: mean and variance of the measured logit share at the target period, given the data
    (the Gaussian conditional of the latent trend, plus measurement noise)."""
    t = np.asarray(inputs["t"], dtype=float)
    y = np.asarray(inputs["y"], dtype=float)
    times = np.append(t, inputs["target"])
    mean = prior["intercept_mu"] + prior["slope_mu"] * times
    sd = (prior["intercept_sigma"], prior["slope_sigma"])
    out_mean, out_var = [], []
    for s_slope, s_level, s_obs in zip(draws["sigma_slope"], draws["sigma_level"], draws["sigma_obs"]):
        k = covariance(times, sd, s_slope, s_level)
        if t.size:
            k_oo = k[:-1, :-1] + s_obs**2 * np.eye(t.size)
            k_to = k[-1, :-1]
            weights = np.linalg.solve(k_oo, k_to)
            out_mean.append(mean[-1] + weights @ (y - mean[:-1]))
            out_var.append(k[-1, -1] - k_to @ weights + s_obs**2)
        else:
            out_mean.append(mean[-1])
            out_var.append(k[-1, -1] + s_obs**2)
    return np.asarray(out_mean), np.maximum(np.asarray(out_var), 1e-12)


def fit(inputs: dict, prior: dict, *, seed: int, sampler, label: str) -> FitResult:
    draws, diagnostics = sample(inputs, prior, seed=seed, sampler=sampler, label=label)
    mean, var = forecast(inputs, prior, draws)
    below = stats.norm.cdf((special.logit(inputs["threshold"]) - mean) / np.sqrt(var))
    per_draw = below if inputs["direction"] == "below" else 1 - below
    probability, mcse = base.mean_and_mcse(per_draw, diagnostics.ess_bulk_min)
    rng = np.random.default_rng(seed)
    share = 1 / (1 + np.exp(-(mean + np.sqrt(var) * rng.standard_normal(mean.size))))
    lo, med, hi = np.quantile(share, [0.05, 0.5, 0.95])
    return FitResult(probability, mcse, Quantity(QUANTITY, float(med), float(lo), float(hi)), diagnostics,
                     {"sigma_slope_median": float(np.median(draws["sigma_slope"]))})


class LogisticTrend(FamilyBase):
    name = "logistic_trend"
    version = 2
    quantity = QUANTITY
    observation = "`entity` = settings.series and `value` (a share in [0, 1]), dated by the period measured"
    PRIOR = PRIOR_KEYS
    SETTINGS = {"series": Setting(str, "the entity whose share is tracked"),
                "t0": Setting("date", "the date the prior's level and slope refer to"),
                "threshold": Setting(float, "share in (0, 1)"),
                "direction": Setting(str, "above or below", choices=("above", "below")),
                "drift_scale": Setting(float, "half-normal scale of the slope's wander per year^(1/2) "
                                       f"(default {DEFAULTS['drift_scale']})", required=False),
                "level_scale": Setting(float, "half-normal scale of the level's own wander per year^(1/2) "
                                       f"(default {DEFAULTS['level_scale']})", required=False),
                "noise_scale": Setting(float, "half-normal scale of a published figure's noise on the logit scale "
                                       f"(default {DEFAULTS['noise_scale']})", required=False),
                "measure_lag_days": Setting(int, "days between the end of the period the resolving measurement "
                                            "describes and resolves_by (default 0)", required=False)}
    COLUMNS = ("entity", "value")

    def check_settings(self, settings):
        if not 0 < settings["threshold"] < 1:
            return [("model.settings", "threshold is outside (0, 1)", "a share strictly between 0 and 1")]
        return []

    def check_row(self, prediction, row):
        return row_problems(row, prediction.model.settings)

    def row_hints(self, prediction, data):
        return {"entity": ("the series", (prediction.model.settings["series"],)),
                "value": ("the measured share, between 0 and 1 (observed_on: the middle of the period measured)", ())}

    def prepare(self, prediction, rows, as_of, data=None):
        return prepare(prediction, rows, as_of)

    def fit(self, inputs, prior, *, seed, sampler, label):
        return fit(inputs, prior, seed=seed, sampler=sampler, label=label)

    def scale_prior(self, prior, factor):
        out = dict(prior)
        for key in ("intercept_sigma", "slope_sigma"):
            out[key] = float(prior[key]) / np.sqrt(factor)
        return out

    def alternatives(self, prediction):
        s, prior = dict(prediction.model.settings), prediction.model.prior
        scale = float(setting(s, "drift_scale"))
        return {f"drift scale {scale / 2:g}": (prior, {**s, "drift_scale": scale / 2}),
                f"drift scale {scale * 2:g}": (prior, {**s, "drift_scale": scale * 2})}


FAMILY = LogisticTrend()
