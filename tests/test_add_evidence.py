"""``forecast add-evidence``: validated, appended atomically, old bytes kept; bad input writes nothing."""

from __future__ import annotations

import pytest

from conftest import snapshot

ROW = ["--observed-on", "2026-01-10", "--summary", "A third case was filed.", "--publisher", "Fixture Press",
       "--title", "Third case", "--source-date", "2026-01-11", "--source-kind", "primary", "--event", "case",
       "--stance", "for"]


def test_appends_row_and_prints_next_id(run_cli, data_dir):
    path = data_dir / "evidence" / "sample.csv"
    old = path.read_bytes()
    result = run_cli("add-evidence", "TST-2", *ROW, "--data", str(data_dir))
    assert result.code == 0, result.err
    assert result.out.strip() == "TST-E010"
    new = path.read_bytes()
    assert new.startswith(old) and new.count(b"\n") == old.count(b"\n") + 1
    assert b"TST-E010,TST-2,2026-01-10,2026-01-11,A third case was filed." in new  # first_public defaults to the source
    assert run_cli("validate", "--data", str(data_dir)).out.startswith("OK: 5 predictions, 8 evidence rows")


def test_one_fact_can_inform_several_predictions(run_cli, data_dir):
    result = run_cli("add-evidence", "TST-2", "TST-4", *ROW, "--lr", "TST-4=1.5", "--reason", "Mildly diagnostic.",
                     "--data", str(data_dir))
    assert result.code == 0, result.err
    assert b"TST-E010,TST-2;TST-4," in (data_dir / "evidence" / "sample.csv").read_bytes()


@pytest.mark.parametrize("change, needle", [
    (["--observed-on", "2025-02-30"], "observed_on '2025-02-30' is not a valid date"),
    (["--observed-on", "2027-01-01"], "is after today"),
    (["--url", "ftp://example.org/x"], "is not an http(s) URL"),
    (["--url", "javascript:alert(1)"], "is not an http(s) URL"),
    (["--publisher", ""], "source_publisher is empty"),
    (["--event", "dinner"], "event 'dinner' is not counted"),
    (["--count", "-1"], "is not a whole number"),
])
def test_bad_rows_are_rejected_and_nothing_is_written(run_cli, data_dir, change, needle):
    args = list(ROW)
    flag, value = change
    if flag in args:
        args[args.index(flag) + 1] = value
    else:
        args += [flag, value]
    before = snapshot(data_dir)
    result = run_cli("add-evidence", "TST-2", *args, "--data", str(data_dir))
    assert result.code == 1, result
    assert needle in result.err and "Traceback" not in result.err
    assert snapshot(data_dir) == before


def test_unknown_prediction_is_rejected(run_cli, data_dir):
    before = snapshot(data_dir)
    result = run_cli("add-evidence", "TST-42", *ROW, "--data", str(data_dir))
    assert result.code == 1 and "unknown prediction id 'TST-42'" in result.err
    assert snapshot(data_dir) == before


def test_refuses_to_append_to_invalid_data(run_cli, data_dir):
    (data_dir / "predictions" / "sample.yaml").write_text("- id: [broken\n", encoding="utf-8")
    before = snapshot(data_dir)
    result = run_cli("add-evidence", "TST-2", *ROW, "--data", str(data_dir))
    assert result.code == 1 and "YAML syntax error" in result.err
    assert snapshot(data_dir) == before
