"""Editing a question without bumping its version is caught; each version's text is kept."""

from __future__ import annotations

import datetime as dt

from analysis.data import dataset as ds
from analysis.stores.versions import history_of, record_new_versions


def test_edit_without_bump_is_rejected_and_bump_is_recorded(run_cli, data_dir):
    data = ds.load_valid(data_dir)
    assert record_new_versions(data_dir, data.predictions, dt.date(2026, 11, 29)) == 5
    path = data_dir / "predictions" / "sample.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Will the one-off event happen by 2027-06-30?",
                                 "Will the one-off event happen before 2027-06-30?"), encoding="utf-8")
    result = run_cli("validate", "--data", str(data_dir))
    assert result.code == 1 and "TST-4: question changed but version is still 1" in result.err
    bumped = path.read_text(encoding="utf-8").split("- id: TST-4", 1)
    bumped[1] = bumped[1].replace("version: 1", "version: 2", 1)
    path.write_text("- id: TST-4".join(bumped), encoding="utf-8")
    assert run_cli("validate", "--data", str(data_dir)).code == 0
    data = ds.load_valid(data_dir)
    assert record_new_versions(data_dir, data.predictions, dt.date(2026, 12, 1)) == 1
    versions = history_of(data_dir, "TST-4")
    assert [v["version"] for v in versions] == ["1", "2"]
    assert versions[0]["question"].endswith("by 2027-06-30?") and versions[1]["question"].endswith("before 2027-06-30?")
