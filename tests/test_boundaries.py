"""Inputs around the data folder are trust boundaries too: output paths, configuration, dates that cannot be
known yet, YAML keys given twice, columns out of order, numbers out of range. Each case exits 1 with
FILE:LINE or the flag it concerns, prints no traceback and changes no file."""

from __future__ import annotations

import os
import stat

import pytest

from conftest import snapshot


def refused(result, needle: str) -> None:
    assert result.code == 1, (result.out, result.err)
    assert needle in result.err, result.err
    assert "Traceback" not in result.err + result.out


def test_update_refuses_an_as_of_date_after_today(run_cli, data_dir):
    before = snapshot(data_dir)
    refused(run_cli("update", "--as-of", "2026-11-30", "--data", str(data_dir)), "--as-of: 2026-11-30 is after today")
    assert snapshot(data_dir) == before


def test_cite_refuses_dates_it_cannot_answer(run_cli, data_dir):
    assert run_cli("update", "--as-of", "2026-11-29", "--data", str(data_dir)).code == 0
    refused(run_cli("cite", "TST-2", "--as-of", "2027-01-01", "--data", str(data_dir)), "is after today")
    refused(run_cli("cite", "TST-2", "--as-of", "2026-01-01", "--data", str(data_dir)),
            "is before the first snapshot of TST-2 (2026-11-29)")


@pytest.mark.parametrize("target", ["data/forecasts.csv", "data/new.png", "missing-folder/chart.png"])
def test_figure_and_export_never_write_into_data_or_create_folders(run_cli, data_dir, target):
    assert run_cli("update", "--as-of", "2026-11-29", "--data", str(data_dir)).code == 0
    before = snapshot(data_dir)
    out = data_dir.parent / target
    refused(run_cli("figure", "TST-2", "--out", str(out), "--data", str(data_dir)), "--out")
    refused(run_cli("export", "--out", str(out), "--data", str(data_dir)), "--out")
    assert snapshot(data_dir) == before and not (data_dir.parent / "missing-folder").exists()


def test_an_output_over_a_special_file_is_refused(run_cli, data_dir):
    fifo = data_dir.parent / "pipe"
    os.mkfifo(fifo)
    refused(run_cli("export", "--out", str(fifo), "--data", str(data_dir)), "is not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still the FIFO: nothing was renamed over it
    link = data_dir.parent / "link.json"
    (data_dir.parent / "elsewhere.json").write_text("{}")
    link.symlink_to(data_dir.parent / "elsewhere.json")
    refused(run_cli("export", "--out", str(link), "--data", str(data_dir)), "is not a regular file")


def test_an_export_keeps_the_mode_of_the_file_it_replaces(run_cli, data_dir):
    assert run_cli("update", "--as-of", "2026-11-29", "--data", str(data_dir)).code == 0
    out = data_dir.parent / "forecasts.json"
    out.write_text("{}")
    os.chmod(out, 0o640)
    assert run_cli("export", "--out", str(out), "--data", str(data_dir)).code == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640 and out.read_text().startswith("{")
    fresh = data_dir.parent / "fresh.json"
    old = os.umask(0o022)
    try:
        assert run_cli("export", "--out", str(fresh), "--data", str(data_dir)).code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o644  # the umask's mode, not a temp file's 0600


@pytest.mark.parametrize("value", ["javascript:alert(1)", "ftp://example.org/book", "https://ex ample.org",
                                   "https://example.org/book?x=<script>"])
def test_a_base_url_that_is_not_plain_http_is_refused(run_cli, data_dir, value):
    config = data_dir.parent / "_config.yml"
    config.write_text(f"title: test\nhtml:\n  baseurl: \"{value}\"\n", encoding="utf-8")
    assert run_cli("update", "--as-of", "2026-11-29", "--data", str(data_dir)).code == 0
    refused(run_cli("cite", "TST-2", "--data", str(data_dir)), "_config.yml:3: html.baseurl")


def test_yaml_keys_given_twice_are_refused(run_cli, data_dir):
    path = data_dir / "predictions" / "sample.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    prior: {alpha: 2, beta: 1,", "    prior: {alpha: 2, alpha: 9, beta: 1,", 1),
                    encoding="utf-8")
    before = snapshot(data_dir)
    refused(run_cli("validate", "--data", str(data_dir)), "sample.yaml:28: duplicate key 'alpha' (first at line 28)")
    assert snapshot(data_dir) == before


