"""A single event, updated by analysts' likelihood ratios (Bayesian signposts).

P(YES) = E[ logistic( logit(p0) + sum_i ln LR_i ) ] with p0 ~ Beta(alpha, beta) from a stated
reference class and ln LR_i ~ Normal(ln lr_i, lr_sd_i): the analyst's uncertainty is propagated.
The draws are independent, so this is plain Monte Carlo with an explicit seed.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

from analysis.models import base
from analysis.models.base import Diagnostics, FamilyBase, FitResult

QUANTITY = "probability"
DEFAULT_LR_SD = 0.5


def lr_for(cell: str, prediction_id: str) -> float | None:
    """The likelihood ratio a row's ``lr`` cell gives one prediction (None when it names others)."""
    cell = (cell or "").strip()
    if not cell:
        return None
    if "=" not in cell:
        return float(cell)
    for part in cell.split(";"):
        key, _, value = part.partition("=")
        if key.strip() == prediction_id:
            return float(value)
    return None


def row_problems(row: dict, settings: dict, prediction_id: str = "") -> list[tuple[str, str, str]]:
    try:
        lr = lr_for(row["lr"], prediction_id)
    except ValueError:
        return [("lr", f"lr '{row['lr']}' is not a number or ID=number list", "e.g. 2.5 or EXP-1=2.5;EXP-3=0.8")]
    out = []
    if lr is None:
        out.append(("lr", f"no likelihood ratio for {prediction_id}", "a number > 0 in `lr`"))
    elif not lr > 0 or not np.isfinite(lr):
        out.append(("lr", f"likelihood ratio {lr} is not positive", "a number > 0"))
    if not row["reason"]:
        out.append(("reason", "a likelihood-ratio row needs a reason", "one line on why the fact is diagnostic"))
    if row["lr_sd"] is not None and row["lr_sd"] < 0:
        out.append(("lr_sd", "lr_sd is negative", "a standard deviation >= 0"))
    return out


def prepare(prediction, rows, as_of, data=None) -> dict:
    log_lr, sd = [], []
    for cell, spread in zip(rows["lr"], rows["lr_sd"]):
        lr = lr_for(cell, prediction.id)
        log_lr.append(float(np.log(lr)))
        sd.append(DEFAULT_LR_SD if spread is None or np.isnan(spread) else float(spread))
    return {"log_lr": log_lr, "sd": sd}


def fit(inputs: dict, prior: dict, *, seed: int, sampler, label: str) -> FitResult:
    rng = np.random.default_rng(seed)
    n = sampler.forward_draws
    p0 = np.clip(rng.beta(float(prior["alpha"]), float(prior["beta"]), size=n), 1e-9, 1 - 1e-9)
    shift = np.zeros(n)
    for mean, sd in zip(inputs["log_lr"], inputs["sd"]):
        shift += rng.normal(mean, sd, size=n)
    probability_draws = expit(logit(p0) + shift)
    probability, mcse = base.mean_and_mcse(probability_draws)
    return FitResult(probability, mcse, base.summarise(QUANTITY, probability_draws),
                     Diagnostics(None, float(n), 0, exact=True, method="monte-carlo"))


class LikelihoodRatio(FamilyBase):
    name = "likelihood_ratio"
    quantity = QUANTITY
    observation = "`lr` (a number, or `ID=x;ID=y`), `lr_sd` (default 0.5) and a `reason`"
    PRIOR = {"alpha": "Beta on the base rate: prior YES cases", "beta": "prior NO cases"}
    COLUMNS = ("lr", "lr_sd")

    def check_row(self, prediction, row):
        return row_problems(row, prediction.model.settings, prediction.id)

    def prepare(self, prediction, rows, as_of, data=None):
        return prepare(prediction, rows, as_of)

    def fit(self, inputs, prior, *, seed, sampler, label):
        return fit(inputs, prior, seed=seed, sampler=sampler, label=label)


FAMILY = LikelihoodRatio()
