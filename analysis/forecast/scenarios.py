"""Pricing named scenarios by joint simulation of their outcomes.

Questions that share a model are drawn jointly from that model's posterior (see ``joint``); across
models, outcomes are joined with a one-factor Gaussian copula: ``correlation: 0`` is independence
(stated in the chapter), a positive value says the chapter's questions tend to move together.
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy import stats

from analysis.data.scenarios import ChapterScenarios


def simulate(probabilities: dict[str, float], correlation: float, draws: int, rng: np.random.Generator) -> dict:
    """Joint YES/NO draws whose marginals equal ``probabilities`` (one-factor Gaussian copula)."""
    ids = sorted(probabilities)
    factor = rng.standard_normal((draws, 1))
    noise = rng.standard_normal((draws, len(ids)))
    latent = np.sqrt(correlation) * factor + np.sqrt(1 - correlation) * noise
    thresholds = stats.norm.ppf(np.clip([probabilities[i] for i in ids], 1e-12, 1 - 1e-12))
    outcomes = latent < thresholds
    return {pid: outcomes[:, j] for j, pid in enumerate(ids)}


def price(chapter: ChapterScenarios, probabilities: dict[str, float], draws: int = 200_000,
          joint_draws: dict[str, np.ndarray] | None = None) -> list[dict]:
    """Each scenario's probability and MCSE from one joint simulation (seeded by the chapter name).

    ``joint_draws`` holds outcome draws of questions that share a model, taken together from that model's
    posterior; the other questions are drawn with the chapter's copula, independently of those."""
    seed = int(hashlib.sha256(chapter.chapter.encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(seed)
    shared = {pid: np.resize(np.asarray(d, dtype=bool), draws) for pid, d in (joint_draws or {}).items()}
    rest = {pid: p for pid, p in probabilities.items() if pid not in shared}
    joint = {**simulate(rest, chapter.correlation, draws, rng), **shared}
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


def joint_draws(predictions: list, data, as_of, draws: int, seed: int) -> dict[str, np.ndarray]:
    """Outcome draws for the questions that share a model (same family joint key, two or more of them),
    taken together from that model's posterior. Questions alone on their model are left out."""
    from analysis.models import FAMILIES

    groups: dict[tuple, list] = {}
    for p in predictions:
        key = FAMILIES[p.model.family].joint_key(p)
        if key is not None:
            groups.setdefault(key, []).append(p)
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for members in groups.values():
        if len(members) > 1:
            out.update(FAMILIES[members[0].model.family].simulate(members, data, as_of, draws, rng))
    return out
