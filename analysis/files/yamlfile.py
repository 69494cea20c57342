"""Reading YAML data files safely: plain values only, bounded nesting, line numbers kept.

The contract has no use for anchors, aliases or merge keys, and they are how a 12-line file expands to
gigabytes ("billion laughs"). The event stream is checked first, before anything is composed or
expanded: an anchor, alias or ``<<`` key, or nesting deeper than ``MAX_DEPTH``, is refused with its line.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from analysis.contract.errors import DataError, Problem, quote
from analysis.files.storage import read_text

MAX_DEPTH = 32
ALIAS_REFUSAL = "YAML alias/anchor not allowed"


class Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text (they are parsed strictly) and records each key's line."""


Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: Loader, node: yaml.MappingNode) -> dict:
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    mapping["__lines__"] = {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return mapping


Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line(event) -> int:
    return event.start_mark.line + 1 if event.start_mark else 1


def plain_problems(text: str, shown: str) -> list[Problem]:
    """Anchors, aliases, merge keys and over-deep nesting, found in the event stream (nothing expanded)."""
    depth = 0
    expect_key: list[bool] = []  # per open mapping: is the next scalar a key?
    keys: list[dict] = []  # per open mapping: the keys seen so far, with their lines
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                return [Problem(shown, _line(event), ALIAS_REFUSAL, "plain values")]
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if expect_key and expect_key[-1] is not None:
                    expect_key[-1] = not expect_key[-1]
                depth += 1
                if depth > MAX_DEPTH:
                    return [Problem(shown, _line(event), f"nesting deeper than {MAX_DEPTH} levels",
                                    f"at most {MAX_DEPTH} levels of lists and mappings")]
                expect_key.append(True if isinstance(event, yaml.MappingStartEvent) else None)
                keys.append({})
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
                expect_key.pop()
                keys.pop()
            elif isinstance(event, yaml.ScalarEvent) and expect_key and expect_key[-1] is not None:
                if expect_key[-1] and event.value == "<<" and event.style is None:
                    return [Problem(shown, _line(event), "YAML merge key '<<' not allowed", "plain values")]
                if expect_key[-1]:
                    if event.value in keys[-1]:
                        return [Problem(shown, _line(event), f"duplicate key {quote(event.value)} (first at line "
                                        f"{keys[-1][event.value]})", "each key once in a mapping: a reader of the "
                                        "first would not be reading what the model uses")]
                    keys[-1][event.value] = _line(event)
                expect_key[-1] = not expect_key[-1]
    except yaml.YAMLError as err:
        return [_syntax_problem(err, shown)]
    return []


def _syntax_problem(err: yaml.YAMLError, shown: str) -> Problem:
    mark = getattr(err, "problem_mark", None)
    what = getattr(err, "problem", None) or str(err).splitlines()[0]
    return Problem(shown, mark.line + 1 if mark else 1, f"YAML syntax error: {what}", "valid YAML")


def load_yaml(path: Path, shown: str, root: Path | None = None):
    """Parse one YAML data file (mappings carry ``__line__`` and ``__lines__``); raise DataError."""
    text = read_text(path, shown, root)
    if not text.strip():
        raise DataError([Problem(shown, 1, "file is empty", "YAML content")])
    problems = plain_problems(text, shown)
    if problems:
        raise DataError(problems)
    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as err:
        raise DataError([_syntax_problem(err, shown)]) from None


def strip_lines(data):
    """Drop the line bookkeeping keys from nested mappings."""
    if isinstance(data, dict):
        return {k: strip_lines(v) for k, v in data.items() if k not in ("__line__", "__lines__")}
    if isinstance(data, list):
        return [strip_lines(v) for v in data]
    return data


def load_list(path: Path, shown: str, root: Path | None, key: str, expected: str) -> tuple[list, list[Problem]]:
    """A YAML data file whose content is a list under ``key`` (relations, templates): (items, problems)."""
    try:
        doc = load_yaml(path, shown, root)
    except DataError as err:
        return [], err.problems
    items = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        return [], [Problem(shown, 1, f"no {key} list", expected)]
    return items, []


def field_problems(item: dict, shown: str, what: str, required: dict, optional: dict) -> list[Problem]:
    """A mapping's missing required fields and unknown fields, each at its line."""
    from analysis.contract.errors import quote

    line, lines = item.get("__line__", 1), item.get("__lines__", {})
    problems = [Problem(shown, line, f"{what} is missing {quote(key)}", meaning)
                for key, meaning in required.items() if item.get(key) in (None, "")]
    problems += [Problem(shown, lines.get(key, line), f"unknown {what} field {quote(key)}",
                         "one of " + ", ".join([*required, *optional]))
                 for key in item if not str(key).startswith("__") and key not in required and key not in optional]
    return problems
