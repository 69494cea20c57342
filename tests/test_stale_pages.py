"""A new evidence row re-executes exactly the chapter page that shows its prediction (the summary pages
have no kernel: they include fragments rebuilt from the forecasts), and every rebuilt page shows the new
forecast: no stale page is published.

Runs the real pipeline (`forecast update`, `forecast prepare-book`, `jupyter-book build`) on a copy of
the repository. The copy starts from this checkout's caches when they exist, which also proves that
caches carried over from another path cannot serve stale pages.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

BIN = Path(sys.executable).parent
AS_OF = "2026-12-01"


def run(repo: Path, *command: str) -> str:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    env.pop("FORECAST_TODAY", None)
    out = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=repo, env=env, capture_output=True, text=True)
    assert out.returncode == 0, f"{' '.join(command)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout + out.stderr


def build(repo: Path) -> tuple[set[str], set[str]]:
    """Run the build; return (pages executed, pages served from the cache)."""
    run(repo, "forecast", "update", "--as-of", AS_OF)
    run(repo, "forecast", "backtest")
    run(repo, "forecast", "prepare-book")
    log = run(repo, "jupyter-book", "build", ".", "-W", "-n", "--keep-going")
    executed = {f"book/{m}" for m in re.findall(r"book/([\w-]+\.md): Executing notebook", log)}
    cached = {f"book/{m}" for m in re.findall(r"book/([\w-]+\.md): Using cached notebook", log)}
    return executed, cached


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("stale") / "book"
    ignore = shutil.ignore_patterns(".venv", "_build", ".git", "test-artifacts", ".pytest_cache", ".hypothesis",
                                    "__pycache__", "bench")
    shutil.copytree(REPO, target, ignore=ignore)
    for cached in ("_build/.jupyter_cache", "_build/generated"):
        if (REPO / cached).exists():
            shutil.copytree(REPO / cached, target / cached)
    return target


def page_probability(html: Path, prediction_id: str) -> str:
    text = html.read_text(encoding="utf-8")
    card = text.split(f'id="{prediction_id.lower()}"', 1)[1]
    return re.search(r'<span class="probability">([^<]+)</span>', card).group(1)


def test_new_row_reexecutes_exactly_its_pages_and_changes_the_forecast(repo_copy):
    build(repo_copy)  # bring the copy up to date (from the copied caches when present)
    html = repo_copy / "_build" / "html" / "book" / "export-enforcement.html"
    before = page_probability(html, "EXP-2")
    forecasts = json.loads((repo_copy / "_build" / "generated" / "forecasts.json").read_text())
    old_p = {p["id"]: p["probability"] for p in forecasts["predictions"]}["EXP-2"]

    new_id = run(repo_copy, "forecast", "add-evidence", "EXP-2", "--observed-on", "2026-11-28",
                 "--source-date", "2026-11-28", "--summary", "Test-only row in a temporary copy.",
                 "--publisher", "Test", "--title", "Test row", "--source-kind", "primary", "--stance", "for",
                 "--lr", "8", "--reason", "strongly diagnostic test row", "--logged-on", "2026-11-29"
                 ).strip().splitlines()[-1]
    executed, cached = build(repo_copy)

    assert executed == {"book/export-enforcement.md"}, executed
    dashboard = (repo_copy / "_build" / "html" / "book" / "dashboard.html").read_text(encoding="utf-8")
    forecasts = json.loads((repo_copy / "_build" / "generated" / "forecasts.json").read_text())
    new_p = {p["id"]: p["probability"] for p in forecasts["predictions"]}["EXP-2"]
    assert new_p > old_p + 0.05
    after = page_probability(html, "EXP-2")
    assert after != before and after == f"{100 * new_p:.0f}%"
    assert new_id in html.read_text(encoding="utf-8")
    assert f">{after}</td>" in dashboard.split('data-prediction="EXP-2"', 1)[1].split("</tr>", 1)[0]
