"""What every model family shares: a base class with the protocol's defaults, prior scaling,
forward-simulation helpers, and the NUTS path (compile once with nutpie, swap data, gate on convergence)."""

from __future__ import annotations

import datetime as dt
import math
import os
import threading
from typing import Callable, ClassVar, Mapping

import numpy as np

from analysis.contract.errors import ModelError
from analysis.models.protocol import Diagnostics, FitResult, Quantity, RowProblem, SamplerSettings, Scope, Setting

__all__ = ["FamilyBase", "Diagnostics", "FitResult", "Quantity", "SamplerSettings", "Setting"]

DAYS_PER_YEAR = 365.25


class _Lazy:
    """A module imported on first use: validating data (which loads every family) never pays for SciPy."""

    def __init__(self, name: str):
        self._name, self._module = name, None

    def __getattr__(self, attr):
        if self._module is None:
            import importlib

            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


stats = _Lazy("scipy.stats")
special = _Lazy("scipy.special")


class FamilyBase:
    """Defaults for the ``Family`` protocol; a family overrides what it needs."""

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1
    quantity: ClassVar[str] = ""
    observation: ClassVar[str] = ""
    time_dependent: ClassVar[bool] = False
    reads_time: ClassVar[bool] = False
    PRIOR: ClassVar[dict[str, str]] = {}
    SETTINGS: ClassVar[dict[str, Setting]] = {}
    COLUMNS: ClassVar[tuple[str, ...]] = ()  # evidence columns the family reads

    def prior_keys(self, settings: Mapping) -> dict[str, str]:
        return dict(self.PRIOR)

    def settings_spec(self) -> dict[str, Setting]:
        return dict(self.SETTINGS)

    def check_settings(self, settings: dict) -> list[RowProblem]:
        return []

    def check_row(self, prediction, row: dict) -> list[RowProblem]:
        return []

    def check_prediction(self, prediction, data) -> list:
        return []

    def scale_prior(self, prior: dict, factor: float) -> dict:
        return scale_gamma_like(prior, factor)

    def structure_key(self, prediction) -> tuple:
        """Predictions with the same key share a compiled model, so a worker compiles it once."""
        return (self.name,)

    def input_columns(self) -> tuple[str, ...]:
        return self.COLUMNS

    def row_hints(self, prediction, data) -> dict[str, tuple[str, tuple]]:
        """The evidence columns this family reads for ``prediction``: {column: (what to enter, allowed values)}."""
        return {column: (f"{column} (read by {self.name})", ()) for column in self.COLUMNS}

    def context_digest(self, prediction, data) -> str | None:
        """A digest of what the family reads besides the prediction's own rows (e.g. a roster)."""
        return None

    def alternatives(self, prediction) -> dict[str, tuple[dict, dict]]:
        """Structural alternatives for the model range: {label: (prior, settings)}."""
        return {}

    def joint_key(self, prediction) -> tuple | None:
        """Predictions with the same key share one posterior, so their outcomes can be drawn together."""
        return None

    def progress(self, prediction, inputs: dict) -> tuple[int, int] | None:
        """(already counted in the question's window, needed for YES) for a counting question; None otherwise."""
        return None

    def scope(self, prediction) -> Scope:
        """The question's window, units, event and threshold, read from its settings (a family whose
        settings say these differently overrides this)."""
        s = prediction.model.settings
        units = s.get("tracked") or s.get("entities")
        events = s.get("events") or ([s["event"]] if s.get("event") else [])
        threshold = s.get("min_events", s.get("min_successes"))
        return Scope(s.get("count_from") or s.get("window_start") or prediction.published, prediction.resolves_by,
                     frozenset(units) if units else None, threshold, tuple(events),
                     (self.name, s.get("roster"), s.get("category"), s.get("series"), s.get("max_units")))

    def simulate(self, predictions: list, data, as_of, n: int, rng) -> dict:
        """Joint outcome draws {prediction id: bool array of length n} for predictions sharing a joint key."""
        raise NotImplementedError(f"{self.name} has no joint simulation")

    def __repr__(self) -> str:
        return f"<family {self.name}>"


def record_end(prediction, as_of: dt.date, data) -> dt.date:
    """The last day the record is known to be complete, as of ``as_of``: the chapter's reviewed-through date
    when it is earlier. A model that reads time as evidence (a rate's exposure, a survival clock, a hazard's
    silence) stops there: a period nobody searched is not a period without events."""
    reviewed = data.reviewed_through(prediction.chapter) if data is not None else None
    return min(as_of, reviewed) if reviewed else as_of


def years(start: dt.date, end: dt.date) -> float:
    return (end - start).days / DAYS_PER_YEAR


