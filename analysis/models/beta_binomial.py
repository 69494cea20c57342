"""Units that arrive over time, each a success or not: "of the first N new cases, will at least k ...?"

Units (criminal cases, named buyers, studies, reports) arrive as a Poisson process whose rate has a Gamma
prior (``rate_alpha``, ``rate_beta``) and is updated by the units that became public (``first_public``)
since ``arrivals_from``; each
unit is a success with a probability that has a Beta prior (``alpha``, ``beta``) and is updated by the
logged successes. Both posteriors are exact. The question takes the units arriving in
[count_from, resolves_by] (units already logged in the window count first), at most ``max_units`` of
them, and asks for at least ``min_successes`` successes. How many units will arrive is uncertain, as
each resolution rule defines it: with fewer than needed the question resolves on those that arrived
(``if_fewer: resolve``), or is annulled (``if_fewer: annul``, where P(YES) is given it is not).

P(YES) is a sum over the number of future units, integrated over both posteriors on quantile grids:
deterministic quadrature, no sampling.
"""

from __future__ import annotations

import numpy as np

from analysis.models import base
from analysis.models.base import Diagnostics, FamilyBase, FitResult, Quantity, Setting, stats

QUANTITY = "share of units that are successes"
GRID = 256
TAIL = 1e-10


def row_problems(row: dict, settings: dict) -> list[tuple[str, str, str]]:
    out = []
    if row["event"] != settings["event"]:
        out.append(("event", f"event '{row['event']}' is not what this prediction counts", f"'{settings['event']}'"))
    if row["count"] is None or row["trials"] is None:
        out.append(("count", "count and trials are needed", "successes in `count`, units in `trials`"))
    return out


def prepare(prediction, rows, as_of, data=None) -> dict:
    s = prediction.model.settings
    used = rows[rows["event"] == s["event"]]
    end = base.record_end(prediction, as_of, data)
    # A unit arrives when it becomes public (a case unsealed, a study or report published), which for a report
    # can be long after the period it describes (its observed_on).
    arrived = used[(used["public_on"] >= s["arrivals_from"]) & (used["public_on"] <= end)]
    window = used[used["public_on"] >= s["count_from"]].sort_values(["public_on", "id"])
    cap = s.get("max_units")
    taken_units, taken_successes = 0, 0
    for count, trials in zip(window["count"], window["trials"]):  # the first units in the window, in order
        room = int(trials) if cap is None else min(int(trials), cap - taken_units)
        if room <= 0:
            break
        taken_successes += min(int(count), room)
        taken_units += room
    start = max(end, s["count_from"])
    return {"successes": int(used["count"].sum()), "trials": int(used["trials"].sum()),
            "arrivals": int(arrived["trials"].sum()), "exposure": max(base.years(s["arrivals_from"], end), 1 / 365.25),
            "horizon": max(base.years(start, prediction.resolves_by), 0.0),
            "units_so_far": taken_units, "successes_so_far": taken_successes,
            "max_units": cap, "min_successes": int(s["min_successes"]), "if_fewer": s.get("if_fewer", "resolve")}


def posterior(inputs: dict, prior: dict) -> tuple[float, float]:
    """The exact Beta posterior of the success share."""
    s, n = inputs["successes"], inputs["trials"]
    return float(prior["alpha"]) + s, float(prior["beta"]) + n - s


def rate_posterior(inputs: dict, prior: dict) -> tuple[float, float]:
    """The exact Gamma posterior of units per year."""
    return float(prior["rate_alpha"]) + inputs["arrivals"], float(prior["rate_beta"]) + inputs["exposure"]


def _grid(dist) -> np.ndarray:
    return dist.ppf((np.arange(GRID) + 0.5) / GRID)


