"""What a model family is: the one interface every family implements, and the results it returns.

A family turns a prediction's evidence rows into a posterior and a probability of YES. Everything the
rest of the code knows about a family goes through ``Family``: no ``if family == ...`` lives outside
``analysis/models``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Mapping, Protocol, runtime_checkable


@dataclass(frozen=True)
class Setting:
    """One key of a prediction's ``model.settings``: its kind, meaning, and whether it may be left out."""

    kind: Any  # str, int, float, bool, list, "date", "names"
    meaning: str
    required: bool = True
    choices: tuple = ()


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings; part of every fit's cache key."""

    chains: int = 4
    draws: int = 1000
    tune: int = 500  # nutpie adapts quickly on these small models; the convergence gate checks every fit
    target_accept: float = 0.9
    rhat_max: float = 1.01
    ess_min: float = 400.0
    forward_draws: int = 20000  # iid draws for forward simulation from an exact posterior


@dataclass(frozen=True)
class Quantity:
    name: str
    median: float
    lo90: float
    hi90: float


@dataclass(frozen=True)
class Diagnostics:
    rhat_max: float | None
    ess_bulk_min: float | None
    divergences: int
    exact: bool
    method: str  # "closed-form", "quadrature", "monte-carlo" or "nuts"


@dataclass(frozen=True)
class FitResult:
    probability: float
    mcse: float
    quantity: Quantity
    diagnostics: Diagnostics
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


RowProblem = tuple[str, str, str]  # (column, what is wrong, what was expected)


@dataclass(frozen=True)
class Scope:
    """What a question counts, as far as a declared relation needs to know: the window, the units, the event
    and the threshold. Two questions' scopes say whether one's YES implies the other's."""

    start: dt.date
    end: dt.date
    units: frozenset | None  # the question's named units (None: any)
    threshold: int | None  # events or successes needed (None: a single event or a state)
    event: tuple[str, ...]
    source: tuple  # what else must match (roster, category, ...)


@runtime_checkable
class Family(Protocol):
    """A model family. Implementations live in ``analysis/models/<name>.py``."""

    name: ClassVar[str]
    version: ClassVar[int]  # bumped when the family's maths change: a new model, new snapshots
    quantity: ClassVar[str]
    observation: ClassVar[str]  # the evidence columns it reads, for the "Adding evidence" page
    time_dependent: ClassVar[bool]  # does P(YES) move with the as-of date alone?
    reads_time: ClassVar[bool]  # is time without an event evidence? Then its clock stops at the reviewed date

    def prior_keys(self, settings: Mapping) -> dict[str, str]: ...

    def settings_spec(self) -> dict[str, Setting]: ...

    def check_settings(self, settings: dict) -> list[RowProblem]: ...

    def check_row(self, prediction, row: dict) -> list[RowProblem]: ...

    def check_prediction(self, prediction, data) -> list: ...

    def prepare(self, prediction, rows, as_of: dt.date, data) -> dict: ...

    def fit(self, inputs: dict, prior: dict, *, seed: int, sampler: SamplerSettings, label: str) -> FitResult: ...

    def scale_prior(self, prior: dict, factor: float) -> dict: ...

    def structure_key(self, prediction) -> tuple: ...

    def input_columns(self) -> tuple[str, ...]: ...

    def row_hints(self, prediction, data) -> dict[str, tuple[str, tuple]]: ...

    def context_digest(self, prediction, data) -> str | None: ...

    def alternatives(self, prediction) -> dict[str, tuple[dict, dict]]: ...

    def joint_key(self, prediction) -> tuple | None: ...

    def scope(self, prediction) -> Scope: ...

    def progress(self, prediction, inputs: dict) -> tuple[int, int] | None: ...

    def simulate(self, predictions: list, data, as_of, n: int, rng) -> dict: ...
