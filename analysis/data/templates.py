"""Backtest question templates, ``data/templates.yaml``: rules that generate one binary question per unit
and window, with the model and threshold fixed before anything is scored (see ``forecast.backtest``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from analysis.contract.errors import Problem, quote
from analysis.contract.schema import parse_date
from analysis.files.yamlfile import load_list, strip_lines

KINDS = ("roster_survival", "roster_rate", "calendar_rate", "calendar_arrivals")
EVERY = ("year", "half", "quarter")
REQUIRED = ("id", "chapter", "kind", "windows", "question", "rule", "model")


@dataclass(frozen=True)
class Template:
    id: str
    chapter: str
    kind: str
    windows: tuple[tuple[dt.date, dt.date], ...]
    leads: tuple[int, ...]
    question: str
    rule: str
    family: str
    prior: dict
    settings: dict
    roster: str = ""
    level: str = "unit"
    date: str = "first_public"
    file: str = ""
    line: int = 0


def windows(every: str, start: dt.date, until: dt.date) -> tuple[tuple[dt.date, dt.date], ...]:
    """Consecutive calendar windows from ``start`` whose last day is on or before ``until``."""
    months = {"year": 12, "half": 6, "quarter": 3}[every]
    out, begin = [], start
    while True:
        month = begin.month - 1 + months
        after = dt.date(begin.year + month // 12, month % 12 + 1, 1)
        end = after - dt.timedelta(days=1)
        if end > until:
            return tuple(out)
        out.append((begin, end))
        begin = after


def window_label(window: tuple[dt.date, dt.date]) -> str:
    start, end = window
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    if months == 12:
        return str(start.year)
    if months == 6:
        return f"{start.year}H{1 if start.month == 1 else 2}"
    return f"{start.year}Q{(start.month - 1) // 3 + 1}"


def load_templates(path: Path, shown: str, root: Path | None, rosters: dict) -> tuple[list[Template], list[Problem]]:
    from analysis.models import check_model

    items, problems = load_list(path, shown, root, "templates", "frozen_on and templates: [...]")
    out, seen = [], set()
    for item in items:
        line = item.get("__line__", 1) if isinstance(item, dict) else 1
        missing = [k for k in REQUIRED if not isinstance(item, dict) or item.get(k) in (None, "")]
        if missing:
            problems.append(Problem(shown, line, f"template is missing {', '.join(missing)}", ", ".join(REQUIRED)))
            continue
        if item["id"] in seen:
            problems.append(Problem(shown, line, f"template {quote(item['id'])} is defined twice", "unique ids"))
        seen.add(item["id"])
        if item["kind"] not in KINDS:
            problems.append(Problem(shown, line, f"kind {quote(item['kind'])} is unknown", " or ".join(KINDS)))
        if item["kind"].startswith("roster_") and item.get("roster") not in rosters:
            problems.append(Problem(shown, line, f"roster {quote(item.get('roster'))} not found", "a data/rosters file"))
        w = item["windows"]
        start, until = parse_date(str(w.get("from"))), parse_date(str(w.get("until")))
        if w.get("every") not in EVERY or start is None or until is None:
            problems.append(Problem(shown, line, "windows are malformed", "{every: year|half|quarter, from, until}"))
            continue
        model = strip_lines(item["model"])
        family, prior, settings = model.get("family"), model.get("prior") or {}, model.get("settings") or {}
        sample = _sample_settings(item, settings, start)
        typed_prior, typed, model_problems = check_model(family, prior, sample)
        problems += [Problem(shown, line, f"{item['id']}: {msg}", expected) for _, msg, expected in model_problems]
        if model_problems:
            continue
        out.append(Template(str(item["id"]), str(item["chapter"]), item["kind"], windows(w["every"], start, until),
                            tuple(int(x) for x in item.get("leads") or [0]), " ".join(str(item["question"]).split()),
                            " ".join(str(item["rule"]).split()), family, typed_prior,
                            {k: v for k, v in typed.items() if k not in ("roster", "count_from", "tracked")},
                            str(item.get("roster") or ""), str(item.get("level") or "unit"),
                            str(item.get("date") or "first_public"), shown, line))
    return (out, problems) if not problems else ([], problems)


def _sample_settings(item: dict, settings: dict, start: dt.date) -> dict:
    """The settings as an instance will have them, so the model block can be checked once here."""
    sample = {**settings, "count_from": start.isoformat()}
    if item["kind"] == "roster_survival":
        sample.update({"roster": item.get("roster"), "min_events": sample.get("min_events", 1)})
    return sample


def template_digest(template: Template) -> str:
    """sha256 of everything that defines a template's questions and forecasts (not where it is written)."""
    from analysis.contract.provenance import digest

    fields = {k: v for k, v in template.__dict__.items() if k not in ("file", "line")}
    return digest(fields)


def freeze_problems(templates: list[Template], frozen: list[dict], shown_freeze: str) -> list[Problem]:
    """A frozen template must not change: a changed rule is a new template with a new id, and the old one keeps
    its record. Each frozen id must still be defined."""
    by_id = {t.id: t for t in templates}
    out = []
    for row in frozen:
        template = by_id.get(row["template"])
        if template is None:
            out.append(Problem(shown_freeze, row["_line"], f"frozen template {quote(row['template'])} is no longer "
                               "defined", "frozen templates kept in data/templates.yaml, so their record stays"))
        elif template_digest(template) != row["sha256"]:
            out.append(Problem(template.file, template.line, f"template {quote(template.id)} changed after it was frozen "
                               f"on {row['frozen_on']}", "an unchanged template: a changed rule is a new template with a "
                               "new id"))
    return out
