"""An event rate: counts over exposure, Gamma prior on events per year.

Question form: at least ``min_events`` counted events dated in [count_from, resolves_by].
Exposure runs from ``window_start`` to the as-of date, or only to the chapter's reviewed-through date (the
coverage record) when that is earlier: events first public after it count toward the question's tally,
never toward the rate, and the forecast's future starts there.
``min_value`` counts only rows whose ``value`` reaches it (e.g. >= 100B parameters); ``entities`` only
rows about the question's named units. ``half_life`` (years) weights old events and old exposure down
(a power prior), so a rate that has changed is followed; the posterior stays exact.
Unpooled: exact Gamma posterior, negative-binomial predictive. Pooled (``pooled: true``): rates of
all categories share a hierarchical Gamma prior, sampled with NUTS (one compiled model for all).
"""

from __future__ import annotations

import numpy as np

from analysis.models import base
from analysis.models.base import Diagnostics, FamilyBase, FitResult, Quantity, Setting, stats

QUANTITY = "events per year"


def row_problems(row: dict, settings: dict) -> list[tuple[str, str, str]]:
    if row["event"] not in settings["events"]:
        return [("event", f"event '{row['event']}' is not counted by this prediction",
                 "one of " + ", ".join(settings["events"]))]
    return []


def _weight(age_years, half_life):
    return 0.5 ** (np.asarray(age_years, dtype=float) / half_life) if half_life else np.ones(np.shape(age_years))


def _exposure(start, end, half_life) -> float:
    """Years from ``start`` to ``end``, each weighted by 0.5^(its age at ``end`` / half_life)."""
    span = max(base.years(start, end), 1 / base.DAYS_PER_YEAR)
    return span if not half_life else half_life / np.log(2) * (1 - 0.5 ** (span / half_life))


def prepare(prediction, rows, as_of, data=None) -> dict:
    s = prediction.model.settings
    window_start, count_from = s["window_start"], s["count_from"]
    end = base.record_end(prediction, as_of, data)
    used = rows[rows["event"].isin(s["events"])]
    if s.get("min_value") is not None:
        used = used[used["value"].fillna(-np.inf) >= s["min_value"]]
    if s.get("entities"):
        used = used[used["entity"].isin(s["entities"])]
    counts = used["count"].fillna(1).astype(int)
    target = s.get("category")
    in_target = (used["category"] == target).to_numpy() if target else np.ones(len(used), dtype=bool)
    history = ((used["observed_on"] >= window_start) & (used["observed_on"] <= end)).to_numpy()
    ages = [base.years(d, end) for d in used["observed_on"]]
    weights = _weight(ages, s.get("half_life")) * history
    categories = sorted(set(used["category"][history]) | ({target} if target else set()))
    already = int(counts[in_target & (used["observed_on"] >= count_from).to_numpy()].sum())
    return {
        "events": float((counts * weights)[in_target].sum()),
        "exposure": float(_exposure(window_start, end, s.get("half_life"))),
        "horizon": max(base.years(max(end, count_from), prediction.resolves_by), 0.0),
        "need": max(int(s["min_events"]) - already, 0),
        "pooled": bool(s.get("pooled", False)),
        "categories": categories,
        "category_events": [int(counts[((used["category"] == c).to_numpy()) & history].sum()) for c in categories],
        "target_index": categories.index(target) if target else -1,
    }


def posterior(inputs: dict, prior: dict) -> tuple[float, float]:
    return float(prior["alpha"]) + inputs["events"], float(prior["beta"]) + inputs["exposure"]


def fit(inputs: dict, prior: dict, *, seed: int, sampler, label: str) -> FitResult:
    if inputs["pooled"] and inputs["target_index"] >= 0:
        return _fit_pooled(inputs, prior, seed=seed, sampler=sampler, label=label)
    a, b = posterior(inputs, prior)
    need, horizon = inputs["need"], inputs["horizon"]
    if need == 0:
        probability = 1.0
    elif horizon == 0:
        probability = 0.0
    else:
        probability = float(stats.nbinom.sf(need - 1, a, b / (b + horizon)))
    lo, med, hi = stats.gamma.ppf([0.05, 0.5, 0.95], a, scale=1 / b)
    return FitResult(probability, 0.0, Quantity(QUANTITY, float(med), float(lo), float(hi)),
                     Diagnostics(None, None, 0, exact=True, method="closed-form"))


