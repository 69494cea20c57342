"""Why a forecast moved, in words: the note written beside every new ledger snapshot.

A cause code (``evidence``, ``model``, ...) says what kind of change earned the snapshot; the note says
which change: the evidence ids added or removed, the model settings that changed and how, the question's
new version, the review date that moved, or the resolution. Pure: it compares two records.
"""

from __future__ import annotations

from analysis.forecast.record import Forecast


def _value(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return "[" + ", ".join(map(str, v)) + "]" if len(v) <= 4 else f"[{len(v)} names]"
    return str(v)


def model_changes(before: dict, after: dict, what: str) -> list[str]:
    """``what`` keys that differ between two prior or settings mappings, as "key: old → new"."""
    out = []
    for key in sorted(set(before) | set(after)):
        if key == "justification":
            if before.get(key) != after.get(key):
                out.append(f"{what} justification rewritten")
            continue
        if key not in after:
            out.append(f"{what} {key} {_value(before[key])} removed")
        elif key not in before:
            out.append(f"{what} {key} {_value(after[key])} added")
        elif before[key] != after[key]:
            out.append(f"{what} {key}: {_value(before[key])} → {_value(after[key])}")
    return out


def explain(cause: str, record: Forecast, previous: Forecast | None, previous_ids: set[str] | None,
            model_log: dict[str, str] | None = None) -> str:
    """The note for a new snapshot of ``record``: every part of ``cause`` in words. ``previous`` is the record
    the last snapshot published (when known) and ``previous_ids`` the evidence ids its note listed."""
    parts = []
    for part in [c for c in cause.split(";") if c]:
        if part == "first":
            parts.append("first forecast of this question")
        elif part == "question":
            old = previous.version if previous else "?"
            parts.append(f"question edited: version {old} → {record.version}")
        elif part == "model":
            parts.append(_model_words(record, previous, model_log or {}))
        elif part == "evidence":
            parts.append(_evidence_words(record, previous, previous_ids))
        elif part == "resolution":
            r = record.resolution
            parts.append(f"resolved {r.outcome.upper()} on {r.resolved_on}" if r else "resolution recorded")
        elif part == "time":
            parts.append("time passed without the event" + (f" (record reviewed through {record.reviewed_through})"
                                                            if record.reviewed_through else ""))
        elif part == "code":
            parts.append("the model code changed (same question, evidence and settings)")
        else:
            parts.append(part)
    return "; ".join(parts)


def _model_words(record: Forecast, previous: Forecast | None, model_log: dict[str, str]) -> str:
    entries = [f"model log {key}: {text}" for key, text in sorted(model_log.items())]
    if previous is None:
        return "model changed" + (" (" + "; ".join(entries) + ")" if entries else " (the previous model is not on record)")
    changes = model_changes(previous.model.prior, record.model.prior, "prior") + \
        model_changes(previous.model.settings, record.model.settings, "setting")
    if previous.model.family != record.model.family:
        changes.insert(0, f"family {previous.model.family} → {record.model.family}")
    if not changes:
        changes = ["the family's code changed (same prior and settings)"]
    return "model: " + "; ".join(changes + entries)


def _evidence_words(record: Forecast, previous: Forecast | None, previous_ids: set[str] | None) -> str:
    now = set(record.evidence_ids)
    before = previous_ids if previous_ids is not None else (set(previous.evidence_ids) if previous else set())
    added, removed = sorted(now - before), sorted(before - now)
    words = []
    if added:
        words.append("new evidence " + ", ".join(added))
    if removed:
        words.append("no longer used " + ", ".join(removed))
    if previous is not None and previous.reviewed_through != record.reviewed_through and record.reviewed_through:
        words.append(f"record reviewed through {record.reviewed_through} (was {previous.reviewed_through or 'never'})")
    if not words:
        words.append("corrected or reviewed evidence (same rows: a logged correction, or a later review date)")
    return "; ".join(words)
