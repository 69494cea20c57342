"""The ``forecast`` command line (also ``python -m analysis``).

Bad input never produces a traceback: data problems print as ``FILE:LINE: what (expected)``
and exit 1; anything unexpected prints one line and exits 2 (set FORECAST_DEBUG=1 for details).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from analysis.contract.errors import DataError, ModelError, Problem

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Validate data, add evidence, update and export the book's forecasts.")

DataOpt = Annotated[Path, typer.Option("--data", help="The data folder.", file_okay=False)]
DEFAULT_DATA = Path("data")


def _fail(lines: list[str], code: int = 1) -> None:
    for line in lines:
        typer.echo(line, err=True)
    raise typer.Exit(code)


@app.command()
def validate(data: DataOpt = DEFAULT_DATA) -> None:
    """Check every data file; print OK or every problem as FILE:LINE."""
    from analysis.data.dataset import load

    loaded = load(data)
    if loaded.problems:
        _fail([str(p) for p in loaded.problems] + [f"{len(loaded.problems)} problem(s) found."])
    typer.echo(f"OK: {len(loaded.predictions)} predictions, {len(loaded.evidence)} evidence rows")


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


CHOICE_COLUMNS = ("stance", "source_kind", "event")  # answers outside the allowed values are asked again


def _ask(fields: dict, questions: dict) -> None:
    """Prompt for each missing column: the row's own, then those the families read (allowed values shown).

    Answers are read as text and checked here (a choice column is asked again until its answer is allowed),
    so the prompts work the same in any terminal."""
    required = ("observed_on", "summary", "source_publisher", "source_title", "source_date", "source_kind", "stance")
    for column, (meaning, choices) in questions.items():
        if fields.get(column) not in (None, "") or (column == "first_public" and fields.get("source_date")):
            continue
        hint = f" [{', '.join(choices)}]" if choices else ""
        while True:
            answer = typer.prompt(f"{column}: {meaning}{hint}", default=None if column in required else "",
                                  show_default=False).strip()
            if column not in CHOICE_COLUMNS or not choices or answer in choices or \
                    (answer == "" and column not in required):
                break
            typer.echo(f"{column}: {answer!r} is not one of {', '.join(choices)}", err=True)
        fields[column] = answer


def _prediction_ids(items: list[str], known) -> list[str]:
    """Prediction ids as typed (case-insensitive, ';' or space separated), each checked against the data set,
    with the nearest known ids offered for a typo."""
    import difflib

    by_upper = {pid.upper(): pid for pid in known}
    out = []
    for raw in (p.strip() for item in items for p in item.split(";")):
        if not raw:
            continue
        pid = by_upper.get(raw.upper())
        if pid is None:
            close = difflib.get_close_matches(raw.upper(), list(by_upper), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(by_upper[c] for c in close)}?" if close else ""
            raise DataError([Problem("PREDICTION (argument)", 0, f"unknown prediction id {raw!r}{hint}",
                                     "an id shown by `forecast list`")])
        out.append(pid)
    return out


@app.command("add-evidence")
def add_evidence(
    prediction: Annotated[list[str], typer.Argument(help="Prediction id(s) the fact informs.")],
    observed_on: Annotated[Optional[str], typer.Option(help="When it happened, YYYY-MM-DD.")] = None,
    summary: Annotated[Optional[str], typer.Option(help="One or two neutral sentences.")] = None,
    publisher: Annotated[Optional[str], typer.Option(help="The source's publisher.")] = None,
    title: Annotated[Optional[str], typer.Option(help="The source's title.")] = None,
    source_date: Annotated[Optional[str], typer.Option(help="The source's date, YYYY-MM-DD.")] = None,
    first_public: Annotated[Optional[str], typer.Option(help="Earliest date the fact was public "
                                                              "(default: --source-date).")] = None,
    source_kind: Annotated[Optional[str], typer.Option(help="primary, original_reporting or repost.")] = None,
    note: Annotated[str, typer.Option("--note", help="Why a repost was kept; any uncertainty.")] = "",
    stance: Annotated[Optional[str], typer.Option(help="for, against or neutral (relative to the claim).")] = None,
    url: Annotated[str, typer.Option(help="Only a real http(s) address you saw.")] = "",
    logged_on: Annotated[Optional[str], typer.Option(help="Default: today.")] = None,
    entity: Annotated[str, typer.Option()] = "",
    event: Annotated[str, typer.Option()] = "",
    category: Annotated[str, typer.Option()] = "",
    count: Annotated[str, typer.Option(help="Successes or events.")] = "",
    trials: Annotated[str, typer.Option()] = "",
    value: Annotated[str, typer.Option(help="A measured share or value.")] = "",
    lr: Annotated[str, typer.Option(help="Likelihood ratio, or ID=x;ID=y.")] = "",
    reason: Annotated[str, typer.Option(help="Why the fact is diagnostic.")] = "",
    preview: Annotated[bool, typer.Option("--preview", help="Show each forecast the row would move; write nothing.")]
    = False,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="For --preview: the as-of date (default today).")]
    = None,
    from_page: Annotated[Optional[Path], typer.Option("--from-page", help="A saved HTML page: pre-fill publisher, "
                                                      "title, date and address from its own metadata.",
                                                      dir_okay=False)] = None,
    not_duplicate: Annotated[bool, typer.Option("--not-duplicate", help="Log it although a row with the same "
                                                "address or title exists (a different fact from that source).")]
    = False,
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """Validate one new evidence row against the whole data set, append it atomically, print its id.

    In a terminal, asks for what is missing: the row's own fields, then only the columns the named
    predictions' model families read, with their allowed values."""
    from analysis.commands import add
    from analysis.data.dataset import load_valid, today

    from analysis.data.dataset import load as load_data

    loaded_once = load_data(data)
    if loaded_once.problems:  # the data set's own problems first: an id cannot be checked against broken files
        raise DataError(loaded_once.problems)
    ids = _prediction_ids(prediction, loaded_once.predictions)
    fields = dict(observed_on=observed_on, summary=summary, source_publisher=publisher, source_title=title,
                  source_date=source_date, first_public=first_public, source_kind=source_kind, source_note=note,
                  stance=stance, source_url=url, logged_on=logged_on or today().isoformat(), entity=entity,
                  event=event, category=category, count=count, trials=trials, value=value, lr=lr, reason=reason)
    if from_page is not None:
        _fill_from_page(fields, from_page)
    if _interactive():
        loaded = load_valid(data)
        _ask(fields, add.questions(loaded, ids))
        if not not_duplicate and not preview:
            found = add.duplicate_problems(loaded, {**fields, "source_url": fields.get("source_url") or ""})
            for problem in found:
                typer.echo(f"note: {problem.message}", err=True)
            not_duplicate = bool(found) and typer.confirm("Log it anyway, as a different fact?", default=False)
            if found and not not_duplicate:
                raise typer.Exit(1)
    fields = {k: " ".join(str(v or "").split()) if k in ("summary", "source_note") else str(v or "").strip()
              for k, v in fields.items()}
    if preview:
        for move in add.preview(data, ids, fields, _as_of(as_of, data)):
            typer.echo(f"{move['id']}: {move['before']:.3f} -> {move['after']:.3f} ({move['change'] * 100:+.1f} pts) "
                       f"with {move['row']}")
        typer.echo("preview only: nothing was written")
        return
    typer.echo(add.add_evidence(data, ids, fields, allow_duplicate=not_duplicate))