def _pooled_model(size: int):
    import pymc as pm

    with pm.Model() as model:
        alpha = pm.Data("alpha", 1.0)
        beta = pm.Data("beta", 1.0)
        counts = pm.Data("counts", np.zeros(size))
        weights = pm.Data("weights", np.zeros(size))
        exposure = pm.Data("exposure", 1.0)
        mu = pm.Gamma("mu", alpha, beta)
        tau = pm.Gamma("tau", 2.0, 3.0)  # zero-avoiding: no funnel neck at tau -> 0
        z = pm.Normal("z", 0.0, 1.0, shape=size)
        # Non-centred log-normal pooling (no funnel); exp(-tau^2/2) keeps mu the mean rate.
        rate = pm.Deterministic("rate", mu * pm.math.exp(tau * z - tau**2 / 2))
        pm.Potential("lik", (weights * pm.logp(pm.Poisson.dist(rate * exposure), counts)).sum())
    return model


def sample(inputs, prior, *, seed, sampler, label):
    """Pooled posterior draws: mean rate ``mu``, spread ``tau`` and each category's ``rate``."""
    n = len(inputs["categories"])
    size = base.bucket(n, smallest=8)
    compiled = base.compiled_model(("gamma_poisson.pooled", size), lambda: _pooled_model(size))
    data = {"alpha": float(prior["alpha"]), "beta": float(prior["beta"]), "exposure": inputs["exposure"],
            "counts": base.pad(inputs["category_events"], size), "weights": base.pad(np.ones(n), size)}
    return base.sample_nuts(compiled, data, seed=seed, sampler=sampler, label=label,
                            var_names=["mu", "tau", "rate"], min_target_accept=0.99)


def _fit_pooled(inputs, prior, *, seed, sampler, label) -> FitResult:
    draws, diagnostics = sample(inputs, prior, seed=seed, sampler=sampler, label=label)
    rate = draws["rate"][:, inputs["target_index"]]
    per_draw = stats.poisson.sf(inputs["need"] - 1, rate * inputs["horizon"]) if inputs["need"] else np.ones_like(rate)
    probability, mcse = base.mean_and_mcse(per_draw, diagnostics.ess_bulk_min)
    return FitResult(probability, mcse, base.summarise(QUANTITY, rate), diagnostics)


def pymc_model(inputs: dict, prior: dict):
    import pymc as pm

    with pm.Model() as model:
        rate = pm.Gamma("rate", float(prior["alpha"]), float(prior["beta"]))
        pm.Poisson("obs", rate * inputs["exposure"], observed=inputs["events"])
    return model


class GammaPoisson(FamilyBase):
    name = "gamma_poisson"
    quantity = QUANTITY
    version = 3
    time_dependent = True
    reads_time = True
    observation = "`event` in settings.events, optional `category`, `count` (default 1), `value`, `entity`"
    PRIOR = {"alpha": "Gamma shape (prior events)", "beta": "Gamma rate (prior years of exposure)"}
    SETTINGS = {"events": Setting(list, "event names counted"),
                "window_start": Setting("date", "date exposure starts"),
                "count_from": Setting("date", "date from which events count toward the question"),
                "min_events": Setting(int, "events needed for YES"),
                "category": Setting(str, "the category the question is about", required=False),
                "pooled": Setting(bool, "pool categories hierarchically", required=False),
                "min_value": Setting(float, "count only rows whose `value` is at least this", required=False),
                "entities": Setting(list, "count only rows about these units (the question's named set)",
                                    required=False),
                "half_life": Setting(float, "years over which an old event or year of exposure loses half its "
                                     "weight (default: none)", required=False)}
    COLUMNS = ("event", "category", "count", "value", "entity")

    def check_row(self, prediction, row):
        return row_problems(row, prediction.model.settings)

    def prepare(self, prediction, rows, as_of, data=None):
        return prepare(prediction, rows, as_of, data)

    def fit(self, inputs, prior, *, seed, sampler, label):
        return fit(inputs, prior, seed=seed, sampler=sampler, label=label)

    def structure_key(self, prediction):
        return (self.name, bool(prediction.model.settings.get("pooled")))

    def row_hints(self, prediction, data):
        s = prediction.model.settings
        hints = {"event": ("the event counted", tuple(s["events"])), "count": ("events this row records (default 1)", ())}
        if s.get("category"):
            hints["category"] = ("the subgroup (the question counts only its own)", (s["category"],))
        if s.get("min_value") is not None:
            hints["value"] = (f"the size measure (the question counts rows with at least {s['min_value']:g})", ())
        if s.get("entities"):
            hints["entity"] = ("who it is about (the question counts only its named units)", tuple(s["entities"]))
        return hints

    def alternatives(self, prediction):
        s, prior = dict(prediction.model.settings), prediction.model.prior
        later = s["window_start"].replace(year=s["window_start"].year + 1)
        out = {"history from one year later": (prior, {**s, "window_start": later})}
        if not s.get("pooled"):
            out["recent years weighted (half-life 1 year)"] = (prior, {**s, "half_life": 1.0})
        return out

    def progress(self, prediction, inputs):
        need = int(prediction.model.settings["min_events"])
        return need - inputs["need"], need


FAMILY = GammaPoisson()
