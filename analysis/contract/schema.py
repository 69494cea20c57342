"""The data contract: every column of every data file, described once.

The pandera schemas, ``data/datapackage.json`` and the book's "Adding evidence" page are all
generated from the specs below, so they cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EVIDENCE_ID_RE = re.compile(r"^[A-Z]+-E\d{3,}$")
PREDICTION_ID_RE = re.compile(r"^[A-Z]+-\d+$")
SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
URL_RE = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)
STORED_FILE_RE = re.compile(r"^github:[A-Za-z0-9][\w.-]*/[\w.-]+/[^\s<>\"']+@[0-9a-f]{7,40}$")
STANCES = ("for", "against", "neutral")
SOURCE_KINDS = ("primary", "original_reporting", "repost")
OUTCOMES = ("yes", "no", "annulled")


@dataclass(frozen=True)
class Column:
    """One column of a CSV file: its name, type and meaning."""

    name: str
    type: str  # frictionless type: string, date, integer, number
    required: bool
    description: str


EVIDENCE_COLUMNS: tuple[Column, ...] = (
    Column("id", "string", True, "Unique evidence id, `<PREFIX>-E<NNN>`, never reused."),
    Column("prediction", "string", False,
           "Prediction id(s) this fact informs, separated by `;`; empty for a context row that moves no forecast."),
    Column("observed_on", "date", True, "When the event happened (YYYY-MM-DD), not after today."),
    Column("first_public", "date", True,
           "The earliest date the fact was public (on or after `observed_on`, on or before `source_date`). "
           "A forecast as of D uses only rows whose `first_public` is on or before D."),
    Column("summary", "string", True, "One or two neutral sentences of plain text."),
    Column("source_publisher", "string", True, "Who published the source that was seen."),
    Column("source_title", "string", True, "The source's title."),
    Column("source_date", "date", True, "The source's publication date."),
    Column("source_url", "string", False, "Only a real http(s) address that was seen; else empty."),
    Column("source_kind", "string", True,
           "`primary` (court filing, agency release, company post or filing, paper, official report), "
           "`original_reporting` (an outlet's own reporting) or `repost` (aggregator, translation, mirror, summary)."),
    Column("source_note", "string", False,
           "Required for a `repost`: why no original could be used. Also any uncertainty about dates or figures."),
    Column("logged_on", "date", True, "When the row was logged."),
    Column("stance", "string", True, "`for`, `against` or `neutral`, relative to the chapter's claim."),
    Column("entity", "string", False, "Who or what the fact is about (a roster entry's name, a series)."),
    Column("event", "string", False, "Event type from the chapter's vocabulary, e.g. `absorbed`, `charged`."),
    Column("category", "string", False, "Optional subgroup, e.g. a defendant type."),
    Column("count", "integer", False, "Successes (beta_binomial) or events (gamma_poisson); default 1."),
    Column("trials", "integer", False, "Units observed, >= count (beta_binomial, binomial trend)."),
    Column("value", "number", False, "A measured value: a share in [0, 1] for a trend, parameters in billions, ..."),
    Column("lr", "string", False, "Likelihood ratio P(fact|YES)/P(fact|NO): a number, or `ID=x;ID=y`."),
    Column("reason", "string", False, "Why the fact is diagnostic; required with `lr`."),
    Column("read_via", "string", False,
           "The address actually opened (an http(s) URL, or `github:owner/repo/path@commit` for a stored file) when "
           "it is not the original's: a mirror, digest, aggregator or republication. Then `source_kind` is `repost`."),
)

RESOLUTION_COLUMNS: tuple[Column, ...] = (
    Column("prediction", "string", True, "The prediction resolved."),
    Column("outcome", "string", True, "`yes`, `no` or `annulled`."),
    Column("resolved_on", "date", True, "When the outcome became known."),
    Column("source_publisher", "string", True, "Who published the resolving source."),
    Column("source_title", "string", True, "The resolving source's title."),
    Column("source_date", "date", True, "The resolving source's date."),
    Column("source_url", "string", False, "Only a real http(s) address that was seen."),
    Column("note", "string", False, "Anything a reader needs to check the resolution."),
    Column("logged_on", "date", True, "When the row was logged."),
)

LEDGER_COLUMNS: tuple[Column, ...] = (
    Column("snapshot", "string", True, "`ID@AS_OF`: the citable id of this row."),
    Column("prediction", "string", True, "Prediction id."),
    Column("version", "integer", True, "The question's version when forecast."),
    Column("as_of", "date", True, "Facts first public on or before this date were used."),
    Column("probability", "number", True, "P(YES by resolves_by)."),
    Column("mcse", "number", True, "Monte Carlo standard error of the probability."),
    Column("quantity", "string", True, "Name of the latent quantity summarised."),
    Column("median", "number", True, "Posterior median of the quantity."),
    Column("lo90", "number", True, "5th percentile of the quantity."),
    Column("hi90", "number", True, "95th percentile of the quantity."),
    Column("evidence_count", "integer", True, "Rows used."),
    Column("evidence_sha256", "string", True, "Hash of the evidence rows used."),
    Column("family", "string", True, "Model family."),
    Column("versions", "string", True, "Package versions that produced the row."),
    Column("created_at", "string", True, "UTC time the row was written."),
)

VERSION_COLUMNS: tuple[Column, ...] = (
    Column("prediction", "string", True, "Prediction id."),
    Column("version", "integer", True, "The question's version."),
    Column("question", "string", True, "The question's text at that version."),
    Column("resolution_criteria", "string", True, "Its resolution criteria at that version."),
    Column("fine_print", "string", False, "Its fine print at that version."),
    Column("resolves_by", "date", True, "Its resolve-by date at that version."),
    Column("recorded_on", "date", True, "When this version was first recorded."),
)

UPDATE_COLUMNS: tuple[Column, ...] = (
    Column("as_of", "date", True, "The as-of date of the update: facts public on or before it were used."),
    Column("run_at", "string", True, "UTC time the update ran."),
    Column("inputs_sha256", "string", True,
           "Hash of every input a forecast depends on (data files, model code, package versions)."),
    Column("predictions", "integer", True, "Predictions forecast."),
    Column("refit", "integer", True, "Predictions whose inputs changed and were fitted again."),
    Column("snapshots", "integer", True, "Ledger rows appended."),
)

SNAPSHOT_NOTE_COLUMNS: tuple[Column, ...] = (
    Column("snapshot", "string", True, "The ledger snapshot this note explains."),
    Column("cause", "string", True,
           "Why the snapshot was taken: `first`, `evidence`, `question`, `model`, `resolution`, `time` or `code`."),
    Column("evidence_ids", "string", False, "The evidence ids the snapshot used (`;`-separated)."),
    Column("model_sha256", "string", True, "Hash of the model: family, its version, prior and settings."),
    Column("note", "string", False, "Anything else a reader needs."),
)

COVERAGE_COLUMNS: tuple[Column, ...] = (
    Column("stream", "string", True, "The chapter slug whose record was reviewed."),
    Column("reviewed_through", "date", True,
           "The record is complete through this date: every qualifying public fact first public on or before it "
           "that the search found is logged. Rate and survival models stop their exposure here."),
    Column("searched", "string", True, "What was searched: sources, corpora, queries, names."),
    Column("found", "string", True, "What the review found: the rows it added, or `nothing new`."),
    Column("reviewed_on", "date", True, "When the review was done (on or after `reviewed_through`)."),
)

CORRECTION_COLUMNS: tuple[Column, ...] = (
    Column("table", "string", True, "`evidence` or `resolutions`: the store whose row is corrected."),
    Column("row", "string", True,
           "The corrected row: an evidence id, or a resolution's prediction id. The row itself is never rewritten."),
    Column("column", "string", True, "The corrected column (any but the row's id and `logged_on`)."),
    Column("old", "string", False, "The cell's value before the correction (must match it)."),
    Column("new", "string", False, "The corrected value; it is validated like the column itself."),
    Column("reason", "string", True, "Why: the earlier report found, the copy that was read, the slip."),
    Column("logged_on", "date", True, "When the correction was logged."),
)

TEMPLATE_FREEZE_COLUMNS: tuple[Column, ...] = (
    Column("template", "string", True, "The backtest template's id."),
    Column("sha256", "string", True, "The hash of its definition when frozen: a change needs a new id."),
    Column("frozen_on", "date", True, "The day it was frozen: instances whose windows open later are prospective."),
)

CROWD_COLUMNS: tuple[Column, ...] = (
    Column("prediction", "string", True, "The book's prediction the crowd forecast is compared with."),
    Column("platform", "string", True, "Metaculus, Manifold, Polymarket or Good Judgment Open."),
    Column("market", "string", True, "The crowd question's title as the platform states it."),
    Column("probability", "number", True, "The crowd's probability of YES for that question, in [0, 1]."),
    Column("observed_on", "date", True, "The date the probability was seen (as the source dates it)."),
    Column("source_publisher", "string", True, "Who published the page that showed it."),
    Column("source_title", "string", True, "That page's title."),
    Column("source_url", "string", False, "Only a real http(s) address that was seen."),
    Column("comparability", "string", True, "How the crowd question differs from the book's."),
    Column("logged_on", "date", True, "When the row was logged."),
)

PREDICTION_FIELDS: dict[str, str] = {
    "id": "stable id `<PREFIX>-<n>`, never reused",
    "chapter": "the chapter slug (the file's name)",
    "question": "one observable outcome, bound to a date",
    "resolution_criteria": "YES if ..., NO if ...",
    "resolution_source": "the named source that settles it",
    "published": "date the question was published",
    "resolves_by": "date by which it resolves",
    "retrospective": "true for backtest questions whose outcome is known",
    "model": "family, prior (with justification) and settings",
    "tags": "a list of tags",
    "version": "integer, bumped when the question or criteria change",
}
OPTIONAL_PREDICTION_FIELDS: dict[str, str] = {
    "fine_print": "definitions of terms, tracked entities, what annuls it",
    "backtest_from": "retrospective only: the first as-of date of the backtest",
}


def names(columns: tuple[Column, ...]) -> list[str]:
    return [c.name for c in columns]


def parse_date(text: str) -> dt.date | None:
    """A strict YYYY-MM-DD date, or None when malformed or impossible (2025-02-30)."""
    if not isinstance(text, str) or not DATE_RE.match(text.strip()):
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


MAX_COUNT = 10**9  # counts and trials: far above any real tally, far below a 64-bit overflow
MAX_ABS_NUMBER = 1e12  # measured values (shares, parameters in billions, prices)
NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _is_int(text: str) -> bool:
    """ASCII digits only (a look-alike digit from another script is not a number here)."""
    return bool(re.fullmatch(r"[+-]?[0-9]+", text))


def _is_number(text: str) -> bool:
    return bool(NUMBER_RE.fullmatch(text)) and abs(float(text)) <= MAX_ABS_NUMBER


# Element-wise checks: name -> (predicate on a non-empty string, message, expected).
CHECKS: dict[str, tuple] = {
    "date": (lambda s: parse_date(s) is not None, "is not a valid date", "a real date as YYYY-MM-DD"),
    "integer": (lambda s: _is_int(s) and 0 <= int(s) <= MAX_COUNT, "is not a whole number from 0 to 10^9",
                "a count such as 0, 1, 12 (ASCII digits, at most 1,000,000,000)"),
    "number": (_is_number, "is not a number within bounds",
               "a decimal number in ASCII digits, at most 10^12 in size"),
    "url": (lambda s: bool(URL_RE.match(s)), "is not an http(s) URL", "an address starting http:// or https://"),
    "stance": (lambda s: s in STANCES, "is not a stance", "one of " + ", ".join(STANCES)),
    "source_kind": (lambda s: s in SOURCE_KINDS, "is not a source kind", "one of " + ", ".join(SOURCE_KINDS)),
    "outcome": (lambda s: s in OUTCOMES, "is not an outcome", "one of " + ", ".join(OUTCOMES)),
    "evidence_id": (lambda s: bool(EVIDENCE_ID_RE.match(s)), "is not an evidence id", "e.g. NEO-E001"),
    "slug": (lambda s: bool(SLUG_RE.match(s)), "is not a chapter slug", "lower-case-with-dashes, e.g. neo-labs"),
    "table": (lambda s: s in ("evidence", "resolutions"), "is not a correctable store", "evidence or resolutions"),
    "read_via": (lambda s: bool(URL_RE.match(s) or STORED_FILE_RE.match(s)), "is not an address or stored file",
                 "an http(s) URL, or github:owner/repo/path@commit"),
    "prediction_ids": (
        lambda s: all(PREDICTION_ID_RE.match(p.strip()) for p in s.split(";")),
        "is not a list of prediction ids",
        "ids like NEO-1, separated by ';'",
    ),
}


def checks_for(column: Column) -> list[str]:
    special = {"id": ["evidence_id"], "prediction": ["prediction_ids"], "source_url": ["url"], "stream": ["slug"],
               "table": ["table"], "read_via": ["read_via"],
               "stance": ["stance"], "outcome": ["outcome"], "source_kind": ["source_kind"]}
    if column.name in special:
        return special[column.name]
    return [column.type] if column.type in ("date", "integer", "number") else []


def _element_check(name: str, column: Column) -> pa.Check:
    predicate, message, _ = CHECKS[name]

    def check(value: str) -> bool:
        return value == "" or bool(predicate(value))  # emptiness is the "required" check's job

    return pa.Check(check, element_wise=True, name=name, error=message)


def _required_check(column: Column) -> pa.Check:
    return pa.Check(lambda v: v != "", element_wise=True, name="required", error="is empty")


def table_schema(columns: tuple[Column, ...]) -> pa.DataFrameSchema:
    """A pandera schema for a CSV read as strings: types, formats and required cells."""
    spec = {}
    for column in columns:
        checks = [_required_check(column)] if column.required else []
        checks += [_element_check(name, column) for name in checks_for(column)]
        spec[column.name] = pa.Column(str, checks=checks, nullable=False)
    return pa.DataFrameSchema(spec, strict=True, ordered=False)


def expected_for(check_name: str, column: Column) -> str:
    if check_name == "required":
        return f"a value: {column.description}"
    return CHECKS[check_name][2]


def datapackage(resources: dict[str, tuple[str, tuple[Column, ...]]]) -> dict:
    """A frictionless data package describing each CSV's columns."""
    out = {"name": "ai-forecast-book", "profile": "tabular-data-package", "resources": []}
    for name, (path, columns) in resources.items():
        fields = [
            {"name": c.name, "type": c.type, "description": c.description,
             **({"constraints": {"required": True}} if c.required else {})}
            for c in columns
        ]
        out["resources"].append({
            "name": name, "path": path, "profile": "tabular-data-resource", "format": "csv",
            "encoding": "utf-8", "schema": {"fields": fields},
        })
    return out