def outcome_probabilities(inputs: dict, share: np.ndarray, future_units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(YES) and P(annulled) for each share in ``share`` (rows) and each count of future units (columns)."""
    need = inputs["min_successes"] - inputs["successes_so_far"]
    cap = inputs["max_units"]
    room = future_units if cap is None else np.minimum(future_units, max(cap - inputs["units_so_far"], 0))
    total = inputs["units_so_far"] + room
    yes = stats.binom.sf(need - 1, room[None, :], share[:, None]) if need > 0 else np.ones((share.size, room.size))
    full = total >= (inputs["min_successes"] if cap is None else cap)
    if inputs["if_fewer"] == "annul" and cap is not None:
        # "All of the first N succeed": short of N units with no failure seen, the question is annulled.
        clean = inputs["units_so_far"] == inputs["successes_so_far"]
        no_failure = share[:, None] ** room[None, :] if clean else np.zeros((share.size, room.size))
        annulled = np.where(full[None, :], 0.0, no_failure)
        return np.where(full[None, :], yes, 0.0), annulled
    return yes, np.zeros_like(yes)


def fit(inputs: dict, prior: dict, *, seed: int = 0, sampler=None, label: str = "") -> FitResult:
    a, b = posterior(inputs, prior)
    share = _grid(stats.beta(a, b))
    ra, rb = rate_posterior(inputs, prior)
    rate = _grid(stats.gamma(ra, scale=1 / rb))
    mean_units = rate * inputs["horizon"]
    top = int(stats.poisson.isf(TAIL, max(mean_units.max(), 1e-9))) + 1
    if inputs["max_units"] is not None:
        top = min(top, max(inputs["max_units"] - inputs["units_so_far"], 0))
    n = np.arange(top + 1)
    weights = stats.poisson.pmf(n[None, :], mean_units[:, None])  # (rate grid, future units)
    weights[:, -1] += 1 - weights.sum(axis=1)  # the capped tail: at least `top` units
    yes, annulled = outcome_probabilities(inputs, share, n)
    p_yes = float((yes @ weights.T).mean())
    p_annul = float((annulled @ weights.T).mean())
    probability = p_yes / (1 - p_annul) if p_annul < 1 else 0.0
    lo, med, hi = stats.beta.ppf([0.05, 0.5, 0.95], a, b)
    return FitResult(float(np.clip(probability, 0.0, 1.0)), 0.0, Quantity(QUANTITY, float(med), float(lo), float(hi)),
                     Diagnostics(None, None, 0, exact=True, method="quadrature"),
                     {"units_per_year": float(ra / rb), "annul_probability": p_annul})


def pymc_model(inputs: dict, prior: dict):
    """The same model in PyMC, for the exact cross-check in the tests."""
    import pymc as pm

    with pm.Model() as model:
        p = pm.Beta("p", float(prior["alpha"]), float(prior["beta"]))
        rate = pm.Gamma("rate", float(prior["rate_alpha"]), float(prior["rate_beta"]))
        pm.Binomial("successes", n=inputs["trials"], p=p, observed=inputs["successes"])
        pm.Poisson("arrivals", mu=rate * inputs["exposure"], observed=inputs["arrivals"])
    return model


def simulate_outcomes(predictions, data, as_of, n: int, rng) -> dict:
    """Outcomes of several questions on one stream of units, drawn together: per posterior draw, the units
    that arrive after the as-of date (times and successes), then each question's own count."""
    first = predictions[0]
    inputs = {p.id: prepare(p, data.rows_for(p.id, as_of), as_of, data) for p in predictions}
    a, b = posterior(inputs[first.id], first.model.prior)
    ra, rb = rate_posterior(inputs[first.id], first.model.prior)
    share, rate = rng.beta(a, b, n), rng.gamma(ra, 1 / rb, n)
    horizon = max(i["horizon"] + base.years(as_of, max(as_of, p.model.settings["count_from"]))
                  for p, i in ((p, inputs[p.id]) for p in predictions))
    counts = rng.poisson(rate * horizon)
    out = {p.id: np.zeros(n, dtype=bool) for p in predictions}
    for j in range(n):
        times = np.sort(rng.uniform(0, horizon, counts[j]))
        success = rng.uniform(size=counts[j]) < share[j]
        for p in predictions:
            i = inputs[p.id]
            start = base.years(as_of, max(as_of, p.model.settings["count_from"]))
            mine = success[(times >= start) & (times <= start + i["horizon"])]
            if i["max_units"] is not None:
                mine = mine[: max(i["max_units"] - i["units_so_far"], 0)]
            out[p.id][j] = i["successes_so_far"] + mine.sum() >= i["min_successes"]
    return out


class BetaBinomial(FamilyBase):
    name = "beta_binomial"
    version = 3
    quantity = QUANTITY
    time_dependent = True
    reads_time = True
    observation = "`event` = settings.event, `count` (successes) and `trials` (units), dated by `observed_on`"
    PRIOR = {"alpha": "Beta prior successes", "beta": "Beta prior failures",
             "rate_alpha": "Gamma shape on units per year (prior units)",
             "rate_beta": "Gamma rate on units per year (prior years)"}
    SETTINGS = {"event": Setting(str, "the event whose rows carry count/trials"),
                "arrivals_from": Setting("date", "date from which logged units count toward the arrival rate"),
                "count_from": Setting("date", "date from which units count toward the question"),
                "min_successes": Setting(int, "successes needed for YES"),
                "max_units": Setting(int, "the question takes at most the first N units (default: all)",
                                     required=False),
                "if_fewer": Setting(str, "with fewer units than the question names: resolve (on those that "
                                    "arrived) or annul", required=False, choices=("resolve", "annul")),
}
    COLUMNS = ("event", "count", "trials")

    def check_settings(self, settings):
        if settings.get("if_fewer") == "annul" and settings.get("max_units") != settings["min_successes"]:
            return [("model.settings", "if_fewer: annul needs max_units equal to min_successes",
                     "annul only for 'all of the first N succeed' questions")]
        return []

    def check_row(self, prediction, row):
        return row_problems(row, prediction.model.settings)

    def row_hints(self, prediction, data):
        return {"event": ("the kind of unit", (prediction.model.settings["event"],)),
                "trials": ("units this row records (usually 1)", ()),
                "count": ("how many of them are successes", ())}

    def prepare(self, prediction, rows, as_of, data=None):
        return prepare(prediction, rows, as_of, data)

    def fit(self, inputs, prior, *, seed, sampler, label):
        return fit(inputs, prior)

    def scale_prior(self, prior, factor):
        return base.scale_gamma_like(base.scale_gamma_like(prior, factor), factor, ("rate_alpha", "rate_beta"))

    def joint_key(self, prediction):
        from analysis.contract.provenance import digest

        s = prediction.model.settings
        shared = {k: s.get(k) for k in ("event", "arrivals_from")}
        return (self.name, prediction.chapter, digest({"settings": shared, "prior": prediction.model.prior}))

    def simulate(self, predictions, data, as_of, n, rng):
        return simulate_outcomes(predictions, data, as_of, n, rng)

    def alternatives(self, prediction):
        s, prior = dict(prediction.model.settings), prediction.model.prior
        later = s["arrivals_from"].replace(year=s["arrivals_from"].year + 1)
        return {"arrival rate from one year later": (prior, {**s, "arrivals_from": later}),
                "arrival rate prior twice as strong": ({**prior, "rate_alpha": prior["rate_alpha"] * 2,
                                                        "rate_beta": prior["rate_beta"] * 2}, s)}

    def progress(self, prediction, inputs):
        return inputs["successes_so_far"], inputs["min_successes"]


FAMILY = BetaBinomial()
