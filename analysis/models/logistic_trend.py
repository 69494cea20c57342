"""A share over time as a local-trend state-space model on the logit scale.

The logit of the share has a level and a slope that both wander: the slope is Brownian with diffusion
``sigma_slope`` per year^(1/2), the level integrates it and adds its own Brownian noise ``sigma_level``.
Both are learned from the data (half-normal priors of scale ``drift_scale`` and ``level_scale``), so a
trend bends only as much as the data say it does, and uncertainty grows with the distance extrapolated.
Time is the period a measurement describes (``observed_on``: the middle of a sampled period), and every
data point is used. The level and slope at ``t0`` have the prior's normal distributions.

Observations are shares with Beta noise (precision ``phi`` ~ Gamma(2, 2 / precision_mean): the default
mean 100 is a share's measurement sd of about 0.05 near one half) or successes out of trials. Question
form: the share measured for the period ending ``measure_lag_days`` before resolves_by is above (or
below) ``threshold``; with Beta observations the measured share, noise included, is what is compared.
Sampled with NUTS from one compiled model per observation kind and padded size.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import expit

from analysis.models import base
from analysis.models.base import FamilyBase, FitResult, Setting

PRIOR_KEYS = {"intercept_mu": "logit share at t0", "intercept_sigma": "its sd",
              "slope_mu": "logit change per year at t0", "slope_sigma": "its sd"}
DEFAULTS = {"drift_scale": 0.5, "level_scale": 0.1, "precision_mean": 100.0, "measure_lag_days": 0}
QUANTITY = "share measured at the resolving period"
EPS = 1e-3
ROOT3 = np.sqrt(3.0)


def row_problems(row: dict, settings: dict) -> list[tuple[str, str, str]]:
    out = []
    if row["entity"] != settings["series"]:
        out.append(("entity", f"entity '{row['entity']}' is not this trend's series", f"'{settings['series']}'"))
    if settings["observation"] == "beta":
        if row["value"] is None:
            out.append(("value", "value is empty", "the measured share in [0, 1]"))
        elif not 0 <= row["value"] <= 1:
            out.append(("value", f"share {row['value']} is outside [0, 1]", "a share between 0 and 1"))
    elif row["count"] is None or row["trials"] is None:
        out.append(("count", "count and trials are needed", "binomial observations"))
    return out


def setting(settings: dict, key: str):
    return settings.get(key, DEFAULTS[key])


def prepare(prediction, rows, as_of, data=None) -> dict:
    s = prediction.model.settings
    ordered = rows.sort_values(["observed_on", "id"])
    t = [base.years(s["t0"], d) for d in ordered["observed_on"]]
    if s["observation"] == "beta":
        y = np.clip(ordered["value"].astype(float), EPS, 1 - EPS).tolist()
        k = n = [0.0] * len(y)
    else:
        k, n = ordered["count"].astype(float).tolist(), ordered["trials"].astype(float).tolist()
        y = [0.5] * len(k)
    target = prediction.resolves_by.toordinal() - int(setting(s, "measure_lag_days"))
    return {"t": t, "y": y, "k": k, "n": n, "observation": s["observation"],
            "target": (target - s["t0"].toordinal()) / base.DAYS_PER_YEAR, "threshold": float(s["threshold"]),
            "direction": s["direction"], **{key: float(setting(s, key)) for key in DEFAULTS}}


def _times(inputs: dict, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaps between consecutive states (the first from t0 or from the first observation, whichever is
    earlier), padded with zero gaps; and the origin's offset from t0."""
    t = np.asarray(inputs["t"], dtype=float)
    origin = min(0.0, t[0]) if t.size else 0.0
    gaps = np.diff(np.concatenate([[origin], t])) if t.size else np.zeros(0)
    return base.pad(gaps, size), origin


def _model(size: int, observation: str):
    import pymc as pm

    with pm.Model() as model:
        prior = {name: pm.Data(name, 0.0) for name in PRIOR_KEYS}
        origin = pm.Data("origin", 0.0)
        gaps = pm.Data("gaps", np.zeros(size))
        w = pm.Data("w", np.zeros(size))
        drift_scale, level_scale = pm.Data("drift_scale", 0.5), pm.Data("level_scale", 0.1)
        level0 = pm.Normal("level0", prior["intercept_mu"] + prior["slope_mu"] * origin,
                           pm.math.sqrt(prior["intercept_sigma"] ** 2 + (prior["slope_sigma"] * origin) ** 2))
        slope0 = pm.Normal("slope0", prior["slope_mu"], prior["slope_sigma"])
        sigma_slope = pm.HalfNormal("sigma_slope", drift_scale)
        sigma_level = pm.HalfNormal("sigma_level", level_scale)
        a, b, c = (pm.Normal(name, 0.0, 1.0, shape=size) for name in ("a", "b", "c"))
        root = pm.math.sqrt(gaps)
        slope_steps = sigma_slope * root * a
        slopes = slope0 + pm.math.cumsum(slope_steps)
        slope_before = slopes - slope_steps
        level_steps = (slope_before * gaps + sigma_slope * gaps * root * (a / 2 + b / (2 * ROOT3))
                       + sigma_level * root * c)
        levels = pm.Deterministic("levels", level0 + pm.math.cumsum(level_steps))
        pm.Deterministic("slopes", slopes)
        p = pm.math.sigmoid(levels)
        if observation == "beta":
            y = pm.Data("y", np.full(size, 0.5))
            precision_mean = pm.Data("precision_mean", 100.0)
            phi = pm.Gamma("phi", 2.0, 2.0 / precision_mean)
            logp = pm.logp(pm.Beta.dist(p * phi, (1 - p) * phi), y)
        else:
            k, n = pm.Data("k", np.zeros(size)), pm.Data("n", np.zeros(size))
            logp = pm.logp(pm.Binomial.dist(n=n, p=p), k)
        pm.Potential("lik", (w * logp).sum())  # padded states carry weight 0
    return model


