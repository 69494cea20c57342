"""Loading ``data/scenarios/<chapter>.yaml``: named combinations of a chapter's prediction outcomes,
with their signposts and the correlation the chapter assumes between questions of different models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analysis.contract.errors import DataError, Problem, quote
from analysis.files.yamlfile import load_yaml


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


def load_scenarios(path: Path, shown: str, predictions: dict, root: Path | None = None
                   ) -> tuple[ChapterScenarios | None, list[Problem]]:
    try:
        doc = load_yaml(path, shown, root)
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
                problems.append(Problem(shown, line, f"unknown prediction id {quote(pid)}", "a prediction of this book"))
            elif str(value).lower() not in ("yes", "no", "true", "false"):
                problems.append(Problem(shown, line, f"outcome {quote(value)} for {quote(pid)}", "yes or no"))
            else:
                outcomes[pid] = str(value).lower() in ("yes", "true")
        items.append(Scenario(str(item["name"]), str(item.get("description", "")).strip(), outcomes,
                              tuple(str(s) for s in item.get("signposts") or ())))
    return ChapterScenarios(Path(path).stem, float(rho), str(doc.get("justification", "")).strip(), tuple(items)), problems