def summarise(name: str, draws: np.ndarray) -> Quantity:
    lo, med, hi = np.quantile(np.asarray(draws, dtype=float), [0.05, 0.5, 0.95])
    return Quantity(name, float(med), float(lo), float(hi))


def mean_and_mcse(per_draw_probability: np.ndarray, ess: float | None = None) -> tuple[float, float]:
    """Mean of per-draw conditional probabilities, with its Monte Carlo standard error."""
    values = np.asarray(per_draw_probability, dtype=float)
    n = ess if ess is not None else values.size
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(max(n, 1.0))) if values.size > 1 else 0.0


def at_least_k_of(probabilities: np.ndarray, k: int) -> np.ndarray:
    """P(at least k successes) for independent Bernoullis, row-wise (Poisson-binomial tail).

    ``probabilities`` has shape (draws, units). Exact dynamic programme, no simulation noise.
    """
    probs = np.atleast_2d(np.asarray(probabilities, dtype=float))
    draws, units = probs.shape
    if k <= 0:
        return np.ones(draws)
    if k > units:
        return np.zeros(draws)
    dist = np.zeros((draws, units + 1))
    dist[:, 0] = 1.0
    for j in range(units):
        p = probs[:, j : j + 1]
        dist[:, 1:] = dist[:, 1:] * (1 - p) + dist[:, :-1] * p
        dist[:, 0] *= 1 - p[:, 0]
    return dist[:, k:].sum(axis=1)


def scale_gamma_like(prior: dict, factor: float, keys: tuple[str, str] = ("alpha", "beta")) -> dict:
    """Same prior mean, ``factor`` times the pseudo-observations (factor < 1 is weaker)."""
    out = dict(prior)
    for key in keys:
        out[key] = float(prior[key]) * factor
    return out


# ---------------------------------------------------------------------------------------------
# NUTS through nutpie: one compiled model per family structure, reused with new data.

_COMPILED: dict[tuple, object] = {}
_COMPILE_LOCK = threading.Lock()
COMPILE_COUNT = {"n": 0}


def compiled_model(key: tuple, build: Callable[[], object]):
    """Compile ``build()`` (a PyMC model) once per ``key`` and reuse it for every fit."""
    import warnings

    warnings.filterwarnings("ignore", message=".*BLAS.*")  # pip's PyTensor warns; nutpie uses numba
    with _COMPILE_LOCK:
        if key not in _COMPILED:
            import nutpie

            _COMPILED[key] = nutpie.compile_pymc_model(build())
            COMPILE_COUNT["n"] += 1
        return _COMPILED[key]


def clear_compiled() -> None:
    with _COMPILE_LOCK:
        _COMPILED.clear()


def sample_nuts(compiled, data: dict, *, seed: int, sampler: SamplerSettings, label: str, var_names: list[str],
                min_target_accept: float = 0.0, min_tune: int = 0):
    """Sample a compiled model with new data; refuse results that fail the convergence gate.

    ``min_target_accept`` lets a family with awkward geometry (hierarchical pooling) take smaller steps,
    and ``min_tune`` gives a slowly mixing one a longer warm-up.
    """
    import arviz as az
    import nutpie

    model = compiled.with_data(**data)
    idata = nutpie.sample(model, draws=sampler.draws, tune=max(sampler.tune, min_tune), chains=sampler.chains, seed=seed,
                          target_accept=max(sampler.target_accept, min_target_accept), progress_bar=False,
                          cores=min(sampler.chains, os.cpu_count() or 1))
    post = idata.posterior[var_names]
    rhat = float(az.rhat(post).to_array().max())
    ess = float(az.ess(post, method="bulk").to_array().min())
    divergences = int(idata.sample_stats["diverging"].sum())
    if not (rhat <= sampler.rhat_max and ess >= sampler.ess_min and divergences == 0):
        raise ModelError(
            f"{label}: the model did not converge (R-hat {rhat:.3f}, bulk ESS {ess:.0f}, "
            f"{divergences} divergences; needed R-hat <= {sampler.rhat_max}, ESS >= {sampler.ess_min:.0f}, "
            "0 divergences). No forecast was written."
        )
    draws = {name: idata.posterior[name].values.reshape(-1, *idata.posterior[name].shape[2:]) for name in var_names}
    return draws, Diagnostics(rhat, ess, divergences, exact=False, method="nuts")


def pad(values, size: int, fill: float = 0.0) -> np.ndarray:
    """Pad to a fixed length so that ``with_data`` never changes a shape."""
    values = np.asarray(values, dtype=float)
    if values.size > size:
        raise ValueError("more observations than the padded size")
    return np.concatenate([values, np.full(size - values.size, fill)])


def bucket(n: int, smallest: int = 32) -> int:
    """The padded size for ``n`` observations: a power of two, so few compiles serve all sizes."""
    size = smallest
    while size < n:
        size *= 2
    return size