def _fill_from_page(fields: dict, page: Path) -> None:
    """Pre-fill the source's publisher, title, date and address from a saved page's own metadata (options
    given on the command line win), and say what was found."""
    from analysis.data.intake import page_metadata
    from analysis.files.storage import read_text

    found = page_metadata(read_text(page, str(page))).found()
    if not found:
        typer.echo(f"{page}: no publisher, title, date or address found in the page's metadata", err=True)
    for column, value in found.items():
        if fields.get(column):
            typer.echo(f"from page: {column} = {value!r} (kept the value given: {fields[column]!r})", err=True)
        else:
            fields[column] = value
            typer.echo(f"from page: {column} = {value!r}", err=True)


@app.command("list")
def list_predictions(data: DataOpt = DEFAULT_DATA) -> None:
    """A table of predictions with their current probability (after `forecast update`)."""
    from rich.console import Console
    from rich.table import Table

    from analysis.data.dataset import load_valid
    from analysis.forecast.current import read_current

    loaded = load_valid(data)
    current = read_current(data)
    records = current.records if current else {}
    table = Table("id", "chapter", "question", "resolves by", "P(YES)")
    for p in sorted(loaded.predictions.values(), key=lambda p: (p.chapter, p.id)):
        forecast = records.get(p.id)
        table.add_row(p.id, p.chapter, p.question, p.resolves_by.isoformat(),
                      f"{forecast.probability:.2f}" if forecast else "—")
    Console(width=160).print(table)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning every failure into a short message and an exit code."""
    try:
        code = app(args=argv, prog_name="forecast", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except DataError as err:
        for problem in err.problems:
            typer.echo(str(problem), err=True)
        sys.exit(1)
    except ModelError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(1)
    except typer.Exit as err:
        sys.exit(err.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except Exception as err:  # click usage errors included
        import click

        if isinstance(err, click.ClickException):
            err.show()
            sys.exit(err.exit_code if err.exit_code else 2)
        if os.environ.get("FORECAST_DEBUG"):
            raise
        typer.echo(f"error: {type(err).__name__}: {err} (set FORECAST_DEBUG=1 for a traceback)", err=True)
        sys.exit(2)


def _as_of(value: str | None, data: Path):
    """``--as-of``: a date, ``today`` (the default) or ``recorded`` (the last recorded update's date)."""
    from analysis.commands.update import recorded_as_of
    from analysis.contract.schema import parse_date
    from analysis.data.dataset import today

    if value in (None, "", "today"):
        return today()
    if value == "recorded":
        recorded = recorded_as_of(data)
        if recorded is None:
            raise DataError([Problem("--as-of", 0, "no update has been recorded yet", "a date, or `today`")])
        return recorded
    parsed = parse_date(value)
    if parsed is None:
        raise DataError([Problem("--as-of", 0, f"'{value}' is not a valid date", "YYYY-MM-DD, today or recorded")])
    if parsed > today():
        raise DataError([Problem("--as-of", 0, f"{parsed} is after today ({today()})",
                                 "a date that has come: a snapshot for a day that has not happened would be permanent")])
    return parsed


@app.command()
def update(
    data: DataOpt = DEFAULT_DATA,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Forecast as of this date: YYYY-MM-DD, today "
                                                 "(default) or recorded (the last recorded update).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", help="Parallel fits (joblib).")] = 1,
    movers: Annotated[Optional[float], typer.Option("--movers", help="Print predictions that moved more than this.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Refit everything.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Write nothing; fail if the ledger is behind the data.")] = False,
) -> None:
    """Fit every prediction as of a date and append the snapshots that changed to the ledger."""
    if check:
        from analysis.commands.update import check as behind

        problems = behind(data)
        if problems:
            raise DataError(problems)
        typer.echo("the ledger is up to date with the data")
        return
    from analysis.commands.update import freshness_warnings
    from analysis.commands.update import movers as find_movers
    from analysis.commands.update import run_update
    from analysis.stores import ledger

    from analysis.stores import updates

    when = _as_of(as_of, data)
    previous = ledger.latest_by_prediction(ledger.read_ledger(data))
    notes = updates.read_notes(data)
    result = run_update(data, as_of=when, jobs=jobs, use_cache=not no_cache, force=no_cache)
    if result.skipped:
        typer.echo(f"forecasts are up to date as of {when} (no data, model code or package version changed)")
    else:
        typer.echo(f"updated {len(result.records)} forecasts as of {when} ({len(result.refit)} refitted); "
                   f"{len(result.written)} new ledger rows")
    for warning in freshness_warnings(result.records, when):
        typer.echo(f"warning: {warning}", err=True)
    if movers is not None:
        moved = find_movers(result, previous, movers, notes)
        for m in moved:
            typer.echo(f"{m['id']}: {m['from']:.3f} -> {m['to']:.3f} ({m['delta']:+.3f}); evidence: "
                       + (", ".join(m["evidence"]) or "none (time, model or prior change)"))
        if not moved:
            typer.echo(f"no prediction moved more than {movers}")


