"""Loading ``data/predictions/<chapter>.yaml``: each prediction with the line it starts on."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from analysis.contract.errors import DataError, Problem, quote
from analysis.contract.schema import (OPTIONAL_PREDICTION_FIELDS, PREDICTION_FIELDS, PREDICTION_ID_RE, SLUG_RE,
                                      parse_date)
from analysis.files.yamlfile import field_problems, load_yaml, strip_lines


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


def _date_field(item: dict, key: str, shown: str, line: int, problems: list[Problem]) -> dt.date | None:
    raw = item.get(key)
    value = parse_date(str(raw)) if raw is not None else None
    if value is None:
        problems.append(Problem(shown, line, f"{key} {quote(raw)} is not a valid date", "a real date as YYYY-MM-DD"))
    return value


def _parse_item(item, shown: str, slug: str, problems: list[Problem]) -> Prediction | None:
    if not isinstance(item, dict):
        problems.append(Problem(shown, 1, "a list item is not a mapping", "each prediction as key: value pairs"))
        return None
    line, lines = item["__line__"], item["__lines__"]
    at = lambda key: lines.get(key, line)  # noqa: E731
    before = len(problems)
    problems += field_problems(item, shown, "prediction", PREDICTION_FIELDS, OPTIONAL_PREDICTION_FIELDS)
    if len(problems) > before:
        return None
    pid = str(item["id"])
    if not PREDICTION_ID_RE.match(pid):
        problems.append(Problem(shown, at("id"), f"id {quote(pid)} is malformed", "an id like NEO-1"))
    if item["chapter"] != slug:
        problems.append(Problem(shown, at("chapter"), f"chapter {quote(item['chapter'])} does not match the file",
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
    if resolves_by:
        for key in ("question", "resolution_criteria"):
            late = sorted({d for d in re.findall(r"\b\d{4}-\d{2}-\d{2}\b", str(item[key]))
                           if (parse_date(d) or resolves_by) > resolves_by})
            if late:
                problems.append(Problem(shown, at(key), f"{key} names {', '.join(late)}, after resolves_by {resolves_by}",
                                        "a question whose text and deadline agree (edit one, and bump the version)"))
    version = item["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(Problem(shown, at("version"), f"version {quote(version)} is not a positive integer", "1, 2, ..."))
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
        model=Model(family=str(model["family"]), prior=strip_lines(model["prior"]), settings=strip_lines(model.get("settings") or {})),
        file=shown, line=line, lines={**lines, **{f"model.{k}": v for k, v in model["__lines__"].items()}},
    )


def load_prediction_file(path: Path, shown: str, root: Path | None = None) -> tuple[list[Prediction], list[Problem]]:
    """Parse one chapter's YAML; structural errors raise, field problems are returned."""
    slug = Path(path).stem
    if not SLUG_RE.match(slug):
        raise DataError([Problem(shown, 1, f"file name {quote(slug)} is not a chapter slug", "lower-case-with-dashes.yaml")])
    items = load_yaml(path, shown, root)
    if not isinstance(items, list):
        raise DataError([Problem(shown, 1, "top level is not a list", "a YAML list of predictions (- id: ...)")])
    problems: list[Problem] = []
    parsed = [_parse_item(item, shown, slug, problems) for item in items]
    return [p for p in parsed if p is not None], problems