def test_columns_in_another_order_are_refused_not_appended_to(run_cli, data_dir):
    path = data_dir / "evidence" / "sample.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    swap = lambda cells: [cells[0], cells[1], cells[2], cells[3], cells[5], cells[4], *cells[6:]]  # noqa: E731
    import csv
    import io

    rows = [swap(r) for r in csv.reader(io.StringIO("\n".join(lines)))]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    before = snapshot(data_dir)
    refused(run_cli("validate", "--data", str(data_dir)), "sample.csv:1: the columns are in another order")
    refused(run_cli("add-evidence", "TST-2", "--observed-on", "2026-01-10", "--summary", "s", "--publisher", "p",
                    "--title", "A new title for this", "--source-date", "2026-01-10", "--source-kind", "primary",
                    "--stance", "for", "--event", "case", "--data", str(data_dir)), "another order")
    assert snapshot(data_dir) == before


@pytest.mark.parametrize("cell, needle", [
    ("9223372036854775808", "count '9223372036854775808' is not a whole number from 0 to 10^9"),
    ("١٢", "is not a whole number"),
    ("1e400", None),
])
def test_numbers_are_range_checked_before_any_typed_load(run_cli, data_dir, cell, needle):
    path = data_dir / "evidence" / "sample.csv"
    text = path.read_text(encoding="utf-8")
    column = "count" if needle else "value"
    row = ("TST-E099,TST-2,2025-01-05,2025-01-05,x,Fixture Press,Fixture TST-E099,2025-01-05,,primary,,2026-11-01,"
           "for,,case,,{count},,{value},,,\n").format(count=cell if column == "count" else "",
                                                     value=cell if column == "value" else "")
    path.write_text(text + row, encoding="utf-8")
    result = run_cli("validate", "--data", str(data_dir))
    refused(result, "sample.csv:9:")
    if needle:
        assert needle in result.err


def test_header_only_stores_are_valid(run_cli, data_dir):
    path = data_dir / "evidence" / "sample.csv"
    header = path.read_text(encoding="utf-8").splitlines()[0]
    (data_dir / "resolutions.csv").write_text(
        "prediction,outcome,resolved_on,source_publisher,source_title,source_date,source_url,note,logged_on\n")
    (data_dir / "evidence" / "empty-chapter.csv").write_text(header + "\n", encoding="utf-8")
    result = run_cli("validate", "--data", str(data_dir))
    assert result.code == 0, result.err


@pytest.mark.parametrize("column, value", [("first_public", "2026-12-01"), ("source_date", "2026-12-01"),
                                           ("logged_on", "2026-12-01")])
def test_dates_that_have_not_come_yet_are_refused(run_cli, data_dir, column, value):
    cells = {"first_public": "2026-11-20", "source_date": "2026-11-20", "logged_on": "2026-11-20", column: value}
    row = (f"TST-E099,TST-2,2026-11-20,{cells['first_public']},x,Fixture Press,Fixture TST-E099,{cells['source_date']},,"
           f"primary,,{cells['logged_on']},for,,case,,,,,,,\n")
    path = data_dir / "evidence" / "sample.csv"
    path.write_text(path.read_text(encoding="utf-8") + row, encoding="utf-8")
    refused(run_cli("validate", "--data", str(data_dir)), f"sample.csv:9: {column} {value} is after today (2026-11-29)")


@pytest.mark.parametrize("args, needle", [
    (["--outcome", "yes", "--on", "2024-03-01"], "is before the question's window opens (2026-12-01)"),
    (["--outcome", "no", "--on", "2026-12-10"], "before the deadline 2027-12-31, gives no reason"),
])
def test_resolutions_must_fall_inside_the_questions_life(run_cli, data_dir, monkeypatch, args, needle):
    monkeypatch.setenv("FORECAST_TODAY", "2026-12-15")
    before = snapshot(data_dir)
    refused(run_cli("resolve", "TST-2", *args, "--source", "Fixture Press", "--title", "t", "--data", str(data_dir)),
            needle)
    assert snapshot(data_dir) == before
    ok = run_cli("resolve", "TST-2", "--outcome", "no", "--on", "2026-12-10", "--source", "Fixture Press", "--title",
                 "t", "--note", "The only court that could rule was abolished.", "--data", str(data_dir))
    assert ok.code == 0, ok.err


def test_a_link_anywhere_in_data_is_refused_and_never_followed(run_cli, data_dir):
    """A link under a name no loader reads, pointing at an endless device: validate names it, and add-evidence's
    scratch copy neither follows it nor hangs."""
    (data_dir / "notes.txt").symlink_to("/dev/zero")
    os.mkfifo(data_dir / "pipe")
    refused(run_cli("validate", "--data", str(data_dir)), "data/notes.txt: symbolic link not allowed")
    assert "data/pipe: not a regular file" in run_cli("validate", "--data", str(data_dir)).err
    result = run_cli("add-evidence", "TST-2", "--observed-on", "2026-01-10", "--summary", "s", "--publisher", "p",
                     "--title", "A linked folder row", "--source-date", "2026-01-10", "--source-kind", "primary",
                     "--stance", "for", "--event", "case", "--data", str(data_dir))
    refused(result, "symbolic link not allowed")