OPTIONAL_STORES = ("coverage.csv", "corrections.csv", "template_freeze.csv")  # described only once they exist


def describe(evidence_files: list[str], present: set[str] = frozenset(OPTIONAL_STORES)) -> dict:
    """The data package for a data folder with these evidence files: every CSV the project keeps (the
    optional stores only when ``present``)."""
    evidence = {f"evidence-{name.removesuffix('.csv')}": (f"evidence/{name}", EVIDENCE_COLUMNS)
                for name in evidence_files}
    return datapackage({
        **evidence,
        "resolutions": ("resolutions.csv", RESOLUTION_COLUMNS),
        "forecasts": ("forecasts.csv", LEDGER_COLUMNS),
        "question_versions": ("question_versions.csv", VERSION_COLUMNS),
        "updates": ("updates.csv", UPDATE_COLUMNS),
        "snapshot_notes": ("snapshot_notes.csv", SNAPSHOT_NOTE_COLUMNS),
        "crowd": ("crowd.csv", CROWD_COLUMNS),
        **({"coverage": ("coverage.csv", COVERAGE_COLUMNS)} if "coverage.csv" in present else {}),
        **({"corrections": ("corrections.csv", CORRECTION_COLUMNS)} if "corrections.csv" in present else {}),
        **({"template_freeze": ("template_freeze.csv", TEMPLATE_FREEZE_COLUMNS)}
           if "template_freeze.csv" in present else {}),
    })
