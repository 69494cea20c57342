"""The data contract's rejection cases: each gives FILE:LINE, exit 1, no traceback, no write."""

from __future__ import annotations

import re

import pytest

from conftest import snapshot

EVIDENCE = "evidence/sample.csv"
PREDICTIONS = "predictions/sample.yaml"
PROBLEM_LINE = re.compile(r"^\S+:\d+: .+")


def edit(data_dir, relative, old, new, count=1):
    path = data_dir / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture no longer contains {old!r}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def append_row(data_dir, row: str):
    with open(data_dir / EVIDENCE, "a", encoding="utf-8") as handle:
        handle.write(row + "\n")


def expect_rejected(run_cli, data_dir, needle: str, file_hint: str, line: int | None = None):
    before = snapshot(data_dir)
    result = run_cli("validate", "--data", str(data_dir))
    assert result.code == 1, result
    assert "Traceback" not in result.err + result.out
    problems = [l for l in result.err.splitlines() if PROBLEM_LINE.match(l)]
    matching = [l for l in problems if needle in l and file_hint in l]
    assert matching, f"no problem mentioning {needle!r} in {file_hint}: {result.err}"
    if line is not None:
        assert any(f"{file_hint}:{line}:" in l for l in matching), result.err
    assert snapshot(data_dir) == before
    return result


def test_shipped_fixture_is_valid(run_cli, data_dir):
    result = run_cli("validate", "--data", str(data_dir))
    assert result.code == 0, result.err
    assert result.out.strip() == "OK: 5 predictions, 7 evidence rows"


def test_unknown_prediction_id(run_cli, data_dir):
    edit(data_dir, EVIDENCE, "TST-E007,TST-4,", "TST-E007,TST-99,")
    expect_rejected(run_cli, data_dir, "unknown prediction id 'TST-99'", EVIDENCE, line=6)


def test_duplicate_evidence_id(run_cli, data_dir):
    edit(data_dir, EVIDENCE, "TST-E003,", "TST-E002,")
    expect_rejected(run_cli, data_dir, "duplicate evidence id 'TST-E002'", EVIDENCE, line=4)


def test_duplicate_prediction_id(run_cli, data_dir):
    edit(data_dir, PREDICTIONS, "- id: TST-5", "- id: TST-4")
    expect_rejected(run_cli, data_dir, "duplicate prediction id 'TST-4'", PREDICTIONS)


@pytest.mark.parametrize("bad", ["2025-02-30", "2025-13-01", "01/03/2025", "yesterday"])
def test_malformed_or_impossible_date(run_cli, data_dir, bad):
    edit(data_dir, EVIDENCE, "TST-E001,TST-1,2025-03-01", f"TST-E001,TST-1,{bad}")
    expect_rejected(run_cli, data_dir, "is not a valid date", EVIDENCE, line=2)


def test_impossible_date_in_yaml(run_cli, data_dir):
    edit(data_dir, PREDICTIONS, "resolves_by: 2027-06-30", "resolves_by: 2027-02-30")
    expect_rejected(run_cli, data_dir, "resolves_by '2027-02-30' is not a valid date", PREDICTIONS)


def test_observed_on_after_today(run_cli, data_dir):
    edit(data_dir, EVIDENCE, "TST-E007,TST-4,2025-10-01", "TST-E007,TST-4,2027-01-01")
    expect_rejected(run_cli, data_dir, "is after today", EVIDENCE, line=6)


def test_resolves_by_before_published(run_cli, data_dir):
    edit(data_dir, PREDICTIONS, "resolves_by: 2027-06-30", "resolves_by: 2026-06-30")
    expect_rejected(run_cli, data_dir, "is before published", PREDICTIONS)


def test_successes_greater_than_trials(run_cli, data_dir):
    edit(data_dir, EVIDENCE, ",unit,,2,3,", ",unit,,4,3,")
    expect_rejected(run_cli, data_dir, "greater than trials", EVIDENCE, line=2)


