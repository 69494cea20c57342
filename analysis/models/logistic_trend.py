"""A share over time as a local-linear-trend state-space model on the logit scale.

The logit of the share follows a smooth local-linear trend: its slope wanders as a Brownian motion with
diffusion ``sigma_slope`` per year^(1/2) and the level integrates it, and each published figure adds
measurement noise ``sigma_obs``. Both are learned from the data (half-normal priors of scale
``drift_scale`` and ``noise_scale``), so a trend bends only as much as the data say it does, and
uncertainty grows with the distance extrapolated. (A separate random walk on the level is left out: with
a few figures a year it cannot be told apart from measurement noise, and sampling both mixes poorly.) The level and
slope at ``t0`` have the prior's normal distributions. Time is the period a measurement describes
(``observed_on``: the middle or end of the sampled period), and every data point is used.

The states are integrated out exactly (the model is Gaussian on the logit scale: the Kalman-filter
likelihood is one multivariate normal), which leaves two unknowns, the noise scales. Their posterior is
computed on a grid (quadrature), so the family needs no sampler and has no convergence to fail; a test
checks it against PyMC sampling the same model. Question form: the share measured for the period ending
``measure_lag_days`` before resolves_by is above (or below) ``threshold``, measurement noise included.

A series that mixes measurement bases (a report that changed what it samples, a tracker that changed its
basket) marks each figure's basis in ``category``: figures on one basis share an offset from the first
basis, normal with sd ``basket_sd`` on the logit scale, integrated out exactly like the states. The
resolving figure is on the latest basis, so a method change is never read as a trend.
"""

from __future__ import annotations

import numpy as np

from analysis.models import base
from analysis.models.base import Diagnostics, FamilyBase, FitResult, Quantity, Setting, special, stats

PRIOR_KEYS = {"intercept_mu": "logit share at t0", "intercept_sigma": "its sd",
              "slope_mu": "logit change per year at t0", "slope_sigma": "its sd"}
DEFAULTS = {"drift_scale": 0.5, "noise_scale": 0.1, "measure_lag_days": 0, "basket_sd": 0.3}
SCALES = ("drift_scale", "noise_scale")
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
    bases = [str(c or "") for c in ordered["category"]] if "category" in ordered else [""] * len(ordered)
    return {"t": [base.years(s["t0"], d) for d in ordered["observed_on"]],
            "y": special.logit(np.clip(ordered["value"].astype(float), EPS, 1 - EPS)).tolist(),
            "target": (target - s["t0"].toordinal()) / base.DAYS_PER_YEAR,
            "threshold": float(s["threshold"]), "direction": s["direction"],
            "basis": bases, "target_basis": bases[-1] if bases else "", "basket_sd": float(setting(s, "basket_sd")),
            **{key: float(setting(s, key)) for key in SCALES}}


def basis_covariance(inputs: dict) -> np.ndarray:
    """The shared offsets of figures on one measurement basis (the first basis is the reference), for the
    observations and, last, the resolving figure (on the latest basis)."""
    bases = list(inputs.get("basis") or [""] * len(inputs["t"])) + [inputs.get("target_basis", "")]
    reference = bases[0]
    b = np.array(bases, dtype=object)
    same = (b[:, None] == b[None, :]) & (b[:, None] != reference)
    return float(inputs.get("basket_sd", 0.0)) ** 2 * same.astype(float)


def covariance(t, prior_sd, sigma_slope, xp=np):
    """Covariance of the latent logit at times ``t`` (years from t0): the level's and slope's prior
    spread at t0, and integrated Brownian slope noise from the origin ``min(0, t)`` on. Written for numpy
    and pytensor alike (``xp``)."""
    intercept_sd, slope_sd = prior_sd
    origin = xp.minimum(xp.min(t), 0.0) if xp is not np else min(float(np.min(t)), 0.0)
    u = t - origin
    s, v = u[:, None], u[None, :]
    low, high = xp.minimum(s, v), xp.maximum(s, v)
    integrated = low**2 * high / 2 - low**3 / 6
    return intercept_sd**2 + slope_sd**2 * t[:, None] * t[None, :] + sigma_slope**2 * integrated


GRID = 90  # log-spaced points per noise scale


