"""The Methods page's predictive checks are recomputed only when a checked forecast changed."""

from __future__ import annotations

from types import SimpleNamespace

from analysis.book.build import CHECKED, _cached_checks


def fake_book(tmp_path, keys: dict[str, str]):
    records = {pid: SimpleNamespace(key=k) for pid, k in keys.items()}
    return SimpleNamespace(data=SimpleNamespace(predictions=dict.fromkeys(keys)), current=SimpleNamespace(as_of="2026-12-01"),
                           records=records, layout=SimpleNamespace(generated=tmp_path))


def test_checks_are_reused_until_a_checked_forecast_changes(tmp_path):
    calls = []

    def checks(data, as_of, ids):
        calls.append(list(ids))
        return {pid: [{"statistic": "events", "observed": 1.0}] for pid in ids}

    keys = {pid: "a" for pid in CHECKED}
    first = _cached_checks(fake_book(tmp_path, keys), checks)
    again = _cached_checks(fake_book(tmp_path, keys), checks)
    assert first == again and len(calls) == 1
    _cached_checks(fake_book(tmp_path, {**keys, CHECKED[0]: "b"}), checks)
    assert len(calls) == 2
    (tmp_path / "checks.json").write_text("{not json", encoding="utf-8")  # a corrupt cache is recomputed
    _cached_checks(fake_book(tmp_path, {**keys, CHECKED[0]: "b"}), checks)
    assert len(calls) == 3
