"""Keeping score: Brier and log scores of resolved and backtest questions, from the as-of replay."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
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


# -- the backtest's scores -------------------------------------------------------------------------

def brier_scores(p, y) -> np.ndarray:
    return (np.asarray(p, float) - np.asarray(y, float)) ** 2


def log_scores(p, y) -> np.ndarray:
    p = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    y = np.asarray(y, float)
    return y * np.log(p) + (1 - y) * np.log(1 - p)


def skill(bs: float, reference: float) -> float:
    """Brier skill score: 1 - BS / BS_ref (above 0 beats the reference)."""
    return 1 - bs / reference if reference > 0 else float("nan")


def murphy(p, y, bins: int = 10) -> dict:
    """Murphy's decomposition of the Brier score: reliability - resolution + uncertainty (binned)."""
    p, y = np.asarray(p, float), np.asarray(y, float)
    base_rate = y.mean()
    index = np.minimum((p * bins).astype(int), bins - 1)
    reliability = resolution = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            n = mask.sum()
            reliability += n * (p[mask].mean() - y[mask].mean()) ** 2
            resolution += n * (y[mask].mean() - base_rate) ** 2
    n = len(p)
    return {"reliability": reliability / n, "resolution": resolution / n, "uncertainty": base_rate * (1 - base_rate)}


def reliability_bins(p, y, bins: int = 10) -> list[dict]:
    """Per bin: count, mean forecast, observed frequency, and the 95% band of the observed frequency a
    calibrated forecaster would show (binomial quantiles around the mean forecast)."""
    from scipy import stats

    p, y = np.asarray(p, float), np.asarray(y, float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        mask = index == b
        n = int(mask.sum())
        if not n:
            continue
        mean = float(p[mask].mean())
        lo, hi = stats.binom.ppf([0.025, 0.975], n, mean) / n
        out.append({"bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "count": n, "yes": int(y[mask].sum()),
                    "forecast": mean, "observed": float(y[mask].mean()), "band_low": float(lo), "band_high": float(hi)})
    return out


def scores(frame: pd.DataFrame, baselines: tuple[str, ...], *, rng: np.random.Generator, draws: int = 2000) -> dict:
    """Brier, log score and the Brier skill score against each baseline, each with a 95% interval from a
    bootstrap that resamples whole templates (instances of one template are correlated)."""
    def point(f: pd.DataFrame) -> dict:
        bs = brier_scores(f["probability"], f["outcome"]).mean()
        out = {"brier": float(bs), "log_score": float(log_scores(f["probability"], f["outcome"]).mean())}
        for name in baselines:
            out[f"brier_{name}"] = float(brier_scores(f[name], f["outcome"]).mean())
            out[f"bss_{name}"] = float(skill(bs, out[f"brier_{name}"]))
        return out

    estimate = point(frame)
    groups = [g for _, g in frame.groupby("template")]
    samples: dict[str, list[float]] = {k: [] for k in estimate}
    for _ in range(draws):
        picked = pd.concat([groups[i] for i in rng.integers(0, len(groups), len(groups))])
        for key, value in point(picked).items():
            samples[key].append(value)
    intervals = {k: [float(np.nanpercentile(v, 2.5)), float(np.nanpercentile(v, 97.5))]
                 for k, v in samples.items()} if draws else {}
    return {"n": int(len(frame)), "yes": int(frame["outcome"].sum()), "templates": len(groups),
            **estimate, "intervals": intervals, "murphy": murphy(frame["probability"], frame["outcome"])}
