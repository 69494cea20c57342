"""The published record is tamper-evident: a changed, deleted or reordered row of an append-only store fails
``validate`` and ``update --check``, naming the first broken row; appends extend the chain."""

from __future__ import annotations

import hashlib
import json

import pytest

from analysis.stores import chain


@pytest.fixture
def published(run_cli, data_dir):
    assert run_cli("update", "--as-of", "2026-11-29", "--data", str(data_dir)).code == 0
    assert (data_dir / "chain.csv").exists()
    return data_dir


def lines(path):
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def fails_at(run_cli, data_dir, where: str) -> None:
    for args in (("validate",), ("update", "--check")):
        result = run_cli(*args, "--data", str(data_dir))
        assert result.code == 1, (args, result.out)
        assert where in result.err and "a published row was changed, deleted or moved" in result.err or \
            where in result.err and "published rows were deleted" in result.err, (args, result.err)
        assert "Traceback" not in result.err


def test_an_untouched_record_verifies(run_cli, published):
    assert run_cli("validate", "--data", str(published)).code == 0
    assert run_cli("update", "--check", "--data", str(published)).code == 0


def test_a_changed_probability_is_caught_at_its_row(run_cli, published):
    path = published / "forecasts.csv"
    rows = lines(path)
    cells = rows[3].split(",")
    cells[4] = "0.990000"
    rows[3] = ",".join(cells)
    path.write_text("".join(rows), encoding="utf-8")
    fails_at(run_cli, published, "forecasts.csv:4:")


def test_a_deleted_row_is_caught(run_cli, published):
    path = published / "forecasts.csv"
    rows = lines(path)
    path.write_text("".join(rows[:2] + rows[3:]), encoding="utf-8")
    fails_at(run_cli, published, "forecasts.csv:3:")


def test_a_deleted_last_row_is_caught(run_cli, published):
    path = published / "snapshot_notes.csv"
    path.write_text("".join(lines(path)[:-1]), encoding="utf-8")
    fails_at(run_cli, published, "snapshot_notes.csv")


def test_reordered_rows_are_caught(run_cli, published):
    path = published / "forecasts.csv"
    rows = lines(path)
    rows[2], rows[3] = rows[3], rows[2]
    path.write_text("".join(rows), encoding="utf-8")
    fails_at(run_cli, published, "forecasts.csv:3:")


def test_garbage_in_the_update_log_is_caught(run_cli, published):
    path = published / "updates.csv"
    rows = lines(path)
    rows[1] = "garbage\n"
    path.write_text("".join(rows), encoding="utf-8")
    result = run_cli("update", "--check", "--data", str(published))
    assert result.code == 1 and "updates.csv:2:" in result.err


def test_an_edited_evidence_row_is_caught(run_cli, published):
    path = published / "evidence" / "sample.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("A case was filed.", "No case was filed."),
                    encoding="utf-8")
    fails_at(run_cli, published, "sample.csv:3:")


def test_appends_extend_the_chain(run_cli, published):
    before = chain.heads(published)
    row = ["--observed-on", "2026-01-10", "--summary", "s", "--publisher", "Fixture Press", "--title", "Chained row",
           "--source-date", "2026-01-10", "--source-kind", "primary", "--stance", "for", "--event", "case"]
    assert run_cli("add-evidence", "TST-2", *row, "--data", str(published)).code == 0
    after = chain.heads(published)
    assert after["evidence/sample.csv"] != before["evidence/sample.csv"]
    assert {k: v for k, v in after.items() if k != "evidence/sample.csv"} == \
        {k: v for k, v in before.items() if k != "evidence/sample.csv"}
    assert run_cli("validate", "--data", str(published)).code == 0


def test_a_reader_can_verify_a_snapshot_by_hand(published):
    """The documented check, written out: hash each ledger row's cells, fold from the store's origin, compare."""
    import csv

    rows = list(csv.reader((published / "forecasts.csv").read_text(encoding="utf-8").splitlines()))
    running = hashlib.sha256(b"forecasts.csv").hexdigest()
    for cells in rows:
        h = hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode("utf-8")).hexdigest()
        running = hashlib.sha256(bytes.fromhex(running) + bytes.fromhex(h)).hexdigest()
    assert running == chain.heads(published)["forecasts.csv"]


def test_a_snapshot_id_that_would_become_a_path_is_refused(run_cli, published):
    """A hand-appended ledger row (beyond the chain) whose snapshot id climbs out of the site folder."""
    path = published / "forecasts.csv"
    rows = lines(path)
    cells = rows[-1].rstrip("\n").split(",")
    cells[0] = "../../../../escape/PWNED"
    path.write_text("".join(rows) + ",".join(cells) + "\n", encoding="utf-8")
    result = run_cli("validate", "--data", str(published))
    assert result.code == 1
    assert f"forecasts.csv:{len(rows) + 1}: snapshot id '../../../../escape/PWNED' is malformed" in result.err
