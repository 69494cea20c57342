"""A single event, updated by analysts' likelihood ratios (Bayesian signposts), with time as evidence.

The prior is a reference-class base rate for the event happening within the question's window,
p0 ~ Beta(alpha, beta). Each logged fact multiplies the odds by its likelihood ratio; a ratio of 1
changes nothing. The analyst's judgement is uncertain as a whole, not row by row: the summed log ratio L
is scaled by one shared factor exp(eta - spread^2/2), eta ~ Normal(0, spread), so the uncertainty grows
with the strength of the evidence, never with the number of rows:

    P(YES by the deadline) = E[ logistic( logit(p0) + L * exp(eta - spread^2/2) ) ].

For an event question (``kind: event``), the event has a constant hazard over its window, so with no
event by the as-of date the chance left is 1 - (1 - P)^(days left / window days): silence lowers P(YES)
as the deadline nears. Silence counts only as far as someone looked: the days left are counted from the
chapter's reviewed-through date (the coverage record) when that is earlier than the as-of date. A ``kind: state`` question asks about the world on a date; time alone does not
move it. Both integrals are computed by quadrature on the exact prior: no sampling, no seed.
"""

from __future__ import annotations

import re

import numpy as np

from analysis.models import base
from analysis.models.base import Diagnostics, FamilyBase, FitResult, Quantity, Setting, special, stats

QUANTITY = "P(YES) over the whole window"
DEFAULT_SPREAD = 0.5
LR_BOUNDS = (1e-3, 1e3)  # no single fact moves the odds a thousandfold
GRID = 400  # Beta quantile grid
NODES = 24  # Gauss-Hermite nodes for eta


def _ratio(text: str) -> float:
    """A ratio in ASCII digits (``float`` alone would also take look-alike digits, 'nan' and 'inf')."""
    from analysis.contract.schema import NUMBER_RE

    text = text.strip()
    if not NUMBER_RE.fullmatch(text):
        raise ValueError(text)
    return float(text)


def lr_for(cell: str, prediction_id: str) -> float | None:
    """The likelihood ratio a row's ``lr`` cell gives one prediction (None when it names others)."""
    cell = (cell or "").strip()
    if not cell:
        return None
    if "=" not in cell:
        return _ratio(cell)
    for part in cell.split(";"):
        key, _, value = part.partition("=")
        if key.strip() == prediction_id:
            return _ratio(value)
    return None


def row_problems(row: dict, prediction_id: str) -> list[tuple[str, str, str]]:
    try:
        lr = lr_for(row["lr"], prediction_id)
    except ValueError:
        return [("lr", f"lr '{row['lr']}' is not a number or ID=number list", "e.g. 2.5 or EXP-1=2.5;EXP-3=0.8")]
    out = []
    if lr is None:
        out.append(("lr", f"no likelihood ratio for {prediction_id}", "a number > 0 in `lr`"))
    elif not np.isfinite(lr) or not LR_BOUNDS[0] <= lr <= LR_BOUNDS[1]:
        out.append(("lr", f"likelihood ratio {lr:g} is out of bounds",
                    f"a number from {LR_BOUNDS[0]:g} to {LR_BOUNDS[1]:g} (1 = not evidence; above 5 is strong)"))
    if not row["reason"]:
        out.append(("reason", "a likelihood-ratio row needs a reason", "one line on why the fact is diagnostic"))
    return out


def window(prediction) -> tuple:
    """The question's window: from ``window_start`` (default: a retrospective question's backtest_from,
    else the date it was published) to resolves_by."""
    s = prediction.model.settings
    default = prediction.backtest_from if prediction.retrospective else prediction.published
    return s.get("window_start") or default, prediction.resolves_by


IN_PRIOR = re.compile(r"\b[A-Z]+-E[0-9]{3,}\b")


def in_prior(prediction) -> set[str]:
    """The evidence ids the prior's justification names: facts its reference class already contains, which
    therefore count with a ratio of 1 (a fact already in a prior is not evidence again)."""
    return set(IN_PRIOR.findall(str(prediction.model.prior.get("justification", ""))))