@app.command("backtest")
def backtest_command(
    data: DataOpt = DEFAULT_DATA,
    jobs: Annotated[int, typer.Option("--jobs", help="Templates run in parallel (joblib).")] = 1,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Refit everything.")] = False,
) -> None:
    """Run the rule-generated backtest and write its instances and scores (backtest.json)."""
    from analysis.commands.backtest import run

    payload = run(data, jobs=jobs, use_cache=not no_cache)
    overall = payload["scores"].get("overall", {})
    typer.echo(f"backtest: {overall.get('n', 0)} forecasts from {overall.get('templates', 0)} templates, "
               f"{overall.get('yes', 0)} resolved YES; Brier {overall.get('brier', float('nan')):.3f}, "
               f"BSS vs base rate {overall.get('bss_base_rate', float('nan')):+.3f}")


@app.command("freeze-templates")
def freeze_templates(data: DataOpt = DEFAULT_DATA) -> None:
    """Freeze every backtest template not yet frozen (its definition's hash and today's date, appended to
    data/template_freeze.csv): a changed rule must then take a new id."""
    from analysis.commands.backtest import freeze
    from analysis.data.dataset import today

    rows = freeze(data, today())
    typer.echo(f"froze {len(rows)} template(s)" + (": " + ", ".join(r["template"] for r in rows) if rows else ""))


