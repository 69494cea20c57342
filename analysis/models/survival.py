"""Time to an event for the units of a frozen roster (founders joining a frontier company, labs that
stop releasing open weights), with right-censoring and an explicit tracked set.

Cohort: the roster's entries that had qualified (publicly met the roster's rule) by the as-of date.
Each is at risk from its entry date (``qualified_on``, or its ``start`` under the alternative clock)
until its first ``event`` row or the as-of date (or the chapter's reviewed-through date, from the coverage
record, when that is earlier: an event first public after it takes its unit out of the question's risk set
but does not count toward the hazard until a review covers it). Events before entry are not counted (left truncation). Only roster entries are counted, so a
row can never silently join the cohort; the question's own units are ``tracked`` (default: the roster).

Hazards are constant (exponential) with a Gamma prior on the base rate. Two optional structures:

- ``tiers``: each roster tier has its own hazard, log-normally around the base rate with sd ``tier_sd``
  (pooled hierarchically, so a thin tier borrows strength);
- ``frailty``: the units of one roster group (a lab) share a Gamma frailty with variance ``theta``, so a
  team moving together is evidence about that lab, not many independent moves.

A group's event count is then negative-binomial (Poisson without frailty) in its exposure, written as an
observed variable, so prior and posterior predictive checks come for free. With neither structure the
posterior is an exact Gamma (closed form). The forecast takes, per posterior draw, each tracked unit's
chance of the event in [max(as-of, count_from), resolves_by], and the exact Poisson-binomial tail.
Every question on one roster uses the same posterior draws, so related questions agree.
"""

from __future__ import annotations

import numpy as np

from analysis.contract.errors import Problem
from analysis.contract.provenance import digest, seed_from
from analysis.models import base
from analysis.models.base import Diagnostics, FamilyBase, FitResult, Setting, scale_gamma_like, stats

QUANTITY = "expected tracked units with the event in the window"
GRID = 4000
FRAILTY_PRIOR = {"frailty_shape": "Gamma shape on the frailty variance theta",
                 "frailty_rate": "Gamma rate on theta (shape/rate is the prior mean variance)"}
TIER_PRIOR = {"tier_sd": "sd of a tier's log hazard around the base rate (pooling strength)"}


def cohort(prediction, rows, as_of, data) -> dict:
    """The estimation data: per roster group, its tier, event count and exposure (years) as of ``as_of``."""
    s = prediction.model.settings
    roster = data.rosters[s["roster"]]
    end = base.record_end(prediction, as_of, data)
    events = _first_events(rows, s["event"])
    strict = s.get("exclude_doubtful", False)
    groups: dict[str, dict] = {}
    units = 0
    for entry in roster.known_by(as_of):
        if strict and entry.doubtful:
            continue
        enter = entry.start if s.get("clock") == "start" else entry.qualified_on
        when = events.get(entry.name)
        if when is not None and when < enter:
            continue  # the event came before the unit entered the cohort: left-truncated
        stop = min(when, end) if when is not None else end
        units += 1
        group = groups.setdefault(entry.group, {"tier": entry.tier, "events": 0, "exposure": 0.0})
        group["exposure"] += max(base.years(enter, stop), 0.0) if stop > enter else 0.0
        group["events"] += int(when is not None and when <= end)
    names = sorted(groups)
    tiers = sorted({groups[g]["tier"] for g in names}) if s.get("tiers") else [""]
    return {"groups": names, "tier_of_group": [tiers.index(groups[g]["tier"]) if s.get("tiers") else 0 for g in names],
            "tiers": tiers, "events": [groups[g]["events"] for g in names],
            "exposure": [groups[g]["exposure"] for g in names],
            "frailty": bool(s.get("frailty")), "pooled_tiers": bool(s.get("tiers")), "units": units}


def cohort_totals(c: dict) -> dict:
    """What the chapter prose quotes: events, exposure and how many groups (labs) the events came from."""
    events = int(sum(c["events"]))
    return {"units": c["units"], "events": events, "without_event": c["units"] - events,
            "exposure": float(sum(c["exposure"])), "groups": len(c["groups"]),
            "groups_with_events": sum(1 for n in c["events"] if n > 0)}


