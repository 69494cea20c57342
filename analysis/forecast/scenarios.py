"""Pricing named scenarios by joint simulation of their outcomes.

Questions that share a model are drawn jointly from that model's posterior (see ``joint_draws``); across
models, outcomes are joined with a one-factor Gaussian copula: ``correlation: 0`` is independence
(stated in the chapter), a positive value says the chapter's questions tend to move together. A group of
questions that share a model joins the copula as one unit (see ``couple``), so its internal dependence
comes from the posterior and its dependence on the other questions from the chapter's correlation.
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy import stats

from analysis.data.scenarios import ChapterScenarios


def simulate(probabilities: dict[str, float], correlation: float, draws: int, rng: np.random.Generator,
             factor: np.ndarray | None = None) -> dict:
    """Joint YES/NO draws whose marginals equal ``probabilities`` (one-factor Gaussian copula; a low latent
    value is YES). ``factor`` is the common factor, when other draws must share it."""
    ids = sorted(probabilities)
    factor = rng.standard_normal((draws, 1)) if factor is None else np.reshape(factor, (draws, 1))
    noise = rng.standard_normal((draws, len(ids)))
    latent = np.sqrt(correlation) * factor + np.sqrt(1 - correlation) * noise
    thresholds = stats.norm.ppf(np.clip([probabilities[i] for i in ids], 1e-12, 1 - 1e-12))
    outcomes = latent < thresholds
    return {pid: outcomes[:, j] for j, pid in enumerate(ids)}


def couple(group: dict[str, np.ndarray], factor: np.ndarray, correlation: float,
           rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Reorder a group's joint posterior draws so the group moves with the chapter's common factor.

    Only the order of the draws changes, so the group's joint distribution (and every marginal) is exactly
    the posterior's. Draws with more YES outcomes (ties broken at random) go to the rows whose latent value,
    correlated with the factor as in ``simulate``, is lowest. With correlation 0 the group is independent."""
    ids = sorted(group)
    n = len(factor)
    if correlation == 0:
        return group
    score = np.sum([group[i] for i in ids], axis=0) + rng.random(n)
    latent = np.sqrt(correlation) * np.ravel(factor) + np.sqrt(1 - correlation) * rng.standard_normal(n)
    rows, picks = np.argsort(latent), np.argsort(-score)
    out = {}
    for i in ids:
        coupled = np.empty(n, dtype=bool)
        coupled[rows] = group[i][picks]
        out[i] = coupled
    return out


def price(chapter: ChapterScenarios, probabilities: dict[str, float], draws: int = 200_000,
          joint_groups: list[dict[str, np.ndarray]] | None = None) -> list[dict]:
    """Each scenario's probability and MCSE from one joint simulation (seeded by the chapter name).

    ``joint_groups`` holds, per shared model, outcome draws of its questions taken together from its
    posterior; each group joins the chapter's copula as one unit, the other questions one by one."""
    seed = int(hashlib.sha256(chapter.chapter.encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(seed)
    factor = rng.standard_normal(draws)
    groups = [{pid: np.resize(np.asarray(d, dtype=bool), draws) for pid, d in g.items()} for g in joint_groups or []]
    shared = {pid for g in groups for pid in g}
    rest = {pid: p for pid, p in probabilities.items() if pid not in shared}
    joint = simulate(rest, chapter.correlation, draws, rng, factor)
    for group in groups:
        joint.update(couple(group, factor, chapter.correlation, rng))
    out = []
    for scenario in chapter.scenarios:
        hit = np.ones(draws, dtype=bool)
        for pid, yes in scenario.outcomes.items():
            hit &= joint[pid] == yes
        p = float(hit.mean())
        out.append({"name": scenario.name, "probability": p, "mcse": float(np.sqrt(p * (1 - p) / draws)),
                    "independent": float(np.prod([probabilities[k] if v else 1 - probabilities[k]
                                                  for k, v in scenario.outcomes.items()])),
                    "scenario": scenario})
    return out


def joint_draws(predictions: list, data, as_of, draws: int, seed: int) -> list[dict[str, np.ndarray]]:
    """Outcome draws for the questions that share a model (same family joint key, two or more of them),
    taken together from that model's posterior, one group per model. Questions alone on their model are
    left out."""
    from analysis.models import FAMILIES

    groups: dict[tuple, list] = {}
    for p in predictions:
        key = FAMILIES[p.model.family].joint_key(p)
        if key is not None:
            groups.setdefault(key, []).append(p)
    rng = np.random.default_rng(seed)
    return [FAMILIES[members[0].model.family].simulate(members, data, as_of, draws, rng)
            for members in groups.values() if len(members) > 1]
