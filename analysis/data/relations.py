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


def _implied(kind: str, low, high) -> str:
    """Why ``low``'s YES does not imply ``high``'s by their scopes (empty when it does)."""
    if low.start < high.start or low.end > high.end:
        return (f"the lower question's window {low.start} to {low.end} is not inside the upper's "
                f"{high.start} to {high.end}")
    if low.event != high.event or (kind != "subset" and low.source != high.source):
        return "the two questions do not count the same event"
    if low.units is not None and high.units is not None and not low.units <= high.units:
        return "the lower question's units are not among the upper's"
    if kind in ("threshold", "subset") and (low.threshold or 1) < (high.threshold or 1):
        return f"the lower question needs {low.threshold}, fewer than the upper's {high.threshold}"
    if kind == "threshold" and (low.start, low.end, low.units) != (high.start, high.end, high.units):
        return "a threshold relation needs the same window and units"
    if kind == "horizon" and (low.start != high.start or low.threshold != high.threshold or low.units != high.units):
        return "a horizon relation needs the same start, threshold and units"
    return ""


def logical_problems(relations: list[Relation], predictions: dict) -> list[Problem]:
    """Relations that hold only numerically: the lower question's YES must imply the upper's by their
    windows, units, events and thresholds (read through each family's ``scope``)."""
    from analysis.models import FAMILIES

    out = []
    for r in relations:
        low, high = predictions[r.lower], predictions[r.upper]
        why = _implied(r.kind, FAMILIES[low.model.family].scope(low), FAMILIES[high.model.family].scope(high))
        if why:
            out.append(Problem(r.file, r.line, f"the {r.kind} relation {r.lower} -> {r.upper} is not implied: {why}",
                               "a relation that follows from the two questions' definitions"))
    return out
