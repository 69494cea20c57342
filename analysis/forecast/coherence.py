"""Coherence: related questions must agree. A declared relation (``data/relations.yaml``) says
P(lower) <= P(upper); a forecast set that breaks one by more than its Monte Carlo error is refused."""

from __future__ import annotations

import math

from analysis.data.relations import Relation
from analysis.forecast.record import Forecast

Z = 3.0  # standard errors of slack for Monte Carlo noise


def violations(records: dict[str, Forecast], relations: list[Relation]) -> list[str]:
    """One message per broken relation, naming both questions and both probabilities."""
    out = []
    for r in relations:
        low, high = records.get(r.lower), records.get(r.upper)
        if low is None or high is None:
            continue
        slack = Z * math.hypot(low.probability_mcse, high.probability_mcse) + 1e-9
        if low.probability > high.probability + slack:
            out.append(f"{r.file}:{r.line}: {r.lower} ({low.probability:.3f}) is more likely than {r.upper} "
                       f"({high.probability:.3f}), but the {r.kind} relation says {r.lower} implies {r.upper}")
    return out
