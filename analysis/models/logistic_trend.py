"""A share over time: logit(share) = intercept + slope * years since t0.

Observations are shares in [0, 1] with Beta noise, or successes out of trials. Question form: the
share at resolves_by is above (or below) ``threshold``; with Beta observations the measured share
(with its noise) is what is compared. Sampled with NUTS from one compiled model per observation kind.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import expit

from analysis.models import base
from analysis.models.base import FamilyBase, FitResult, Setting

PRIOR_KEYS = {"intercept_mu": "logit share at t0", "intercept_sigma": "its sd",
              "slope_mu": "logit change per year", "slope_sigma": "its sd"}
DEFAULT_DRIFT_SD = 0.5
QUANTITY = "share at resolves_by"
EPS = 1e-3


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


def prepare(prediction, rows, as_of, data=None) -> dict:
    s = prediction.model.settings
    t = [base.years(s["t0"], d) for d in rows["observed_on"]]
    if s["observation"] == "beta":
        y = np.clip(rows["value"].astype(float), EPS, 1 - EPS).tolist()
        k = n = [0.0] * len(y)
    else:
        k, n = rows["count"].astype(float).tolist(), rows["trials"].astype(float).tolist()
        y = [0.5] * len(k)
    return {"t": t, "y": y, "k": k, "n": n, "observation": s["observation"],
            "horizon": base.years(s["t0"], prediction.resolves_by), "threshold": float(s["threshold"]),
            "direction": s["direction"], "drift_sd": float(s.get("drift_sd", DEFAULT_DRIFT_SD))}


def _model(size: int, observation: str):
    import pymc as pm

    with pm.Model() as model:
        data = {name: pm.Data(name, 0.0) for name in PRIOR_KEYS}
        t, w = pm.Data("t", np.zeros(size)), pm.Data("w", np.zeros(size))
        intercept = pm.Normal("intercept", data["intercept_mu"], data["intercept_sigma"])
        slope = pm.Normal("slope", data["slope_mu"], data["slope_sigma"])
        p = pm.math.sigmoid(intercept + slope * t)
        if observation == "beta":
            y = pm.Data("y", np.full(size, 0.5))
            phi = pm.Gamma("phi", 2.0, 0.02)
            logp = pm.logp(pm.Beta.dist(p * phi, (1 - p) * phi), y)
        else:
            k, n = pm.Data("k", np.zeros(size)), pm.Data("n", np.zeros(size))
            logp = pm.logp(pm.Binomial.dist(n=n, p=p), k)
        pm.Potential("lik", (w * logp).sum())
    return model


def sample(inputs, prior, *, seed, sampler, label):
    """Posterior draws of intercept and slope (and Beta precision ``phi``), NUTS, compiled once."""
    size = base.bucket(len(inputs["t"]))
    kind = inputs["observation"]
    compiled = base.compiled_model(("logistic_trend", kind, size), lambda: _model(size, kind))
    data = {name: float(prior[name]) for name in PRIOR_KEYS}
    observed = ("y",) if kind == "beta" else ("k", "n")
    data.update({name: base.pad(inputs[name], size, fill=0.5 if name == "y" else 0.0) for name in ("t", *observed)})
    data["w"] = base.pad(np.ones(len(inputs["t"])), size)
    names = ["intercept", "slope"] + (["phi"] if kind == "beta" else [])
    return base.sample_nuts(compiled, data, seed=seed, sampler=sampler, label=label, var_names=names)


def fit(inputs: dict, prior: dict, *, seed: int, sampler, label: str) -> FitResult:
    draws, diagnostics = sample(inputs, prior, seed=seed, sampler=sampler, label=label)
    kind = inputs["observation"]
    # A straight line is not a forecast of a trend that can bend: beyond the last observation the logit
    # also takes a random walk, so uncertainty grows with the distance extrapolated.
    gap = max(inputs["horizon"] - max(inputs["t"], default=0.0), 0.0)
    drift = np.random.default_rng(seed).normal(0.0, inputs.get("drift_sd", DEFAULT_DRIFT_SD) * np.sqrt(gap),
                                               size=draws["slope"].shape)
    share = expit(draws["intercept"] + draws["slope"] * inputs["horizon"] + drift)
    if kind == "beta":
        phi = draws["phi"]
        above = stats.beta.sf(inputs["threshold"], share * phi, (1 - share) * phi)
    else:
        above = (share > inputs["threshold"]).astype(float)
    per_draw = above if inputs["direction"] == "above" else 1 - above
    probability, mcse = base.mean_and_mcse(per_draw, diagnostics.ess_bulk_min)
    return FitResult(probability, mcse, base.summarise(QUANTITY, share), diagnostics)


class LogisticTrend(FamilyBase):
    name = "logistic_trend"
    quantity = QUANTITY
    observation = "`entity` = settings.series; `value` (a share in [0, 1]) or `count`/`trials`"
    PRIOR = PRIOR_KEYS
    SETTINGS = {"observation": Setting(str, "beta or binomial", choices=("beta", "binomial")),
                "series": Setting(str, "the entity whose share is tracked"),
                "t0": Setting("date", "the date the intercept refers to"),
                "threshold": Setting(float, "share in (0, 1)"),
                "direction": Setting(str, "above or below", choices=("above", "below")),
                "drift_sd": Setting(float, "sd of the logit's random drift per sqrt(year) beyond the last "
                                           "observation (default 0.5): trends bend", required=False)}
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


FAMILY = LogisticTrend()
