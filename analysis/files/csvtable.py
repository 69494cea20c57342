"""Reading CSV data files strictly, keeping each record's line number for error messages."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from analysis.contract.errors import DataError, Problem, quote
from analysis.contract.schema import Column, expected_for, table_schema
from analysis.files.storage import read_text

LINE = "_line"
SHORT = 64  # cells up to this length are interned


def parse_csv(text: str, shown: str, columns: tuple[Column, ...]) -> pd.DataFrame:
    """Parse CSV text into a string DataFrame with a ``_line`` column; raise on broken structure."""
    if not text.strip():
        raise DataError([Problem(shown, 1, "file is empty", "a header line: " + ",".join(c.name for c in columns))])
    # Lines, not io.StringIO: a StringIO holds four bytes per character, the largest cost of a big file.
    reader = csv.reader((line + "\n" for line in text.split("\n")), strict=True)
    problems: list[Problem] = []
    records: list[list[str]] = []
    lines: list[int] = []
    start = 1
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                # Interned cells: a 100,000-row file repeats its dates, publishers and empty cells, and one
                # shared string each keeps validation memory near linear in the distinct text.
                records.append([sys.intern(cell.strip()) if len(cell) <= SHORT else cell.strip() for cell in record])
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as err:
        raise DataError([Problem(shown, start, f"broken CSV: {err} (an unbalanced quote?)",
                                 "every quoted field closed by a matching \"")])
    if not records:
        raise DataError([Problem(shown, 1, "file has no header or rows", "a header line: "
                                 + ",".join(c.name for c in columns))])
    header, body, body_lines = records.pop(0), records, lines[1:]
    names = [c.name for c in columns]
    for missing in [n for n in names if n not in header]:
        problems.append(Problem(shown, 1, f"missing column '{missing}'", "the header: " + ",".join(names)))
    for unknown in [h for h in header if h not in names]:
        problems.append(Problem(shown, 1, f"unknown column {quote(unknown)}", "only: " + ",".join(names)))
    if len(set(header)) != len(header):
        problems.append(Problem(shown, 1, "a column name is repeated", "each column once"))
    elif not problems and header != names:
        problems.append(Problem(shown, 1, "the columns are in another order than the contract's",
                                "the header exactly: " + ",".join(names) + " (rows are appended in that order)"))
    for record, line in zip(body, body_lines):
        if len(record) != len(header):
            problems.append(Problem(shown, line, f"{len(record)} fields in this row",
                                    f"{len(header)} fields, as in the header"))
    if problems:
        raise DataError(problems)
    position = {name: header.index(name) for name in names}
    frame = pd.DataFrame({name: pd.Series([record[position[name]] for record in body], dtype=object)
                          for name in names})
    body.clear()
    frame[LINE] = body_lines
    return frame


def check_schema(frame: pd.DataFrame, shown: str, columns: tuple[Column, ...]) -> list[Problem]:
    """Run the pandera schema lazily and turn every failure into a FILE:LINE problem."""
    if not len(frame):
        return []  # a header-only file (a new chapter's evidence, a store before its first row) is valid
    by_name = {c.name: c for c in columns}
    schema = table_schema(columns)
    try:
        schema.validate(frame.drop(columns=[LINE]), lazy=True)
        return []
    except pa.errors.SchemaErrors as exc:
        problems = []
        for case in exc.failure_cases.itertuples():
            column = by_name.get(case.column)
            if column is None or case.index is None:
                problems.append(Problem(shown, 1, f"{case.check}: {quote(case.failure_case)}", "the documented columns"))
                continue
            check_name = schema.columns[case.column].checks[int(case.check_number)].name
            line = int(frame[LINE].iloc[int(case.index)])
            shown_value = f" {quote(case.failure_case)}" if case.failure_case not in ("", None) else ""
            problems.append(Problem(shown, line, f"{case.column}{shown_value} {case.check}",
                                    expected_for(check_name, column)))
        return problems


def read_table(path: Path, shown: str, columns: tuple[Column, ...], root: Path | None = None
               ) -> tuple[pd.DataFrame, list[Problem]]:
    """Read one CSV file: structural errors raise, cell-level problems are returned with the frame."""
    frame = parse_csv(read_text(path, shown, root), shown, columns)
    return frame, check_schema(frame, shown, columns)