def _first_events(rows, event: str) -> dict:
    used = rows[rows["event"] == event]
    return used.groupby("entity")["observed_on"].min().to_dict() if len(used) else {}


def question(prediction, rows, as_of, data, groups: list[str], tiers: list[str]) -> dict:
    """The question's own units: which tracked units are still at risk, and when their window runs."""
    s = prediction.model.settings
    roster = data.rosters[s["roster"]].by_name()
    tracked = s.get("tracked") or sorted(roster)
    events = _first_events(rows, s["event"])
    already, at_risk = 0, []
    for name in tracked:
        when = events.get(name)
        if when is not None:
            already += int(when >= s["count_from"])
            continue
        entry = roster.get(name)
        group = groups.index(entry.group) if entry is not None and entry.group in groups else -1
        tier = tiers.index(entry.tier) if entry is not None and entry.tier in tiers else -1
        at_risk.append((name, group, tier))
    now = base.record_end(prediction, as_of, data)  # the clock of the units still at risk starts here
    start = max(now, s["count_from"])
    return {"at_risk": [a[0] for a in at_risk], "group_index": [a[1] for a in at_risk],
            "tier_index": [a[2] for a in at_risk], "from": base.years(now, start) if start > now else 0.0,
            "to": max(base.years(now, prediction.resolves_by), 0.0),
            "need": max(int(s["min_events"]) - already, 0)}


def prepare(prediction, rows, as_of, data) -> dict:
    c = cohort(prediction, rows, as_of, data)
    return {"cohort": c, "question": question(prediction, rows, as_of, data, c["groups"], c["tiers"])}


# -- the posterior --------------------------------------------------------------------------------

def _structured(c: dict) -> bool:
    return c["frailty"] or c["pooled_tiers"]


def posterior(c: dict, prior: dict) -> tuple[float, float]:
    """The exact Gamma posterior of the hazard when there is neither frailty nor tiers."""
    return float(prior["alpha"]) + sum(c["events"]), float(prior["beta"]) + sum(c["exposure"])


def _model(groups: int, tiers: int, frailty: bool, pooled: bool):
    import pymc as pm

    with pm.Model() as model:
        alpha, beta = pm.Data("alpha", 1.0), pm.Data("beta", 1.0)
        events = pm.Data("events", np.zeros(groups))
        exposure = pm.Data("exposure", np.full(groups, 1e-9))
        rate = pm.Gamma("rate", alpha, beta)
        if pooled:
            tier_of = pm.Data("tier_of", np.zeros(groups, dtype="int64"))
            tier_sd = pm.Data("tier_sd", 0.5)
            offset = pm.Normal("tier_offset", 0.0, 1.0, shape=tiers)
            log_effect = pm.Deterministic("tier_effect", tier_sd * offset)
            group_rate = rate * pm.math.exp(log_effect[tier_of])
        else:
            group_rate = rate
        mu = group_rate * exposure + 1e-12
        if frailty:
            shape, rate_theta = pm.Data("frailty_shape", 2.0), pm.Data("frailty_rate", 4.0)
            theta = pm.Gamma("theta", shape, rate_theta)
            pm.NegativeBinomial("group_events", mu=mu, alpha=1.0 / theta, observed=events)
        else:
            pm.Poisson("group_events", mu=mu, observed=events)
    return model


def sample(c: dict, prior: dict, *, sampler, label: str) -> tuple[dict, Diagnostics]:
    """Posterior draws for a cohort (rate; tier effects; theta), seeded by the cohort and prior alone, so
    every question on the same cohort gets the same draws."""
    key = digest({"cohort": c, "prior": {k: v for k, v in prior.items() if k != "justification"},
                  "sampler": sampler.__dict__})
    return _sample_cached(key, c, prior, sampler, label)


_DRAWS: dict[str, tuple[dict, Diagnostics]] = {}


