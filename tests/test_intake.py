"""Intake of a new row: a saved page pre-fills its source from the page's own metadata, and a row that repeats
one already logged (same address, same title, or a near-identical title) is refused unless the analyst says
it is a different fact."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.data.intake import normal_title, normal_url, page_metadata
from conftest import snapshot

PAGES = Path(__file__).parent / "fixtures" / "pages"
ROW = ["--observed-on", "2026-11-02", "--summary", "An invented case for the intake tests.", "--source-kind",
       "original_reporting", "--stance", "for", "--event", "case"]


@pytest.mark.parametrize("page, expected", [
    ("article-jsonld.html", ("Fixture Times", "Chipmaker executive charged over server exports", "2026-12-02",
                             "https://news.example.org/2026/12/02/chipmaker-executive-charged")),
    ("plain-meta.html", ("Fixture Agency", "Agency announces a second case", "2026-11-20", "")),
])
def test_page_metadata_reads_the_pages_own_tags(page, expected):
    found = page_metadata((PAGES / page).read_text(encoding="utf-8"))
    assert (found.publisher, found.title, found.date, found.url) == expected


def test_from_page_prefills_the_source_and_the_row_is_still_validated(run_cli, data_dir, monkeypatch):
    monkeypatch.setenv("FORECAST_TODAY", "2026-12-07")
    page = str(PAGES / "article-jsonld.html")
    result = run_cli("add-evidence", "TST-2", *ROW, "--from-page", page, "--data", str(data_dir))
    assert result.code == 0, result.err
    assert "from page: source_title = 'Chipmaker executive charged over server exports'" in result.err
    text = (data_dir / "evidence" / "sample.csv").read_text(encoding="utf-8")
    line = text.splitlines()[-1]
    assert line.startswith("TST-E010,TST-2,2026-11-02,2026-12-02,")
    assert "Fixture Times,Chipmaker executive charged over server exports,2026-12-02," \
           "https://news.example.org/2026/12/02/chipmaker-executive-charged," in line
    # a value given on the command line wins over the page's, and is said so
    again = run_cli("add-evidence", "TST-2", *ROW, "--from-page", str(PAGES / "plain-meta.html"), "--title",
                    "Agency announces its second case this year", "--data", str(data_dir))
    assert again.code == 0, again.err
    assert "kept the value given" in again.err


def test_from_page_rows_are_validated_like_any_other(run_cli, data_dir):
    """The fixture's today is 2026-11-29: the page's 2026-12-02 date is in the future, so the row is refused."""
    before = snapshot(data_dir)
    result = run_cli("add-evidence", "TST-2", *ROW, "--from-page", str(PAGES / "article-jsonld.html"),
                     "--data", str(data_dir))
    assert result.code == 1 and "Traceback" not in result.err
    assert snapshot(data_dir) == before


HEADLINE = "Supermicro co-founder charged over Nvidia GPU exports to China"


@pytest.mark.parametrize("title, url, why", [
    (HEADLINE, "", "the same title"),
    ("Another title", "https://www.fixture.example/cases/3?utm_source=x", "the same address"),
    ("Super Micro co-founder charged over Nvidia GPU exports to China", "", "a near-identical title"),
])
def test_a_duplicate_is_refused_and_named(run_cli, data_dir, title, url, why):
    base = data_dir / "evidence" / "sample.csv"
    text = base.read_text(encoding="utf-8")
    base.write_text(text.replace("Fixture TST-E003,2025-07-03,,", f"{HEADLINE},2025-07-03,"
                                 "https://fixture.example/cases/3/,"), encoding="utf-8")
    before = snapshot(data_dir)
    args = ["add-evidence", "TST-2", *ROW, "--publisher", "Fixture Press", "--title", title, "--source-date",
            "2026-11-02", "--data", str(data_dir)] + (["--url", url] if url else [])
    result = run_cli(*args)
    assert result.code == 1, result.out
    assert f"may repeat TST-E003 at data/evidence/sample.csv:4 ({why}" in result.err, result.err
    assert "--not-duplicate" in result.err
    assert snapshot(data_dir) == before
    assert run_cli(*args, "--not-duplicate").code == 0  # a different fact from the same source gets through


def test_a_new_title_is_not_a_duplicate(run_cli, data_dir):
    result = run_cli("add-evidence", "TST-2", *ROW, "--publisher", "Fixture Press", "--title",
                     "Regulator opens an unrelated inquiry", "--source-date", "2026-11-02", "--data", str(data_dir))
    assert result.code == 0, result.err


def test_normal_forms():
    assert normal_url("https://www.Example.org/a/b/?utm_source=x&id=3#top") == "example.org/a/b?id=3"
    assert normal_title("  Super-Micro co-founder CHARGED! ") == "super micro co founder charged"
