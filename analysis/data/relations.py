"""Declared relations between questions, ``data/relations.yaml``: each says that one question's YES
implies another's, so P(lower) can never exceed P(upper). ``forecast update`` refuses forecasts that
break one (see ``forecast.coherence``).

Kinds: ``subset`` (the lower question's event is part of the upper's), ``threshold`` (same event and
window, a higher threshold below), ``horizon`` (same event and threshold, an earlier deadline below).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analysis.contract.errors import Problem, quote
from analysis.files.yamlfile import load_list

KINDS = ("subset", "threshold", "horizon")


@dataclass(frozen=True)
class Relation:
    kind: str
    lower: str
    upper: str
    note: str
    file: str = ""
    line: int = 0


def load_relations(path: Path, shown: str, predictions: dict, root: Path | None = None
                   ) -> tuple[list[Relation], list[Problem]]:
    items, problems = load_list(path, shown, root, "relations", "relations: [{kind, lower, upper, note}, ...]")
    out: list[Relation] = []
    for item in items:
        line = item.get("__line__", 1) if isinstance(item, dict) else 1
        if not isinstance(item, dict) or not all(item.get(k) for k in ("kind", "lower", "upper", "note")):
            problems.append(Problem(shown, line, "relation is incomplete", "kind, lower, upper and note"))
            continue
        if item["kind"] not in KINDS:
            problems.append(Problem(shown, line, f"kind {quote(item['kind'])} is unknown", " or ".join(KINDS)))
        for key in ("lower", "upper"):
            if item[key] not in predictions:
                problems.append(Problem(shown, line, f"{key} {quote(item[key])} is not a prediction", "a defined id"))
        if item["lower"] == item["upper"]:
            problems.append(Problem(shown, line, "a relation needs two different questions", "lower != upper"))
        out.append(Relation(item["kind"], str(item["lower"]), str(item["upper"]), " ".join(str(item["note"]).split()),
                            shown, line))
    return (out, problems) if not problems else ([], problems)