def test_negative_count(run_cli, data_dir):
    edit(data_dir, EVIDENCE, ",unit,,2,3,", ",unit,,-2,3,")
    expect_rejected(run_cli, data_dir, "count '-2' is not a whole number", EVIDENCE, line=2)


def test_share_outside_unit_interval(run_cli, data_dir):
    edit(data_dir, EVIDENCE, "0.35", "1.35")
    expect_rejected(run_cli, data_dir, "outside [0, 1]", EVIDENCE, line=7)


def test_row_cannot_add_a_unit_to_a_roster_cohort(run_cli, data_dir):
    edit(data_dir, EVIDENCE, "for,Founder A,absorbed", "for,Founder Z,absorbed")
    expect_rejected(run_cli, data_dir, "is not in roster 'sample-founders'", EVIDENCE, line=5)


def test_an_excluded_candidate_needs_a_reason(run_cli, data_dir):
    edit(data_dir, "rosters/sample-founders.yaml", "    reason: Founded before the window.\n", "")
    expect_rejected(run_cli, data_dir, "missing 'reason'", "rosters/sample-founders.yaml", line=8)


def test_first_public_before_the_event(run_cli, data_dir):
    edit(data_dir, EVIDENCE, "TST-E006,TST-3,2025-09-01,2025-09-01", "TST-E006,TST-3,2025-09-01,2025-08-01")
    expect_rejected(run_cli, data_dir, "first_public 2025-08-01 is before observed_on", EVIDENCE, line=5)


def test_first_public_after_the_source(run_cli, data_dir):
    edit(data_dir, EVIDENCE, "TST-E006,TST-3,2025-09-01,2025-09-01", "TST-E006,TST-3,2025-09-01,2025-09-09")
    expect_rejected(run_cli, data_dir, "is after source_date", EVIDENCE, line=5)


def test_repost_needs_a_note(run_cli, data_dir):
    edit(data_dir, EVIDENCE, "repost,The original release could not be found.,", "repost,,")
    expect_rejected(run_cli, data_dir, "a repost needs a source_note", EVIDENCE, line=6)


def test_source_kind_is_checked(run_cli, data_dir):
    edit(data_dir, EVIDENCE, ",primary,,2026-11-01,for,,unit", ",blog,,2026-11-01,for,,unit")
    expect_rejected(run_cli, data_dir, "source_kind 'blog' is not a source kind", EVIDENCE, line=2)


@pytest.mark.parametrize("column", ["source_publisher", "source_title", "source_date"])
def test_empty_source_fields(run_cli, data_dir, column):
    path = data_dir / EVIDENCE
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    import csv, io
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    rows[3][header.index(column)] = ""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    expect_rejected(run_cli, data_dir, f"{column} is empty", EVIDENCE, line=4)


def test_url_not_http(run_cli, data_dir):
    edit(data_dir, EVIDENCE, "Fixture TST-E001,2025-03-01,,", "Fixture TST-E001,2025-03-01,javascript:alert(1),")
    expect_rejected(run_cli, data_dir, "is not an http(s) URL", EVIDENCE, line=2)


def test_unbalanced_quotes(run_cli, data_dir):
    append_row(data_dir, 'TST-E010,TST-4,2025-10-02,2025-10-02,"An unclosed quote,Fixture Press,T,2025-10-02,,primary,,'
                         '2026-11-01,for,,,,,,,2,r')
    expect_rejected(run_cli, data_dir, "unbalanced quote", EVIDENCE, line=9)


def test_missing_column(run_cli, data_dir):
    edit(data_dir, EVIDENCE, ",read_via\n", "\n")
    expect_rejected(run_cli, data_dir, "missing column 'read_via'", EVIDENCE, line=1)


def test_unknown_column(run_cli, data_dir):
    edit(data_dir, EVIDENCE, ",read_via\n", ",read_via,mood\n")
    expect_rejected(run_cli, data_dir, "unknown column 'mood'", EVIDENCE, line=1)