def _grid(scale: float, floor: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Log-spaced points over a half-normal(scale) prior, with log weights (prior density x spacing)."""
    excess = np.geomspace(scale * 1e-3, scale * 4.0, GRID)
    log_prior = -0.5 * (excess / scale) ** 2 + np.log(excess)  # the density on a log grid carries the Jacobian
    return floor + excess, log_prior


def posterior_grid(inputs: dict, prior: dict) -> dict:
    """The exact posterior of the two noise scales on a grid: the states are Gaussian and integrated out,
    so each grid point's weight is the prior density times the multivariate-normal likelihood."""
    t = np.asarray(inputs["t"], dtype=float)
    y = np.asarray(inputs["y"], dtype=float)
    times = np.append(t, inputs["target"])
    mean = prior["intercept_mu"] + prior["slope_mu"] * times
    sd = (prior["intercept_sigma"], prior["slope_sigma"])
    fixed = covariance(times, sd, 0.0) + basis_covariance(inputs)
    per_slope = covariance(times, (0.0, 0.0), 1.0)  # the part that scales with sigma_slope squared
    slopes, log_slope = _grid(inputs["drift_scale"])
    noises, log_noise = _grid(inputs["noise_scale"], NOISE_FLOOR)
    log_w = np.empty((GRID, GRID))
    mu = np.empty((GRID, GRID))
    var = np.empty((GRID, GRID))
    r = y - mean[:-1]
    for i, s_slope in enumerate(slopes):
        k = fixed + s_slope**2 * per_slope
        if t.size:
            lam, q = np.linalg.eigh(k[:-1, :-1])
            qr, qk = q.T @ r, q.T @ k[-1, :-1]
            denom = lam[None, :] + noises[:, None] ** 2  # (noise grid, n)
            log_w[i] = -0.5 * (np.log(denom).sum(axis=1) + (qr**2 / denom).sum(axis=1))
            mu[i] = mean[-1] + (qk * qr / denom).sum(axis=1)
            var[i] = k[-1, -1] - (qk**2 / denom).sum(axis=1) + noises**2
        else:
            log_w[i], mu[i], var[i] = 0.0, mean[-1], k[-1, -1] + noises**2
    log_w += log_slope[:, None] + log_noise[None, :]
    weights = np.exp(log_w - log_w.max())
    return {"weights": weights / weights.sum(), "mean": mu, "var": np.maximum(var, 1e-12), "slopes": slopes,
            "noises": noises}


def fit(inputs: dict, prior: dict, *, seed: int, sampler=None, label: str = "") -> FitResult:
    g = posterior_grid(inputs, prior)
    below = stats.norm.cdf((special.logit(inputs["threshold"]) - g["mean"]) / np.sqrt(g["var"]))
    per_point = below if inputs["direction"] == "below" else 1 - below
    probability = float((g["weights"] * per_point).sum())
    rng = np.random.default_rng(seed)
    pick = rng.choice(g["weights"].size, size=20_000, p=g["weights"].ravel())
    draws = g["mean"].ravel()[pick] + np.sqrt(g["var"].ravel()[pick]) * rng.standard_normal(pick.size)
    lo, med, hi = np.quantile(special.expit(draws), [0.05, 0.5, 0.95])
    slope_median = float(g["slopes"][np.searchsorted(np.cumsum(g["weights"].sum(axis=1)), 0.5)])
    return FitResult(probability, 0.0, Quantity(QUANTITY, float(med), float(lo), float(hi)),
                     Diagnostics(None, None, 0, exact=True, method="quadrature"),
                     {"sigma_slope_median": slope_median})


def pymc_model(inputs: dict, prior: dict):
    """The same model in PyMC (noise scales sampled, states integrated out), for the cross-check."""
    import pymc as pm

    t = np.asarray(inputs["t"], dtype=float)
    with pm.Model() as model:
        sigma_slope = pm.HalfNormal("sigma_slope", inputs["drift_scale"])
        sigma_obs = pm.Deterministic("sigma_obs", NOISE_FLOOR + pm.HalfNormal("sigma_obs_excess",
                                                                             inputs["noise_scale"]))
        import pytensor.tensor as pt

        cov = covariance(pt.as_tensor(t), (prior["intercept_sigma"], prior["slope_sigma"]), sigma_slope, xp=pt)
        cov = cov + basis_covariance(inputs)[:-1, :-1] + sigma_obs**2 * pt.eye(t.size)
        pm.MvNormal("logit_share", mu=prior["intercept_mu"] + prior["slope_mu"] * t, cov=cov,
                    observed=np.asarray(inputs["y"]))
    return model


class LogisticTrend(FamilyBase):
    name = "logistic_trend"
    version = 3
    quantity = QUANTITY
    observation = ("`entity` = settings.series and `value` (a share in [0, 1]), dated by the period measured; "
                   "`category` = the figure's measurement basis when a series mixes them")
    PRIOR = PRIOR_KEYS
    SETTINGS = {"series": Setting(str, "the entity whose share is tracked"),
                "t0": Setting("date", "the date the prior's level and slope refer to"),
                "threshold": Setting(float, "share in (0, 1)"),
                "direction": Setting(str, "above or below", choices=("above", "below")),
                "drift_scale": Setting(float, "half-normal scale of the slope's wander per year^(1/2) "
                                       f"(default {DEFAULTS['drift_scale']})", required=False),
                "noise_scale": Setting(float, "half-normal scale of a published figure's noise on the logit scale "
                                       f"(default {DEFAULTS['noise_scale']})", required=False),
                "measure_lag_days": Setting(int, "days between the end of the period the resolving measurement "
                                            "describes and resolves_by (default 0)", required=False),
                "basket_sd": Setting(float, "sd, on the logit scale, of the offset of figures on another "
                                     f"measurement basis (`category`; default {DEFAULTS['basket_sd']})", required=False)}
    COLUMNS = ("entity", "value", "category")

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
        basket = float(setting(s, "basket_sd"))
        return {f"drift scale {scale / 2:g}": (prior, {**s, "drift_scale": scale / 2}),
                f"drift scale {scale * 2:g}": (prior, {**s, "drift_scale": scale * 2}),
                f"basis offsets sd {basket * 2:g}": (prior, {**s, "basket_sd": basket * 2}),
                "no basis offsets (every figure on one basis)": (prior, {**s, "basket_sd": 0.0})}


FAMILY = LogisticTrend()
