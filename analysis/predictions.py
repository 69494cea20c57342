"""Loading ``data/predictions/<chapter>.yaml``: each prediction with the line it starts on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analysis.errors import DataError, Problem
from analysis.schema import (OPTIONAL_PREDICTION_FIELDS, PREDICTION_FIELDS, PREDICTION_ID_RE, SLUG_RE,
                             parse_date)
from analysis.storage import read_text


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text (we parse them strictly) and records key lines."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict:
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    mapping["__lines__"] = {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class Model:
    family: str
    prior: dict
    settings: dict


@dataclass(frozen=True)
class Prediction:
    """One testable question with its model; ``file``/``line`` say where it is defined."""

    id: str
    chapter: str
    question: str
    resolution_criteria: str
    resolution_source: str
    published: dt.date
    resolves_by: dt.date
    retrospective: bool
    model: Model
    tags: tuple[str, ...]
    version: int
    fine_print: str = ""
    backtest_from: dt.date | None = None
    file: str = ""
    line: int = 0
    lines: dict = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)

    @property
    def prefix(self) -> str:
        return self.id.rsplit("-", 1)[0]

    @property
    def text_fields(self) -> dict:
        """The fields whose edit needs a version bump."""
        return {"question": self.question, "resolution_criteria": self.resolution_criteria,
                "fine_print": self.fine_print, "resolves_by": self.resolves_by.isoformat()}


def _clean(data):
    """Drop the line bookkeeping keys from nested mappings."""
    if isinstance(data, dict):
        return {k: _clean(v) for k, v in data.items() if k not in ("__line__", "__lines__")}
    if isinstance(data, list):
        return [_clean(v) for v in data]
    return data


def _date_field(item: dict, key: str, shown: str, line: int, problems: list[Problem]) -> dt.date | None:
    raw = item.get(key)
    value = parse_date(str(raw)) if raw is not None else None
    if value is None:
        problems.append(Problem(shown, line, f"{key} '{raw}' is not a valid date", "a real date as YYYY-MM-DD"))
    return value


def _parse_item(item, shown: str, slug: str, problems: list[Problem]) -> Prediction | None:
    if not isinstance(item, dict):
        problems.append(Problem(shown, 1, "a list item is not a mapping", "each prediction as key: value pairs"))
        return None
    line, lines = item["__line__"], item["__lines__"]
    at = lambda key: lines.get(key, line)  # noqa: E731
    before = len(problems)
    for key, meaning in PREDICTION_FIELDS.items():
        if item.get(key) in (None, ""):
            problems.append(Problem(shown, line, f"prediction is missing required field '{key}'", meaning))
    for key in item:
        if key not in PREDICTION_FIELDS and key not in OPTIONAL_PREDICTION_FIELDS and not key.startswith("__"):
            problems.append(Problem(shown, at(key), f"unknown field '{key}'",
                                    "one of " + ", ".join([*PREDICTION_FIELDS, *OPTIONAL_PREDICTION_FIELDS])))
    if len(problems) > before:
        return None
    pid = str(item["id"])
    if not PREDICTION_ID_RE.match(pid):
        problems.append(Problem(shown, at("id"), f"id '{pid}' is malformed", "an id like NEO-1"))
    if item["chapter"] != slug:
        problems.append(Problem(shown, at("chapter"), f"chapter '{item['chapter']}' does not match the file",
                                f"'{slug}', the file's name"))
    for key in ("question", "resolution_criteria", "resolution_source"):
        if not isinstance(item[key], str) or not item[key].strip():
            problems.append(Problem(shown, at(key), f"{key} is not text", "a non-empty string"))
    published = _date_field(item, "published", shown, at("published"), problems)
    resolves_by = _date_field(item, "resolves_by", shown, at("resolves_by"), problems)
    backtest_from = None
    if not isinstance(item["retrospective"], bool):
        problems.append(Problem(shown, at("retrospective"), "retrospective is not true/false", "true or false"))
    if item["retrospective"] is True:
        if "backtest_from" not in item:
            problems.append(Problem(shown, line, "retrospective prediction has no backtest_from",
                                    "the first as-of date of the backtest"))
        else:
            backtest_from = _date_field(item, "backtest_from", shown, at("backtest_from"), problems)
        if backtest_from and resolves_by and backtest_from >= resolves_by:
            problems.append(Problem(shown, at("backtest_from"), "backtest_from is not before resolves_by",
                                    "a backtest that starts before the outcome date"))
    elif published and resolves_by and resolves_by < published:
        problems.append(Problem(shown, at("resolves_by"), f"resolves_by {resolves_by} is before published {published}",
                                "a resolve-by date on or after the published date"))
    version = item["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(Problem(shown, at("version"), f"version '{version}' is not a positive integer", "1, 2, ..."))
    tags = item["tags"]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append(Problem(shown, at("tags"), "tags is not a list of words", "e.g. [headline, backtest]"))
    model = item["model"]
    if not isinstance(model, dict) or not isinstance(model.get("prior"), dict) or "family" not in model:
        problems.append(Problem(shown, at("model"), "model is incomplete",
                                "model: {family, prior: {..., justification}, settings: {...}}"))
        return None
    if len(problems) > before:
        return None
    return Prediction(
        id=pid, chapter=slug, question=item["question"].strip(),
        resolution_criteria=item["resolution_criteria"].strip(),
        resolution_source=item["resolution_source"].strip(), published=published, resolves_by=resolves_by,
        retrospective=item["retrospective"], tags=tuple(tags), version=version,
        fine_print=str(item.get("fine_print") or "").strip(), backtest_from=backtest_from,
        model=Model(family=str(model["family"]), prior=_clean(model["prior"]), settings=_clean(model.get("settings") or {})),
        file=shown, line=line, lines={**lines, **{f"model.{k}": v for k, v in model["__lines__"].items()}},
    )


def load_prediction_file(path: Path, shown: str) -> tuple[list[Prediction], list[Problem]]:
    """Parse one chapter's YAML; structural errors raise, field problems are returned."""
    slug = Path(path).stem
    text = read_text(path, shown)
    if not text.strip():
        raise DataError([Problem(shown, 1, "file is empty", "a YAML list of predictions")])
    if not SLUG_RE.match(slug):
        raise DataError([Problem(shown, 1, f"file name '{slug}' is not a chapter slug", "lower-case-with-dashes.yaml")])
    try:
        items = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        what = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise DataError([Problem(shown, line, f"YAML syntax error: {what}", "valid YAML")])
    if not isinstance(items, list):
        raise DataError([Problem(shown, 1, "top level is not a list", "a YAML list of predictions (- id: ...)")])
    problems: list[Problem] = []
    parsed = [_parse_item(item, shown, slug, problems) for item in items]
    return [p for p in parsed if p is not None], problems
