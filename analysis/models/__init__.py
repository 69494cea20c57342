"""The model families, by name, and the check of a prediction's ``model`` block against its family.

Each family implements ``analysis.models.protocol.Family``; this registry is the only place that lists
them."""

from __future__ import annotations

from analysis.contract.schema import parse_date
from analysis.models import beta_binomial, gamma_poisson, likelihood_ratio, logistic_trend, survival
from analysis.models.protocol import Family, Setting

FAMILIES: dict[str, Family] = {m.FAMILY.name: m.FAMILY
                               for m in (beta_binomial, gamma_poisson, survival, logistic_trend, likelihood_ratio)}


def family(name: str) -> Family:
    return FAMILIES[name]


def _typed(value, kind):
    """Coerce a settings value to its declared kind, or raise ValueError."""
    if kind == "date":
        parsed = parse_date(str(value))
        if parsed is None:
            raise ValueError("a date as YYYY-MM-DD")
        return parsed
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("a number")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("a whole number >= 0")
        return value
    if kind is list:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ValueError("a non-empty list of names")
        return value
    if not isinstance(value, kind):
        raise ValueError(f"a {kind.__name__}")
    return value


def _check_setting(key: str, spec: Setting, value) -> tuple[object, list[tuple[str, str, str]]]:
    try:
        typed = _typed(value, spec.kind)
    except ValueError as err:
        return None, [("model.settings", f"setting '{key}' = {value!r} is invalid", str(err))]
    if spec.choices and value not in spec.choices:
        return None, [("model.settings", f"setting '{key}' = {value!r} is invalid", " or ".join(spec.choices))]
    return typed, []


def check_model(name: str, prior: dict, settings: dict) -> tuple[dict, dict, list[tuple[str, str, str]]]:
    """Validate and type a prediction's model block: (prior, settings, [(key, problem, expected)])."""
    if name not in FAMILIES:
        return prior, settings, [("model.family", f"unknown family '{name}'", "one of " + ", ".join(FAMILIES))]
    fam = FAMILIES[name]
    specs = fam.settings_spec()
    problems, typed_settings, typed_prior = [], {}, {}
    for key, spec in specs.items():
        if key not in settings:
            if spec.required:
                problems.append(("model.settings", f"settings is missing '{key}'", spec.meaning))
            continue
        value, found = _check_setting(key, spec, settings[key])
        problems += found
        if not found:
            typed_settings[key] = value
    for key in settings:
        if key not in specs:
            problems.append(("model.settings", f"unknown setting '{key}'", "one of " + ", ".join(specs) if specs else "none"))
    for key, meaning in fam.prior_keys(settings).items():
        value = prior.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (value <= 0 and "mu" not in key):
            problems.append(("model.prior", f"prior '{key}' = {value!r} is invalid", f"a positive number: {meaning}"))
        else:
            typed_prior[key] = float(value)
    if not str(prior.get("justification", "")).strip():
        problems.append(("model.prior", "prior has no justification", "one sentence naming the reference class"))
    typed_prior["justification"] = str(prior.get("justification", "")).strip()
    if not problems:
        problems += fam.check_settings(typed_settings)
    return typed_prior, typed_settings, problems
