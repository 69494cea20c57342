"""Keeping score: Brier and log scores of resolved and backtest questions, from the as-of replay."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

COIN_FLIP = 0.25
METACULUS_AI = 0.237  # Metaculus community Brier, AI category, per its March 2023 track-record analysis


def brier(probability: float, outcome: int) -> float:
    return (probability - outcome) ** 2


def log_score(probability: float, outcome: int) -> float:
    p = min(max(probability, 1e-6), 1 - 1e-6)
    return math.log(p if outcome else 1 - p)


def _steps(record, end: dt.date) -> list[tuple[dt.date, dt.date, float]]:
    """(from, to, probability) intervals over which each forecast of the history was in force."""
    history = [(dt.date.fromisoformat(h.as_of), h.probability) for h in record.history]
    history = [(d, p) for d, p in history if d < end]
    out = []
    for i, (start, p) in enumerate(history):
        stop = history[i + 1][0] if i + 1 < len(history) else end
        if stop > start:
            out.append((start, stop, p))
    return out


def score_record(record) -> dict | None:
    """Scores of one resolved question (annulled or open ones are not scored): the headline forecast
    (for a retrospective question, the one made when its window opened) and the time average."""
    resolution = record.resolution
    if resolution is None or resolution.outcome not in ("yes", "no"):
        return None
    outcome = int(resolution.outcome == "yes")
    end = dt.date.fromisoformat(resolution.resolved_on)
    steps = _steps(record, end)
    last = record.probability
    total = sum((b - a).days for a, b, _ in steps)
    averaged = (sum(brier(p, outcome) * (b - a).days for a, b, p in steps) / total) if total else brier(last, outcome)
    return {"id": record.id, "chapter": record.chapter, "retrospective": record.retrospective,
            "outcome": outcome, "probability": last, "brier": brier(last, outcome),
            "log_score": log_score(last, outcome), "brier_time_averaged": averaged, "resolved_on": end,
            "steps": steps}


def scoreboard(records: list) -> pd.DataFrame:
    rows = [s for s in (score_record(r) for r in records) if s is not None]
    return pd.DataFrame(rows)


def brier_over_time(board: pd.DataFrame) -> pd.DataFrame:
    """Mean Brier of the forecasts in force at each month start, over the questions open then."""
    if board.empty:
        return pd.DataFrame(columns=["month", "brier", "questions"])
    first = min(a for steps in board["steps"] for a, _, _ in steps) if any(len(s) for s in board["steps"]) else None
    if first is None:
        return pd.DataFrame(columns=["month", "brier", "questions"])
    last = max(board["resolved_on"])
    rows = []
    month = dt.date(first.year, first.month, 1)
    while month <= last:
        scores = []
        for _, q in board.iterrows():
            for a, b, p in q["steps"]:
                if a <= month < b:
                    scores.append(brier(p, q["outcome"]))
        if scores:
            rows.append({"month": pd.Timestamp(month), "brier": sum(scores) / len(scores), "questions": len(scores)})
        month = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return pd.DataFrame(rows)