@app.command()
def export(
    data: DataOpt = DEFAULT_DATA,
    format: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write here instead of stdout.")] = None,
) -> None:
    """The current forecasts in one contract (JSON or CSV), for the book, other tools and memos."""
    from analysis.commands.export import export_text

    from analysis.files.storage import check_output

    target = check_output(out, data) if out is not None else None
    text = export_text(data, format)
    if target is None:
        typer.echo(text, nl=False)
    else:
        from analysis.files.storage import atomic_write_bytes

        atomic_write_bytes(target, text.encode("utf-8"))


@app.command("prepare-book")
def prepare_book(data: DataOpt = DEFAULT_DATA) -> None:
    """Write the bibliography and the offline Vega bundle; re-execute only pages whose data changed."""
    from analysis.book.build import prepare

    result = prepare(data)  # the book lives beside its data folder
    changed = result["changed_pages"]
    typer.echo(f"prepared: {result['evidence_rows']} sources, {result['fragments']} fragments and "
               f"{result['snapshots']} snapshot pages and {result['downloads']} downloads written; pages to "
               "re-execute: " + (", ".join(changed) if changed else "none (all cached)"))


@app.command()
def cite(
    prediction: Annotated[str, typer.Argument(help="Prediction id, e.g. NEO-1.")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Cite the snapshot in force on this date.")] = None,
    format: Annotated[str, typer.Option("--format", help="markdown, bibtex or csl-json")] = "markdown",
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """A citation pinned to one ledger snapshot (probability, as-of, version, stable link)."""
    from analysis.book import citations
    from analysis.contract.layout import Layout
    from analysis.contract.schema import parse_date
    from analysis.data.dataset import load_valid, today
    from analysis.stores import ledger

    loaded = load_valid(data)
    if prediction not in loaded.predictions:
        raise DataError([Problem("PREDICTION", 0, f"unknown prediction id '{prediction}'", "an id from `forecast list`")])
    rows = [r for r in ledger.read_ledger(data) if r["prediction"] == prediction]
    if as_of is not None:  # the snapshot in force on that date: the latest whose evidence is as of it or earlier
        when = parse_date(as_of)
        if when is None:
            raise DataError([Problem("--as-of", 0, f"'{as_of}' is not a valid date", "YYYY-MM-DD")])
        if when > today():
            raise DataError([Problem("--as-of", 0, f"{when} is after today ({today()})",
                                     "a date that has come: the ledger holds no snapshot for a later day")])
        first = min((r["as_of"] for r in ledger.read_ledger(data) if r["prediction"] == prediction), default=None)
        if first is not None and when.isoformat() < first:
            raise DataError([Problem("--as-of", 0, f"{when} is before the first snapshot of {prediction} ({first})",
                                     f"a date on or after {first}")])
        rows = [r for r in rows if r["as_of"] <= when.isoformat()]
    if not rows:
        raise DataError([Problem(str(Layout.of(data).ledger), 0, f"no snapshot of {prediction}"
                                 + (f" on or before {as_of}" if as_of else ""), "run `forecast update` first")])
    if format not in ("markdown", "bibtex", "csl-json"):
        raise DataError([Problem("--format", 0, f"unknown format '{format}'", "markdown, bibtex or csl-json")])
    from analysis.stores.versions import text_at

    base = citations.base_url(Layout.of(data))
    if not base:
        typer.echo(citations.UNSET_BASE, err=True)
    row = rows[-1]
    version = text_at(data, prediction, int(row["version"]))
    typer.echo(citations.cite(row, loaded.predictions[prediction], base, format,
                              question=version["question"] if version else None), nl=False)


@app.command()
def figure(
    prediction: Annotated[str, typer.Argument(help="Prediction id.")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    format: Annotated[str, typer.Option("--format", help="png or svg")] = "png",
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """The prediction's history chart as a static PNG or SVG, for memos."""
    from analysis.book.build import figure as make_figure

    from analysis.files.storage import check_output

    if format not in ("png", "svg"):
        raise DataError([Problem("--format", 0, f"unknown format '{format}'", "png or svg")])
    target = check_output(out, data)
    try:
        make_figure(data, prediction, target, format)
    except KeyError:
        raise DataError([Problem("PREDICTION", 0, f"no forecast for '{prediction}'", "an id from `forecast list`, "
                                 "after `forecast update`")]) from None
    typer.echo(f"wrote {out}")


@app.command()
def resolve(
    prediction: Annotated[str, typer.Argument(help="Prediction id.")],
    outcome: Annotated[str, typer.Option("--outcome", help="yes, no or annulled")],
    on: Annotated[str, typer.Option("--on", help="Date the outcome became known.")],
    source: Annotated[str, typer.Option("--source", help="Publisher of the resolving source.")],
    title: Annotated[str, typer.Option("--title", help="Title of the resolving source.")],
    source_date: Annotated[Optional[str], typer.Option("--source-date", help="Default: --on.")] = None,
    url: Annotated[str, typer.Option("--url", help="Only a real http(s) address you saw.")] = "",
    note: Annotated[str, typer.Option("--note")] = "",
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """Record a prediction's outcome in data/resolutions.csv (validated, atomic, append-only)."""
    from analysis.commands.resolve import add_resolution

    add_resolution(data, {"prediction": prediction, "outcome": outcome.lower(), "resolved_on": on,
                          "source_publisher": source, "source_title": title, "source_date": source_date or on,
                          "source_url": url, "note": " ".join(note.split())})
    typer.echo(f"resolved {prediction}: {outcome.lower()}")


@app.command()
def review(
    chapter: Annotated[str, typer.Argument(help="The chapter whose record was reviewed (its slug).")],
    through: Annotated[str, typer.Option("--through", help="The record is complete through this date.")],
    searched: Annotated[str, typer.Option("--searched", help="What was searched: sources, corpora, queries.")],
    found: Annotated[str, typer.Option("--found", help="What was found (default: the rows logged since the last "
                                       "review, or 'nothing new').")] = "",
    on: Annotated[Optional[str], typer.Option("--on", help="When the review was done (default: today).")] = None,
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """Record a review of a chapter's record in data/coverage.csv (validated, atomic, append-only).

    Rate, survival and hazard models stop their clocks at the reviewed-through date: a period nobody
    searched is not a period without events."""
    from analysis.commands.review import add_review

    row = add_review(data, chapter, {"reviewed_through": through, "searched": searched, "found": found,
                                     "reviewed_on": on or ""})
    typer.echo(f"reviewed {chapter} through {row['reviewed_through']}: {row['found']}")


@app.command()
def datapackage(data: DataOpt = DEFAULT_DATA) -> None:
    """Write data/datapackage.json (frictionless) describing every CSV, from the schema module."""
    import json

    from analysis.contract.layout import Layout
    from analysis.files.storage import atomic_write_bytes

    path = Layout.of(data).datapackage
    atomic_write_bytes(path, (json.dumps(describe_data(data), indent=2) + "\n").encode(), data)
    typer.echo(f"wrote {path}")


def describe_data(data: Path) -> dict:
    """One resource per CSV file under ``data`` (one per chapter's evidence file)."""
    from analysis.contract.layout import Layout
    from analysis.contract.schema import describe

    from analysis.contract.schema import OPTIONAL_STORES

    layout = Layout.of(data)
    present = {path.name for path in (layout.coverage, layout.corrections) if path.name in OPTIONAL_STORES
               and path.exists()}
    return describe(sorted(p.name for p in layout.evidence_dir.glob("*.csv")), present)
