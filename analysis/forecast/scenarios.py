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


def price(chapter: ChapterScenarios, probabilities: dict[str, float], draws: int = 200_000) -> list[dict]:
    """Each scenario's probability and MCSE from one joint simulation (seeded by the chapter name)."""
    seed = int(hashlib.sha256(chapter.chapter.encode()).hexdigest()[:8], 16)
    joint = simulate(probabilities, chapter.correlation, draws, np.random.default_rng(seed))
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
