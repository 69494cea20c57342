"""The model log, ``data/model_log.yaml``: every change to a model, written before it is scored.

Each entry says what changed, why, which families or questions it touches, the rule for keeping it (fixed
before any score is seen), and what the scoring found. Snapshot notes name the entries behind a model
change, and the Methods page shows the log, so a reader can tell a forecast that moved because the world
moved from one that moved because the model did.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from analysis.contract.errors import Problem, quote
from analysis.contract.schema import parse_date
from analysis.files.yamlfile import field_problems, load_list

FIELDS = {"id": "M-<NNN>, never reused", "logged_on": "the day the change was written down (YYYY-MM-DD)",
          "scope": "the families and/or question ids it changes", "change": "what changed",
          "reason": "why", "keep_rule": "the rule for keeping it, fixed before it is scored",
          "scored": "what the scoring found (or why it cannot be scored yet)", "decision": "kept, reverted or pending"}
DECISIONS = ("kept", "reverted", "pending")


@dataclass(frozen=True)
class Change:
    id: str
    logged_on: dt.date
    scope: tuple[str, ...]
    change: str
    reason: str
    keep_rule: str
    scored: str
    decision: str

    def applies_to(self, prediction) -> bool:
        return prediction.id in self.scope or prediction.model.family in self.scope or "all" in self.scope


def load_model_log(path: Path, shown: str, families: set[str], predictions: dict, today: dt.date,
                   root: Path | None = None) -> tuple[list[Change], list[Problem]]:
    items, problems = load_list(path, shown, root, "changes", "changes: [{id, logged_on, scope, change, ...}, ...]")
    out: list[Change] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            problems.append(Problem(shown, 1, "an entry is not a mapping", "id, logged_on, scope, change, ..."))
            continue
        line = item.get("__line__", 1)
        found = field_problems(item, shown, "model-log entry", FIELDS, {})
        problems += found
        if found:
            continue
        when = parse_date(str(item["logged_on"]))
        scope = item["scope"] if isinstance(item["scope"], list) else [item["scope"]]
        unknown = [s for s in scope if s not in families and s not in predictions and s != "all"]
        if item["id"] in seen:
            problems.append(Problem(shown, line, f"duplicate model-log id {quote(item['id'])}", "a new id"))
        if when is None or when > today:
            problems.append(Problem(shown, line, f"logged_on {quote(item['logged_on'])} is not a past date",
                                    "the day the change was written down"))
        if unknown:
            problems.append(Problem(shown, line, f"scope names {', '.join(map(quote, unknown))}",
                                    "family names or prediction ids"))
        if item["decision"] not in DECISIONS:
            problems.append(Problem(shown, line, f"decision {quote(item['decision'])}", " or ".join(DECISIONS)))
        seen.add(item["id"])
        if when is not None:
            out.append(Change(str(item["id"]), when, tuple(map(str, scope)),
                              *(" ".join(str(item[k]).split()) for k in ("change", "reason", "keep_rule", "scored")),
                              str(item["decision"])))
    return (out, problems) if not problems else ([], problems)
