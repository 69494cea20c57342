"""Shared test helpers: a private copy of the fixture data, and the CLI run in-process."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "data"
REPO = Path(__file__).resolve().parents[1]


FIXTURE_TODAY = "2026-11-29"


@pytest.fixture(autouse=True)
def pinned_today(request, monkeypatch):
    """The fixture data's "today" for tests on it; tests of the shipped data run on the real date, since the
    shipped record (its reviews, its logged rows) is dated up to the day it was committed."""
    if "data_dir" in request.fixturenames:
        monkeypatch.setenv("FORECAST_TODAY", FIXTURE_TODAY)
    else:
        monkeypatch.delenv("FORECAST_TODAY", raising=False)


@pytest.fixture(scope="session")
def shared_fit_cache(tmp_path_factory) -> Path:
    """One fit cache for the session: fits are keyed by their content, so tests can share them safely."""
    return tmp_path_factory.mktemp("fit-cache")


@pytest.fixture
def data_dir(tmp_path, shared_fit_cache) -> Path:
    target = tmp_path / "data"
    shutil.copytree(FIXTURE, target)
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "fits").symlink_to(shared_fit_cache, target_is_directory=True)
    return target


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys):
    from analysis.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes, to prove a rejected command changed nothing."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
            and not p.name.endswith(".lock")}
