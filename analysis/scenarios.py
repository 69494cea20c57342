"""Named scenarios: combinations of a chapter's prediction outcomes, priced by joint simulation.

``data/scenarios/<chapter>.yaml`` names each scenario's outcomes and signposts. Outcomes are drawn
jointly with a one-factor Gaussian copula: ``correlation: 0`` is independence (stated in the chapter);
a positive value says the chapter's questions tend to move together, with a stated justification.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from scipy import stats

from analysis.errors import DataError, Problem
from analysis.predictions import _Loader
from analysis.storage import read_text

SCENARIO_DIR = "scenarios"


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    outcomes: dict[str, bool]
    signposts: tuple[str, ...]


@dataclass(frozen=True)
class ChapterScenarios:
    chapter: str
    correlation: float
    justification: str
    scenarios: tuple[Scenario, ...]


def load_scenarios(path: Path, shown: str, predictions: dict) -> tuple[ChapterScenarios | None, list[Problem]]:
    try:
        doc = yaml.load(read_text(path, shown), Loader=_Loader)  # noqa: S506 (SafeLoader subclass)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        return None, [Problem(shown, mark.line + 1 if mark else 1, "YAML syntax error", "valid YAML")]
    except DataError as err:
        return None, err.problems
    problems: list[Problem] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("scenarios"), list):
        return None, [Problem(shown, 1, "no scenarios list", "chapter, correlation, justification, scenarios: [...]")]
    rho = doc.get("correlation", 0.0)
    if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not 0 <= rho < 1:
        problems.append(Problem(shown, doc["__lines__"].get("correlation", 1), "correlation is invalid", "0 <= rho < 1"))
        rho = 0.0
    items = []
    for item in doc["scenarios"]:
        line = item.get("__line__", 1) if isinstance(item, dict) else 1
        if not isinstance(item, dict) or not isinstance(item.get("outcomes"), dict) or not item.get("name"):
            problems.append(Problem(shown, line, "scenario is incomplete", "name, description, outcomes, signposts"))
            continue
        outcomes = {}
        for pid, value in item["outcomes"].items():
            if pid.startswith("__"):
                continue
            if pid not in predictions:
                problems.append(Problem(shown, line, f"unknown prediction id '{pid}'", "a prediction of this book"))
            elif str(value).lower() not in ("yes", "no", "true", "false"):
                problems.append(Problem(shown, line, f"outcome '{value}' for {pid}", "yes or no"))
            else:
                outcomes[pid] = str(value).lower() in ("yes", "true")
        items.append(Scenario(str(item["name"]), str(item.get("description", "")).strip(), outcomes,
                              tuple(str(s) for s in item.get("signposts") or ())))
    return ChapterScenarios(Path(path).stem, float(rho), str(doc.get("justification", "")).strip(), tuple(items)), problems


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
