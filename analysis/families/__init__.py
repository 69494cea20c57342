"""The model families, by name. Each module exposes the same small interface:
``PRIOR_KEYS``, ``SETTINGS``, ``OPTIONAL_SETTINGS``, ``OBSERVATION``, ``row_problems``, ``prepare``,
``fit`` and ``scale_prior``."""

from __future__ import annotations

from analysis.families import beta_binomial, gamma_poisson, likelihood_ratio, logistic_trend, survival
from analysis.schema import parse_date

FAMILIES = {m.NAME: m for m in (beta_binomial, gamma_poisson, survival, logistic_trend, likelihood_ratio)}


def required_prior_keys(family: str, settings: dict) -> dict:
    module = FAMILIES[family]
    keys = dict(module.PRIOR_KEYS)
    if family == "survival" and settings.get("form") == "weibull":
        keys.update(survival.WEIBULL_PRIOR_KEYS)
    return keys


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


CHOICES = {("survival", "form"): ("exponential", "weibull"), ("logistic_trend", "observation"): ("beta", "binomial"),
           ("logistic_trend", "direction"): ("above", "below")}


def check_model(family: str, prior: dict, settings: dict) -> tuple[dict, dict, list[tuple[str, str, str]]]:
    """Validate and type a prediction's model block: (prior, settings, [(key, problem, expected)])."""
    if family not in FAMILIES:
        return prior, settings, [("model.family", f"unknown family '{family}'", "one of " + ", ".join(FAMILIES))]
    module = FAMILIES[family]
    problems, typed_settings, typed_prior = [], {}, {}
    specs = {**module.SETTINGS, **module.OPTIONAL_SETTINGS}
    for key, (kind, meaning) in specs.items():
        if key not in settings:
            if key in module.SETTINGS:
                problems.append(("model.settings", f"settings is missing '{key}'", meaning))
            continue
        try:
            typed_settings[key] = _typed(settings[key], kind)
        except ValueError as err:
            problems.append(("model.settings", f"setting '{key}' = {settings[key]!r} is invalid", str(err)))
        choices = CHOICES.get((family, key))
        if choices and settings[key] not in choices:
            problems.append(("model.settings", f"setting '{key}' = {settings[key]!r} is invalid", " or ".join(choices)))
    for key in settings:
        if key not in specs:
            problems.append(("model.settings", f"unknown setting '{key}'", "one of " + ", ".join(specs) if specs else "none"))
    for key, meaning in required_prior_keys(family, settings).items():
        value = prior.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (value <= 0 and "mu" not in key):
            problems.append(("model.prior", f"prior '{key}' = {value!r} is invalid", f"a positive number: {meaning}"))
        else:
            typed_prior[key] = float(value)
    if not str(prior.get("justification", "")).strip():
        problems.append(("model.prior", "prior has no justification", "one sentence naming the reference class"))
    typed_prior["justification"] = str(prior.get("justification", "")).strip()
    if family == "logistic_trend" and "threshold" in typed_settings and not 0 < typed_settings["threshold"] < 1:
        problems.append(("model.settings", "threshold is outside (0, 1)", "a share strictly between 0 and 1"))
    return typed_prior, typed_settings, problems