def _sample_cached(key, c, prior, sampler, label):
    if key in _DRAWS:
        return _DRAWS[key]
    n = len(c["groups"])
    size, tiers = base.bucket(n, smallest=16), max(len(c["tiers"]), 1)
    compiled = base.compiled_model(("survival", size, tiers, c["frailty"], c["pooled_tiers"]),
                                   lambda: _model(size, tiers, c["frailty"], c["pooled_tiers"]))
    data = {"alpha": float(prior["alpha"]), "beta": float(prior["beta"]),
            "events": base.pad(c["events"], size), "exposure": base.pad(c["exposure"], size, fill=1e-9)}
    if c["pooled_tiers"]:
        data["tier_sd"] = float(prior["tier_sd"])
        data["tier_of"] = np.asarray(c["tier_of_group"] + [0] * (size - n), dtype="int64")
    if c["frailty"]:
        data.update({"frailty_shape": float(prior["frailty_shape"]), "frailty_rate": float(prior["frailty_rate"])})
    names = ["rate"] + (["tier_effect"] if c["pooled_tiers"] else []) + (["theta"] if c["frailty"] else [])
    draws, diagnostics = base.sample_nuts(compiled, data, seed=seed_from(key), sampler=sampler, label=label,
                                          var_names=names, min_target_accept=0.95)
    _DRAWS[key] = (draws, diagnostics)
    if len(_DRAWS) > 64:
        _DRAWS.pop(next(iter(_DRAWS)))
    return draws, diagnostics


def unit_probabilities(draws: dict, c: dict, q: dict, rng: np.random.Generator) -> np.ndarray:
    """Per draw and tracked unit at risk: P(event in the question's window | no event yet)."""
    rate = np.asarray(draws["rate"], dtype=float)
    n_draws, n_units = rate.size, len(q["at_risk"])
    if n_units == 0:
        return np.zeros((n_draws, 0))
    hazard = np.repeat(rate[:, None], n_units, axis=1)
    if c["pooled_tiers"]:
        effect = np.asarray(draws["tier_effect"]).reshape(n_draws, -1)
        for j, tier in enumerate(q["tier_index"]):
            if tier >= 0:
                hazard[:, j] *= np.exp(effect[:, tier])
    if c["frailty"]:
        r = 1.0 / np.asarray(draws["theta"], dtype=float)
        events, exposure = np.asarray(c["events"], float), np.asarray(c["exposure"], float)
        for j, group in enumerate(q["group_index"]):
            if group >= 0:  # the lab's own record: z | data ~ Gamma(r + D_g, r + H_g)
                tier_rate = hazard[:, j]
                shape, scale = r + events[group], 1.0 / (r + tier_rate * exposure[group])
            else:  # a tracked unit outside the roster: a new lab, frailty from the prior
                shape, scale = r, 1.0 / r
            hazard[:, j] *= rng.gamma(shape, scale)
    return np.exp(-hazard * q["from"]) - np.exp(-hazard * q["to"])


def _answer(per_unit: np.ndarray, need: int, ess: float | None) -> tuple[float, float, np.ndarray]:
    expected = per_unit.sum(axis=1) if per_unit.size else np.zeros(per_unit.shape[0])
    per_draw = base.at_least_k_of(per_unit, need) if per_unit.shape[1] else np.full(per_unit.shape[0], float(need == 0))
    probability, mcse = base.mean_and_mcse(per_draw, ess)
    return probability, mcse, expected


def fit(inputs: dict, prior: dict, *, seed: int, sampler, label: str) -> FitResult:
    c, q = inputs["cohort"], inputs["question"]
    rng = np.random.default_rng(seed)
    if not _structured(c):
        a, b = posterior(c, prior)
        grid = stats.gamma.ppf((np.arange(GRID) + 0.5) / GRID, a, scale=1 / b)  # quantile grid: deterministic
        probability, _, expected = _answer(unit_probabilities({"rate": grid}, c, q, rng), q["need"], None)
        return FitResult(probability, 0.0, base.summarise(QUANTITY, expected),
                         Diagnostics(None, None, 0, exact=True, method="closed-form"))
    draws, diagnostics = sample(c, prior, sampler=sampler, label=label)
    probability, mcse, expected = _answer(unit_probabilities(draws, c, q, rng), q["need"], diagnostics.ess_bulk_min)
    return FitResult(probability, mcse, base.summarise(QUANTITY, expected), diagnostics)


