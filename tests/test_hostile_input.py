"""Hostile data files (alias bombs, deep nesting, oversized files), kills during ``forecast update``, and
damaged fit-cache entries. Each is refused or survived with bounded time and memory, and no file is
left half-written."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from analysis.contract.layout import Layout
from analysis.data import dataset as ds
from analysis.forecast import engine
from analysis.models.protocol import SamplerSettings
from conftest import snapshot

BIN = Path(sys.executable).parent
ENV = {**os.environ, "FORECAST_TODAY": "2026-11-29"}
PROBLEM = "predictions/sample.yaml:{line}:"

BILLION_LAUGHS = """
- id: TST-8
  question: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


MEASURED = """
import re, sys
from analysis.cli import main
try:
    main(["validate", "--data", sys.argv[1]])
finally:  # the peak of this process's own memory map (ru_maxrss would count pages shared with pytest)
    peak = re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)
    open(sys.argv[2], "w").write(peak)
"""


def validate_measured(data_dir: Path) -> tuple[int, str, float, float]:
    """Run `forecast validate` in a child process: (exit code, stderr, seconds, the child's peak MiB)."""
    peak_file = data_dir.parent / "peak.txt"
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", MEASURED, str(data_dir), str(peak_file)], env=ENV,
                            capture_output=True, text=True, timeout=60)
    seconds = time.perf_counter() - start
    return result.returncode, result.stderr, seconds, int(peak_file.read_text()) / 1024


@pytest.mark.parametrize("payload, needle", [
    (BILLION_LAUGHS, "YAML alias/anchor not allowed (expected plain values)"),
    ("- id: TST-8\n  question: " + "[" * 50_000 + "]" * 50_000 + "\n", "nesting deeper than 32 levels"),
    ("- id: TST-8\n  <<: {question: merged}\n", "YAML merge key '<<' not allowed"),
    ("- id: TST-8\n  question: '" + "x" * (3 * 1024 * 1024) + "'\n", "over the size limit of 2 MiB"),
])
def test_hostile_yaml_is_refused_quickly_in_bounded_memory(data_dir, payload, needle):
    path = data_dir / "predictions" / "sample.yaml"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(payload)
    before = snapshot(data_dir)
    code, err, seconds, peak = validate_measured(data_dir)
    assert code == 1, err
    assert needle in err and "predictions/sample.yaml:" in err and "Traceback" not in err
    line = err.split("predictions/sample.yaml:", 1)[1].split(":", 1)[0]
    assert line.isdigit() and int(line) > 1  # FILE:LINE points into the appended block
    assert seconds < 10 and peak < 500, (seconds, peak)
    assert snapshot(data_dir) == before


def test_aliases_are_refused_in_every_yaml_data_file(data_dir):
    (data_dir / "scenarios").mkdir()
    (data_dir / "scenarios" / "sample.yaml").write_text("scenarios: &x []\nmore: *x\n", encoding="utf-8")
    result = subprocess.run([str(BIN / "forecast"), "validate", "--data", str(data_dir)], env=ENV,
                            capture_output=True, text=True)
    assert result.returncode == 1 and "scenarios/sample.yaml:1: YAML alias/anchor not allowed" in result.stderr


def ledger_rows(data_dir: Path) -> list[list[str]]:
    text = (data_dir / "forecasts.csv").read_text(encoding="utf-8") if (data_dir / "forecasts.csv").exists() else ""
    return list(csv.reader(io.StringIO(text)))


def test_kill_during_update_leaves_consistent_files_and_the_next_update_completes(data_dir, monkeypatch):
    """30 kill -9 at random moments of `forecast update` (each run on a new as-of date, every fifth after
    a new evidence row): every CSV the update writes keeps whole rows, the data validates, and a final
    update brings the ledger level with the data."""
    rng = np.random.default_rng(20261201)
    start = dt.date(2026, 11, 29)
    env = {**ENV, "FORECAST_TODAY": "2026-12-31"}  # the as-of dates below have all come
    monkeypatch.setenv("FORECAST_TODAY", "2026-12-31")
    subprocess.run([str(BIN / "forecast"), "update", "--as-of", start.isoformat(), "--data", str(data_dir)], env=env,
                   check=True, capture_output=True)
    kills = 0
    for n in range(30):
        if n % 5 == 0:
            subprocess.run([str(BIN / "forecast"), "add-evidence", "TST-2", "--observed-on", "2026-01-10", "--summary",
                            f"Case {n}.", "--publisher", "P", "--title", f"T{n}", "--source-date", "2026-01-10",
                            "--source-kind", "primary", "--event", "case", "--stance", "for", "--data",
                            str(data_dir)], env=env, check=True, capture_output=True)
        as_of = (start + dt.timedelta(days=n + 1)).isoformat()
        child = subprocess.Popen([str(BIN / "forecast"), "update", "--as-of", as_of, "--data", str(data_dir)], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(float(rng.uniform(0.2, 3.0)))
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.wait()
        for name in ("forecasts.csv", "question_versions.csv", "updates.csv", "snapshot_notes.csv"):
            path = data_dir / name
            if path.exists():
                rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
                assert len({len(r) for r in rows}) == 1, f"kill {n}: a partial row in {name}"
        assert not ds.load(data_dir).problems, f"kill {n}: data no longer validates"
        current = Layout.of(data_dir).current
        if current.exists():
            json.loads(current.read_text(encoding="utf-8"))  # whole or absent, never truncated
        snaps = [r[0] for r in ledger_rows(data_dir)[1:]]
        assert len(snaps) == len(set(snaps))
    assert kills >= 10, f"only {kills} runs were killed: the test did not exercise kills"
    final = subprocess.run([str(BIN / "forecast"), "update", "--as-of", "2026-12-30", "--data", str(data_dir)],
                           env=env, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    check = subprocess.run([str(BIN / "forecast"), "update", "--check", "--data", str(data_dir)], env=env,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    data = ds.load_valid(data_dir)
    latest = {r[1]: r for r in ledger_rows(data_dir)[1:]}
    assert set(latest) == set(data.predictions)
    print(f"kills: {kills} of 30 runs")


def test_a_damaged_cache_entry_is_refitted_and_equals_a_clean_fit(data_dir, tmp_path):
    data = ds.load_valid(data_dir)
    prediction = data.predictions["TST-3"]
    as_of = dt.date(2026, 11, 29)
    folder = tmp_path / "fits"
    first = engine.forecast_prediction(prediction, data, as_of, sampler=SamplerSettings(),
                                       cache=engine.FitCache(folder))
    entries = sorted(folder.rglob("*.json"))
    assert entries
    for i, path in enumerate(entries):  # truncate some, corrupt others
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 2] if i % 2 else raw.replace(b'"probability": 0', b'"probability": 9'))
    cache = engine.FitCache(folder)
    again = engine.forecast_prediction(prediction, data, as_of, sampler=SamplerSettings(), cache=cache)
    assert cache.corrupt >= 1 and cache.misses >= 1
    clean = engine.forecast_prediction(prediction, data, as_of, sampler=SamplerSettings(), cache=engine.FitCache(None))
    assert again.to_json() == clean.to_json() == first.to_json()