def prepare(prediction, rows, as_of, data=None) -> dict:
    s = prediction.model.settings
    start, end = window(prediction)
    counted = in_prior(prediction)
    log_lr = [0.0 if eid in counted else float(np.log(lr_for(cell, prediction.id)))
              for eid, cell in zip(rows["id"] if "id" in rows else [None] * len(rows), rows["lr"])]
    total = max((end - start).days, 1)
    looked = base.record_end(prediction, as_of, data)
    left = min(max((end - max(looked, start)).days, 0), total)
    return {"log_lr": float(np.sum(log_lr)), "rows": len(log_lr), "spread": float(s.get("lr_spread", DEFAULT_SPREAD)),
            "kind": s.get("kind", "event"), "fraction_left": left / total}


def window_probability(inputs: dict, prior: dict) -> tuple[np.ndarray, np.ndarray]:
    """P(YES over the whole window) on the quadrature grid, with its weights."""
    p0 = stats.beta.ppf((np.arange(GRID) + 0.5) / GRID, float(prior["alpha"]), float(prior["beta"]))
    p0 = np.clip(p0, 1e-12, 1 - 1e-12)
    nodes, weights = np.polynomial.hermite_e.hermegauss(NODES)
    weights = weights / weights.sum()
    spread = inputs["spread"]
    scale = np.exp(spread * nodes - spread**2 / 2)
    shifted = special.expit(special.logit(p0)[:, None] + inputs["log_lr"] * scale[None, :])
    return shifted, np.outer(np.full(GRID, 1 / GRID), weights)


def fit(inputs: dict, prior: dict, *, seed: int = 0, sampler=None, label: str = "") -> FitResult:
    whole, weights = window_probability(inputs, prior)
    if inputs["kind"] == "event":
        now = 1 - (1 - whole) ** inputs["fraction_left"]
    else:
        now = whole
    probability = float((now * weights).sum())
    order = np.argsort(whole, axis=None)
    cdf = np.cumsum(weights.ravel()[order])
    lo, med, hi = (float(whole.ravel()[order][np.searchsorted(cdf, q)]) for q in (0.05, 0.5, 0.95))
    return FitResult(probability, 0.0, Quantity(QUANTITY, med, lo, hi),
                     Diagnostics(None, None, 0, exact=True, method="quadrature"))


class LikelihoodRatio(FamilyBase):
    name = "likelihood_ratio"
    version = 3
    quantity = QUANTITY
    time_dependent = True
    reads_time = True
    observation = "`lr` (a number, or `ID=x;ID=y`) and a `reason`"
    PRIOR = {"alpha": "Beta on the base rate over the window: prior YES cases", "beta": "prior NO cases"}
    SETTINGS = {
        "kind": Setting(str, "event (default: happens by the deadline; silence lowers P) or state (the world on a "
                        "date; time alone does not move it)", required=False, choices=("event", "state")),
        "window_start": Setting("date", "when the question's window opens (default: published)", required=False),
        "lr_spread": Setting(float, "sd of the log of the shared factor on the analyst's summed log ratios "
                             f"(default {DEFAULT_SPREAD})", required=False),
    }
    COLUMNS = ("lr", "reason")

    def check_row(self, prediction, row):
        return row_problems(row, prediction.id)

    def check_prediction(self, prediction, data) -> list:
        """Every evidence id the prior names must be a row of this prediction (else the double count it
        prevents is not prevented)."""
        from analysis.contract.errors import Problem

        own = set(data.rows_for(prediction.id)["id"])
        return [Problem(prediction.file, prediction.line_of("model.prior"), f"{prediction.id}: the prior names {eid}, "
                        "which is not one of its evidence rows", "ids of rows that name this prediction")
                for eid in sorted(in_prior(prediction) - own)]

    def row_hints(self, prediction, data):
        return {"lr": (f"likelihood ratio P(fact | YES) / P(fact | NO) for {prediction.id} (1 = not evidence)", ()),
                "reason": ("one line on why the fact is that diagnostic", ())}

    def prepare(self, prediction, rows, as_of, data=None):
        return prepare(prediction, rows, as_of, data)

    def fit(self, inputs, prior, *, seed, sampler, label):
        return fit(inputs, prior)

    def alternatives(self, prediction):
        s = dict(prediction.model.settings)
        spread = float(s.get("lr_spread", DEFAULT_SPREAD))
        out = {f"analyst spread {spread / 2:g}": (prediction.model.prior, {**s, "lr_spread": spread / 2}),
               f"analyst spread {spread * 2:g}": (prediction.model.prior, {**s, "lr_spread": spread * 2})}
        if s.get("kind", "event") == "event":
            out["no time decay"] = (prediction.model.prior, {**s, "kind": "state"})
        return out


FAMILY = LikelihoodRatio()