def pymc_model(c: dict, prior: dict):
    """The unstructured model in PyMC (Poisson in exposure), for the exact cross-check in the tests."""
    import pymc as pm

    with pm.Model() as model:
        rate = pm.Gamma("rate", float(prior["alpha"]), float(prior["beta"]))
        pm.Poisson("group_events", mu=rate * np.asarray(c["exposure"]) + 1e-12, observed=np.asarray(c["events"]))
    return model


def posterior_draws(c: dict, prior: dict, n: int, rng, sampler) -> dict:
    """n posterior draws of the cohort's parameters (exact Gamma draws when there is no structure)."""
    if not _structured(c):
        a, b = posterior(c, prior)
        return {"rate": rng.gamma(a, 1 / b, n)}
    draws, _ = sample(c, prior, sampler=sampler, label="joint outcomes")
    pick = rng.integers(0, len(draws["rate"]), n)
    return {k: np.asarray(v)[pick] for k, v in draws.items()}


def simulate_outcomes(predictions, data, as_of, n: int, rng) -> dict:
    """Outcomes of several questions on one cohort, drawn together: per posterior draw, each tracked unit's
    time to the event (its lab's frailty shared), then each question's count in its own window."""
    from analysis.models.protocol import SamplerSettings

    first = predictions[0]
    rows = data.rows_for(first.id, as_of)
    inputs = prepare(first, rows, as_of, data)
    c = inputs["cohort"]
    questions = {p.id: question(p, data.rows_for(p.id, as_of), as_of, data, c["groups"], c["tiers"])
                 for p in predictions}
    units: dict[str, tuple[int, int]] = {}
    for q in questions.values():
        units.update({name: (g, t) for name, g, t in zip(q["at_risk"], q["group_index"], q["tier_index"])})
    names = sorted(units)
    draws = posterior_draws(c, first.model.prior, n, rng, SamplerSettings())
    rate = np.repeat(np.asarray(draws["rate"], float)[:, None], len(names), axis=1)
    if c["pooled_tiers"]:
        effect = np.asarray(draws["tier_effect"]).reshape(n, -1)
        for j, name in enumerate(names):
            if units[name][1] >= 0:
                rate[:, j] *= np.exp(effect[:, units[name][1]])
    if c["frailty"]:
        r = 1.0 / np.asarray(draws["theta"], float)
        events, exposure = np.asarray(c["events"], float), np.asarray(c["exposure"], float)
        frailty: dict[int, np.ndarray] = {}
        for j, name in enumerate(names):
            group = units[name][0]
            if group < 0:
                z = rng.gamma(r, 1.0 / r)
            elif group in frailty:
                z = frailty[group]
            else:  # one draw per lab, shared by its founders
                z = frailty[group] = rng.gamma(r + events[group], 1.0 / (r + rate[:, j] * exposure[group]))
            rate[:, j] *= z
    times = rng.exponential(1.0 / rate)  # years after the as-of date
    out = {}
    for pid, q in questions.items():
        cols = [names.index(u) for u in q["at_risk"]]
        hits = ((times[:, cols] >= q["from"]) & (times[:, cols] <= q["to"])).sum(axis=1) if cols else np.zeros(n)
        out[pid] = hits >= q["need"]
    return out