def sample(inputs, prior, *, seed, sampler, label):
    """Posterior draws of the states at each observation, the drift scales and (Beta) the precision."""
    n = len(inputs["t"])
    size = base.bucket(max(n, 1), smallest=8)
    kind = inputs["observation"]
    compiled = base.compiled_model(("logistic_trend", kind, size), lambda: _model(size, kind))
    gaps, origin = _times(inputs, size)
    data = {name: float(prior[name]) for name in PRIOR_KEYS}
    data.update({"origin": origin, "gaps": gaps, "w": base.pad(np.ones(n), size),
                 "drift_scale": inputs["drift_scale"], "level_scale": inputs["level_scale"]})
    if kind == "beta":
        data.update({"y": base.pad(inputs["y"], size, fill=0.5), "precision_mean": inputs["precision_mean"]})
    else:
        data.update({"k": base.pad(inputs["k"], size), "n": base.pad(inputs["n"], size)})
    names = ["levels", "slopes", "sigma_slope", "sigma_level"] + (["phi"] if kind == "beta" else [])
    draws, diagnostics = base.sample_nuts(compiled, data, seed=seed, sampler=sampler, label=label, var_names=names,
                                          min_target_accept=0.95)
    last = max(n - 1, 0)
    draws["level"] = draws["levels"][:, last] if n else draws["levels"][:, 0]
    draws["slope"] = draws["slopes"][:, last] if n else draws["slopes"][:, 0]
    return draws, diagnostics


def extrapolate(level, slope, sigma_slope, sigma_level, gap: float, rng: np.random.Generator) -> np.ndarray:
    """The logit share ``gap`` years after the last state, with the trend's own wandering."""
    a, b, c = rng.standard_normal((3, np.size(level)))
    return (level + slope * gap + sigma_slope * gap ** 1.5 * (a / 2 + b / (2 * ROOT3))
            + sigma_level * np.sqrt(gap) * c)


def fit(inputs: dict, prior: dict, *, seed: int, sampler, label: str) -> FitResult:
    draws, diagnostics = sample(inputs, prior, seed=seed, sampler=sampler, label=label)
    last = inputs["t"][-1] if inputs["t"] else min(0.0, inputs["target"])
    gap = max(inputs["target"] - last, 0.0)
    rng = np.random.default_rng(seed)
    share = expit(extrapolate(draws["level"], draws["slope"], draws["sigma_slope"], draws["sigma_level"], gap, rng))
    if inputs["observation"] == "beta":
        phi = draws["phi"]
        above = stats.beta.sf(inputs["threshold"], share * phi, (1 - share) * phi)
    else:
        above = (share > inputs["threshold"]).astype(float)
    per_draw = above if inputs["direction"] == "above" else 1 - above
    probability, mcse = base.mean_and_mcse(per_draw, diagnostics.ess_bulk_min)
    return FitResult(probability, mcse, base.summarise(QUANTITY, share), diagnostics,
                     {"sigma_slope_median": float(np.median(draws["sigma_slope"]))})


class LogisticTrend(FamilyBase):
    name = "logistic_trend"
    version = 2
    quantity = QUANTITY
    observation = "`entity` = settings.series; `value` (a share in [0, 1]) or `count`/`trials`, dated by the " \
                  "middle of the period measured"
    PRIOR = PRIOR_KEYS
    SETTINGS = {"observation": Setting(str, "beta or binomial", choices=("beta", "binomial")),
                "series": Setting(str, "the entity whose share is tracked"),
                "t0": Setting("date", "the date the prior's level and slope refer to"),
                "threshold": Setting(float, "share in (0, 1)"),
                "direction": Setting(str, "above or below", choices=("above", "below")),
                "drift_scale": Setting(float, "half-normal scale of the slope's wander per year^(1/2) "
                                       f"(default {DEFAULTS['drift_scale']})", required=False),
                "level_scale": Setting(float, "half-normal scale of the level's own wander per year^(1/2) "
                                       f"(default {DEFAULTS['level_scale']})", required=False),
                "precision_mean": Setting(float, "prior mean of the Beta precision of a measured share "
                                          f"(default {DEFAULTS['precision_mean']:g})", required=False),
                "measure_lag_days": Setting(int, "days between the end of the period the resolving measurement "
                                            "describes and resolves_by (default 0)", required=False)}
    COLUMNS = ("entity", "value", "count", "trials")

    def check_settings(self, settings):
        if not 0 < settings["threshold"] < 1:
            return [("model.settings", "threshold is outside (0, 1)", "a share strictly between 0 and 1")]
        return []

    def check_row(self, prediction, row):
        return row_problems(row, prediction.model.settings)

    def prepare(self, prediction, rows, as_of, data=None):
        return prepare(prediction, rows, as_of)

    def fit(self, inputs, prior, *, seed, sampler, label):
        return fit(inputs, prior, seed=seed, sampler=sampler, label=label)

    def scale_prior(self, prior, factor):
        out = dict(prior)
        for key in ("intercept_sigma", "slope_sigma"):
            out[key] = float(prior[key]) / np.sqrt(factor)
        return out

    def structure_key(self, prediction):
        return (self.name, prediction.model.settings.get("observation", ""))

    def alternatives(self, prediction):
        s, prior = dict(prediction.model.settings), prediction.model.prior
        scale = float(setting(s, "drift_scale"))
        return {f"drift scale {scale / 2:g}": (prior, {**s, "drift_scale": scale / 2}),
                f"drift scale {scale * 2:g}": (prior, {**s, "drift_scale": scale * 2})}


FAMILY = LogisticTrend()
