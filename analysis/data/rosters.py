"""Rosters, ``data/rosters/<name>.yaml``: the units a family of questions ranges over (founders, labs,
prizes), fixed by a stated rule that does not look at outcomes, and frozen on a stated date.

A roster's header states its ``rule``, the ``source`` the rule was applied to and the date it was
``frozen_on``. Each entry has a sourced ``start`` (when its clock starts) and ``qualified_on`` (the first
date it met the rule using public facts): a forecast as of D sees only the entries qualified by D.
Entries are never removed because of what happened to them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from analysis.contract.errors import DataError, Problem, quote
from analysis.contract.schema import SLUG_RE, SOURCE_KINDS, URL_RE, parse_date
from analysis.files.yamlfile import field_problems, load_yaml

HEADER = {"name": "the roster's slug (the file's name)", "chapter": "the chapter it serves",
          "unit": "what one entry is (founder, lab, prize)", "rule": "the inclusion rule, which never looks at outcomes",
          "source": "what the rule was applied to", "frozen_on": "the date the roster was frozen",
          "entries": "the list of entries"}
ENTRY = {"id": "a stable slug", "name": "the entity name evidence rows use", "group": "the lab or parent company",
         "start": "when the entry's clock starts", "qualified_on": "first date it met the rule publicly",
         "source_publisher": "who published the source", "source_title": "the source's title",
         "source_date": "the source's date", "source_kind": "primary, original_reporting or repost"}
EXCLUDED = {"name": "the candidate left out", "reason": "which part of the rule it failed"}
OPTIONAL_ENTRY = {"tier": "a stratum fixed by the rule at entry", "source_url": "only an address that was seen",
                  "note": "uncertainty, approximations", "doubtful": "true when the entry's membership is uncertain"}


@dataclass(frozen=True)
class Entry:
    id: str
    name: str
    group: str
    tier: str
    start: dt.date
    qualified_on: dt.date
    doubtful: bool
    source: str  # "publisher, title, date" for display
    source_url: str
    note: str


@dataclass(frozen=True)
class Roster:
    name: str
    chapter: str
    unit: str
    rule: str
    source: str
    frozen_on: dt.date
    entries: tuple[Entry, ...]
    file: str = ""
    excluded: tuple[tuple[str, str], ...] = ()  # (candidate, reason): who the rule kept out, and why

    def known_by(self, as_of: dt.date) -> tuple[Entry, ...]:
        """The entries a forecast as of ``as_of`` may use: those that had met the rule publicly."""
        return tuple(e for e in self.entries if e.qualified_on <= as_of)

    def by_name(self) -> dict[str, Entry]:
        return {e.name: e for e in self.entries}


def _entry(item, shown: str, problems: list[Problem]) -> Entry | None:
    if not isinstance(item, dict):
        problems.append(Problem(shown, 1, "a roster entry is not a mapping", "id, name, group, start, ..."))
        return None
    line, lines = item.get("__line__", 1), item.get("__lines__", {})
    at = lambda key: lines.get(key, line)  # noqa: E731
    before = len(problems)
    problems += field_problems(item, shown, "roster entry", ENTRY, OPTIONAL_ENTRY)
    if len(problems) > before:
        return None
    dates = {k: parse_date(str(item[k])) for k in ("start", "qualified_on", "source_date")}
    for key, value in dates.items():
        if value is None:
            problems.append(Problem(shown, at(key), f"{key} {quote(item[key])} is not a valid date", "YYYY-MM-DD"))
    if item["source_kind"] not in SOURCE_KINDS:
        problems.append(Problem(shown, at("source_kind"), f"source_kind {quote(item['source_kind'])} is invalid",
                                "one of " + ", ".join(SOURCE_KINDS)))
    url = str(item.get("source_url") or "")
    if url and not URL_RE.match(url):
        problems.append(Problem(shown, at("source_url"), f"source_url {quote(url)} is not an http(s) URL", "https://..."))
    if not isinstance(item.get("doubtful", False), bool):
        problems.append(Problem(shown, at("doubtful"), "doubtful is not true/false", "true or false"))
    if len(problems) > before:
        return None
    if dates["qualified_on"] < dates["start"]:
        problems.append(Problem(shown, at("qualified_on"), f"qualified_on {dates['qualified_on']} is before start "
                                f"{dates['start']}", "an entry that qualifies on or after its start"))
    return Entry(str(item["id"]), str(item["name"]).strip(), str(item["group"]).strip(), str(item.get("tier") or ""),
                 dates["start"], dates["qualified_on"], bool(item.get("doubtful", False)),
                 f"{item['source_publisher']}, {item['source_title']}, {dates['source_date']}", url,
                 str(item.get("note") or ""))


def _excluded(items, shown: str, line: int, problems: list[Problem]) -> tuple[tuple[str, str], ...]:
    """Candidates the rule was applied to and left out: listed so a reader can check the rule, not the outcome."""
    if not isinstance(items, list):
        problems.append(Problem(shown, line, "excluded is not a list", "a list of name/reason mappings"))
        return ()
    out = []
    for item in items:
        if not isinstance(item, dict):
            problems.append(Problem(shown, line, "an excluded candidate is not a mapping", "name and reason"))
            continue
        found = field_problems(item, shown, "excluded candidate", EXCLUDED, {})
        problems += found
        if not found:
            out.append((" ".join(str(item["name"]).split()), " ".join(str(item["reason"]).split())))
    return tuple(out)


def load_roster(path: Path, shown: str, root: Path | None = None) -> tuple[Roster | None, list[Problem]]:
    try:
        doc = load_yaml(path, shown, root)
    except DataError as err:
        return None, err.problems
    if not isinstance(doc, dict):
        return None, [Problem(shown, 1, "a roster is not a mapping", ", ".join(HEADER))]
    problems = [Problem(shown, 1, f"roster is missing {quote(key)}", meaning)
                for key, meaning in HEADER.items() if doc.get(key) in (None, "")]
    if problems:
        return None, problems
    lines = doc.get("__lines__", {})
    if doc["name"] != Path(path).stem or not SLUG_RE.match(str(doc["name"])):
        problems.append(Problem(shown, lines.get("name", 1), f"name {quote(doc['name'])} does not match the file",
                                f"'{Path(path).stem}', the file's name"))
    frozen = parse_date(str(doc["frozen_on"]))
    if frozen is None:
        problems.append(Problem(shown, lines.get("frozen_on", 1), "frozen_on is not a valid date", "YYYY-MM-DD"))
    if not isinstance(doc["entries"], list) or not doc["entries"]:
        return None, problems + [Problem(shown, lines.get("entries", 1), "entries is not a list", "a list of entries")]
    entries = [e for e in (_entry(item, shown, problems) for item in doc["entries"]) if e is not None]
    excluded = _excluded(doc.get("excluded") or [], shown, lines.get("excluded", 1), problems)
    seen_ids, seen_names = set(), set()
    for item, entry in zip(doc["entries"], entries):
        line = item.get("__line__", 1) if isinstance(item, dict) else 1
        if entry.id in seen_ids or entry.name in seen_names:
            problems.append(Problem(shown, line, f"entry {quote(entry.id)} is listed twice", "each unit once"))
        seen_ids.add(entry.id)
        seen_names.add(entry.name)
        if frozen and entry.qualified_on > frozen:
            problems.append(Problem(shown, line, f"entry {quote(entry.id)} qualified after the roster was frozen",
                                    f"qualified_on on or before {frozen}"))
    if problems:
        return None, problems
    return Roster(str(doc["name"]), str(doc["chapter"]), str(doc["unit"]), " ".join(str(doc["rule"]).split()),
                  " ".join(str(doc["source"]).split()), frozen, tuple(entries), shown, excluded), []