class Survival(FamilyBase):
    name = "survival"
    version = 3
    quantity = QUANTITY
    time_dependent = True
    reads_time = True
    observation = "`entity` = a roster entry's name, `event` = settings.event (its first row dates the event)"
    PRIOR = {"alpha": "Gamma shape on the base hazard (prior events)",
             "beta": "Gamma rate on the base hazard (prior unit-years)"}
    SETTINGS = {
        "roster": Setting(str, "the roster (data/rosters/<name>.yaml) whose entries form the cohort"),
        "event": Setting(str, "the event whose time is modelled, e.g. absorbed"),
        "count_from": Setting("date", "date from which events count toward the question"),
        "min_events": Setting(int, "tracked units with the event needed for YES"),
        "tracked": Setting(list, "the question's units by name (default: every roster entry)", required=False),
        "frailty": Setting(bool, "units of one roster group share a Gamma frailty", required=False),
        "tiers": Setting(bool, "one hazard per roster tier, pooled hierarchically", required=False),
        "clock": Setting(str, "when a unit's clock starts: qualified (default) or start", required=False,
                         choices=("qualified", "start")),
        "exclude_doubtful": Setting(bool, "leave out roster entries flagged doubtful", required=False),
    }
    COLUMNS = ("entity", "event")

    def prior_keys(self, settings):
        keys = dict(self.PRIOR)
        if settings.get("frailty"):
            keys.update(FRAILTY_PRIOR)
        if settings.get("tiers"):
            keys.update(TIER_PRIOR)
        return keys

    def check_row(self, prediction, row):
        if row["event"] != prediction.model.settings["event"]:
            return [("event", f"event '{row['event']}' is not what this survival question counts",
                     f"'{prediction.model.settings['event']}' (roster entries need no start rows)")]
        if not row["entity"]:
            return [("entity", "entity is empty", "a roster entry's name")]
        return []

    def row_hints(self, prediction, data):
        s = prediction.model.settings
        roster = data.rosters.get(s["roster"])
        names = tuple(sorted(set(roster.by_name()) | set(s.get("tracked") or ()))) if roster else ()
        return {"entity": (f"the unit, by its name in roster {s['roster']}", names),
                "event": ("the event", (s["event"],))}

    def check_prediction(self, prediction, data) -> list[Problem]:
        s = prediction.model.settings
        where = (prediction.file, prediction.line_of("model.settings"))
        roster = data.rosters.get(s["roster"])
        if roster is None:
            return [Problem(*where, f"{prediction.id}: no roster '{s['roster']}'", "a file data/rosters/<name>.yaml")]
        names = roster.by_name()
        problems = []
        for _, row in data.rows_for(prediction.id).iterrows():
            if row["entity"] not in names and row["entity"] not in (s.get("tracked") or []):
                problems.append(Problem(row["_file"], row["_line"], f"entity '{row['entity']}' is not in roster "
                                        f"'{roster.name}' (for {prediction.id})",
                                        "a roster entry's name: rows never add units to a cohort"))
        if s.get("tiers"):
            tiers: dict[str, set] = {}
            for entry in roster.entries:
                tiers.setdefault(entry.group, set()).add(entry.tier)
            mixed = sorted(g for g, t in tiers.items() if len(t) > 1)
            if mixed:
                problems.append(Problem(*where, f"{prediction.id}: groups with mixed tiers: {', '.join(mixed)}",
                                        "one tier per roster group"))
        return problems

    def prepare(self, prediction, rows, as_of, data=None):
        return prepare(prediction, rows, as_of, data)

    def fit(self, inputs, prior, *, seed, sampler, label):
        return fit(inputs, prior, seed=seed, sampler=sampler, label=label)

    def scale_prior(self, prior, factor):
        return scale_gamma_like(prior, factor)

    def structure_key(self, prediction):
        s = prediction.model.settings
        return (self.name, s["roster"], bool(s.get("frailty")), bool(s.get("tiers")))

    def context_digest(self, prediction, data):
        roster = data.rosters.get(prediction.model.settings["roster"])
        return digest([e.__dict__ for e in roster.entries]) if roster else None

    def joint_key(self, prediction):
        s = prediction.model.settings
        shared = {k: v for k, v in s.items() if k not in ("tracked", "count_from", "min_events")}
        return (self.name, prediction.chapter, digest({"settings": shared, "prior": prediction.model.prior}))

    def simulate(self, predictions, data, as_of, n, rng):
        return simulate_outcomes(predictions, data, as_of, n, rng)

    def alternatives(self, prediction):
        s, prior = dict(prediction.model.settings), prediction.model.prior
        out = {}
        if s.get("frailty"):
            out["no lab frailty"] = (prior, {**s, "frailty": False})
        if s.get("tiers"):
            out["one hazard for all tiers"] = (prior, {**s, "tiers": False})
        out["clock from founding"] = (prior, {**s, "clock": "start" if s.get("clock") != "start" else "qualified"})
        out["doubtful entries left out"] = (prior, {**s, "exclude_doubtful": True})
        return out

    def progress(self, prediction, inputs):
        need = int(prediction.model.settings["min_events"])
        return need - inputs["question"]["need"], need


FAMILY = Survival()
