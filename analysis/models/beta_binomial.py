"""A proportion: successes out of trials, Beta prior, exact Beta posterior.

Question form: at least ``min_successes`` of the next ``future_trials`` units are successes.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from analysis.models.base import Diagnostics, FamilyBase, FitResult, Quantity, Setting

QUANTITY = "share"


def row_problems(row: dict, settings: dict) -> list[tuple[str, str, str]]:
    out = []
    if row["event"] != settings["event"]:
        out.append(("event", f"event '{row['event']}' is not what this prediction counts", f"'{settings['event']}'"))
    if row["count"] is None or row["trials"] is None:
        out.append(("count", "count and trials are needed", "successes in `count`, units in `trials`"))
    return out


def prepare(prediction, rows, as_of, data=None) -> dict:
    used = rows[rows["event"] == prediction.model.settings["event"]]
    return {"successes": int(used["count"].sum()), "trials": int(used["trials"].sum()),
            "future_trials": int(prediction.model.settings["future_trials"]),
            "min_successes": int(prediction.model.settings["min_successes"])}


def posterior(inputs: dict, prior: dict) -> tuple[float, float]:
    s, n = inputs["successes"], inputs["trials"]
    return float(prior["alpha"]) + s, float(prior["beta"]) + n - s


def fit(inputs: dict, prior: dict, *, seed: int, sampler, label: str) -> FitResult:
    a, b = posterior(inputs, prior)
    k, n = inputs["min_successes"], inputs["future_trials"]
    probability = float(stats.betabinom.sf(k - 1, n, a, b))
    lo, med, hi = stats.beta.ppf([0.05, 0.5, 0.95], a, b)
    return FitResult(probability, 0.0, Quantity(QUANTITY, float(med), float(lo), float(hi)),
                     Diagnostics(None, None, 0, exact=True, method="closed-form"))


def pymc_model(inputs: dict, prior: dict):
    """The same model in PyMC, for the exact cross-check in the tests."""
    import pymc as pm

    with pm.Model() as model:
        p = pm.Beta("p", float(prior["alpha"]), float(prior["beta"]))
        pm.Binomial("obs", n=inputs["trials"], p=p, observed=inputs["successes"])
    return model


def pymc_probability(draws: dict, inputs: dict, rng: np.random.Generator) -> np.ndarray:
    return stats.binom.sf(inputs["min_successes"] - 1, inputs["future_trials"], draws["p"])


class BetaBinomial(FamilyBase):
    name = "beta_binomial"
    quantity = QUANTITY
    observation = "`event` = settings.event, `count` (successes) and `trials`"
    PRIOR = {"alpha": "Beta prior successes", "beta": "Beta prior failures"}
    SETTINGS = {"event": Setting(str, "the event whose rows carry count/trials"),
                "future_trials": Setting(int, "units observed by resolves_by"),
                "min_successes": Setting(int, "successes needed for YES")}
    COLUMNS = ("event", "count", "trials")

    def check_row(self, prediction, row):
        return row_problems(row, prediction.model.settings)

    def prepare(self, prediction, rows, as_of, data=None):
        return prepare(prediction, rows, as_of)

    def fit(self, inputs, prior, *, seed, sampler, label):
        return fit(inputs, prior, seed=seed, sampler=sampler, label=label)


FAMILY = BetaBinomial()