def test_empty_file(run_cli, data_dir):
    (data_dir / EVIDENCE).write_bytes(b"")
    expect_rejected(run_cli, data_dir, "file is empty", EVIDENCE, line=1)


def test_not_utf8(run_cli, data_dir):
    edit(data_dir, EVIDENCE, "Another case was filed.", "Another case was filed PLACEHOLDER.")
    path = data_dir / EVIDENCE
    path.write_bytes(path.read_bytes().replace(b"PLACEHOLDER", "café".encode("latin-1")))
    expect_rejected(run_cli, data_dir, "not valid UTF-8", EVIDENCE, line=4)


def test_yaml_syntax_error(run_cli, data_dir):
    edit(data_dir, PREDICTIONS, "  tags: [test]\n", "  tags: [test\n")
    expect_rejected(run_cli, data_dir, "YAML syntax error", PREDICTIONS)


def test_prediction_missing_required_field(run_cli, data_dir):
    edit(data_dir, PREDICTIONS, "  resolution_source: the fixture\n", "")
    expect_rejected(run_cli, data_dir, "prediction is missing 'resolution_source'", PREDICTIONS, line=2)


def test_every_problem_is_reported(run_cli, data_dir):
    edit(data_dir, EVIDENCE, "TST-E003,", "TST-E002,")
    edit(data_dir, EVIDENCE, "0.35", "1.35")
    edit(data_dir, EVIDENCE, "TST-E007,TST-4,", "TST-E007,TST-99,")
    result = run_cli("validate", "--data", str(data_dir))
    assert result.code == 1
    for needle in ("duplicate evidence id", "outside [0, 1]", "unknown prediction id"):
        assert needle in result.err


def test_bom_and_trailing_whitespace_are_accepted(run_cli, data_dir):
    path = data_dir / EVIDENCE
    text = path.read_text(encoding="utf-8")
    padded = "\n".join(line + "   " for line in text.splitlines()) + "\n\n"
    path.write_bytes(b"\xef\xbb\xbf" + padded.encode("utf-8"))
    yaml_path = data_dir / PREDICTIONS
    yaml_path.write_bytes(b"\xef\xbb\xbf" + yaml_path.read_bytes())
    result = run_cli("validate", "--data", str(data_dir))
    assert result.code == 0, result.err


def test_an_lr_for_a_question_the_row_does_not_list(run_cli, data_dir):
    path = data_dir / EVIDENCE
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split(",")
        if len(cells) == len(header) and cells[header.index("lr")]:
            cells[header.index("lr")] = "TST-9=2"
            lines[number - 1] = ",".join(cells)
            break
    else:
        pytest.fail("fixture has no simple row with an lr")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expect_rejected(run_cli, data_dir, "lr gives a ratio for TST-9", EVIDENCE, line=number)


def test_a_question_naming_a_date_after_its_deadline_is_refused(run_cli, data_dir):
    edit(data_dir, PREDICTIONS, "question: Will at least 2 cases be filed between 2026-12-01 and 2027-12-31?",
         "question: Will at least 2 cases be filed between 2026-12-01 and 2028-06-30?")
    expect_rejected(run_cli, data_dir, "question names 2028-06-30, after resolves_by 2027-12-31", PREDICTIONS, line=18)


def test_the_same_fact_logged_twice_is_refused(run_cli, data_dir):
    """An exact repeat (same questions, observation, summary and source) is refused at its line; two facts from
    one source differ in their summaries and pass."""
    line = (data_dir / EVIDENCE).read_text(encoding="utf-8").splitlines()[3]  # TST-E003
    append_row(data_dir, line.replace("TST-E003", "TST-E050", 1))
    expect_rejected(run_cli, data_dir, "TST-E050 repeats TST-E003", EVIDENCE, line=9)
