"""The book's outputs, read by the real clients a memo writer or a data tool would use: citeproc-py renders
each CSL-JSON citation, pybtex parses the BibTeX, cffconvert validates CITATION.cff, frictionless validates
the data package, jsonschema validates the export, and every citation's absolute link resolves to a snapshot
page of the built site."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

HTML = REPO / "_build" / "html"
BASE = "https://forecasts.example.org/ai-book"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def configured(tmp_path_factory) -> Path:
    """The book's data beside a _config.yml whose html.baseurl is set (nothing else differs)."""
    root = tmp_path_factory.mktemp("configured")
    shutil.copytree(REPO / "data", root / "data")
    config = (REPO / "_config.yml").read_text(encoding="utf-8").replace('baseurl: ""', f'baseurl: "{BASE}"')
    assert BASE in config
    (root / "_config.yml").write_text(config, encoding="utf-8")
    return root / "data"


@pytest.fixture(scope="module")
def citations(configured) -> dict[tuple[str, str], str]:
    """Every prediction's latest snapshot cited in every format, as `forecast cite` does it (the command
    itself runs for one prediction below; the rest go through the same library call, for speed)."""
    from analysis.book import citations as cite
    from analysis.contract.layout import Layout
    from analysis.data.dataset import load_valid
    from analysis.stores import ledger

    data = load_valid(configured)
    base = cite.base_url(Layout.of(configured))
    assert base == BASE
    latest = ledger.latest_by_prediction(ledger.read_ledger(configured))
    out = {(pid, fmt): cite.cite(latest[pid], data.predictions[pid], base, fmt)
           for pid in sorted(data.predictions) for fmt in ("markdown", "bibtex", "csl-json")}
    for fmt in ("markdown", "bibtex", "csl-json"):
        result = subprocess.run([str(BIN / "forecast"), "cite", "NEO-1", "--format", fmt, "--data", str(configured)],
                                capture_output=True, text=True)
        assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
        assert result.stdout == out[("NEO-1", fmt)]
    return out


def snapshot_url(text: str) -> str:
    import re

    match = re.search(re.escape(BASE) + r"/snapshots/[^\s<>}\"]+\.html", text)
    assert match, text
    return match.group(0)


@pytest.mark.skipif(not (HTML / "snapshots").exists(), reason="book not built: run `make book`")
def test_every_citation_links_to_a_snapshot_page_of_the_built_site(citations):
    from urllib.parse import unquote

    for (pid, fmt), text in citations.items():
        url = snapshot_url(text)
        page = HTML / unquote(url.removeprefix(BASE + "/"))
        assert page.exists(), (pid, fmt, url)
        assert pid in page.read_text(encoding="utf-8")


def test_citeproc_renders_the_probability_the_date_and_the_link(citations):
    from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
    from citeproc.source.json import CiteProcJSON

    labels = set()
    for (pid, fmt), text in citations.items():
        if fmt != "csl-json":
            continue
        items = json.loads(text)
        style = CitationStylesStyle("harvard-cite-them-right", validate=False)  # bundled with citeproc-py
        bibliography = CitationStylesBibliography(style, CiteProcJSON(items), formatter.plain)
        citation = Citation([CitationItem(items[0]["id"])])
        bibliography.register(citation)
        rendered = str(bibliography.bibliography()[0])
        as_of = items[0]["id"].split("@")[1][:10]
        assert f"P = " in rendered and f"as of {as_of}" in rendered, rendered
        assert snapshot_url(rendered) == items[0]["URL"], rendered
        assert rendered.count("Forecasting the AI industry.") == 1, rendered  # the book once, not doubled
        labels.add(str(bibliography.cite(citation, lambda item: None)))
    assert len(labels) == len({pid for pid, fmt in citations if fmt == "csl-json"})  # one in-text label each


def test_pybtex_parses_every_bibtex_citation(citations):
    from pybtex.database import parse_string

    for (pid, fmt), text in citations.items():
        if fmt == "bibtex":
            entry = next(iter(parse_string(text, "bibtex").entries.values()))
            assert "P = " in entry.fields["title"] and entry.fields["url"].startswith(BASE)


def test_markdown_citations_carry_the_number_and_the_snapshot(citations):
    for (pid, fmt), text in citations.items():
        if fmt == "markdown":
            assert f"{pid} (P = " in text and f"snapshot {pid}@" in text


def test_an_unset_base_url_is_reported_and_the_citation_still_printed(run_cli):
    result = run_cli("cite", "NEO-1", "--data", str(REPO / "data"))
    assert result.code == 0 and "NEO-1 (P = " in result.out
    assert "no public base URL is configured" in result.err and "html.baseurl" in result.err


def test_cffconvert_validates_citation_cff():
    result = subprocess.run([str(BIN / "cffconvert"), "--validate", "-i", str(REPO / "CITATION.cff")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_frictionless_validates_the_data_package():
    from frictionless import Package

    report = Package(str(REPO / "data" / "datapackage.json")).validate()
    assert report.valid, [e.message for task in report.tasks for e in task.errors][:10]


@pytest.mark.skipif(not (REPO / "_build" / "generated" / "forecasts.json").exists(), reason="no forecasts: make book")
def test_jsonschema_validates_the_export(run_cli):
    import jsonschema

    schema = json.loads((REPO / "analysis" / "contract" / "export.schema.json").read_text())
    export = json.loads(run_cli("export", "--data", str(REPO / "data")).out)
    jsonschema.validate(export, schema)
    assert "backtest" in export and export["backtest"]["instances"]
    broken = {**export, "predictions": [{**export["predictions"][0], "probability": 1.5}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
