"""The shipped data and its description: valid, and described by the schema that validates it."""

from __future__ import annotations

import json

from conftest import REPO


def test_shipped_data_is_valid(run_cli):
    result = run_cli("validate", "--data", str(REPO / "data"))
    assert result.code == 0, result.err
    assert result.out.startswith("OK: ")


def test_datapackage_matches_schema():
    from analysis.cli import describe_data

    shipped = json.loads((REPO / "data" / "datapackage.json").read_text())
    assert shipped == describe_data(REPO / "data"), "data/datapackage.json is stale: run `forecast datapackage`"


def test_every_evidence_row_has_a_source():
    from analysis.data import dataset as ds

    data = ds.load_valid(REPO / "data")
    for column in ("source_publisher", "source_title", "source_date"):
        assert data.evidence[column].map(bool).all()
    assert len(data.evidence) >= 80


def test_book_shape():
    """At least 24 predictions, 10 backtests, 3 per chapter, one page per chapter."""
    from analysis.data import dataset as ds

    data = ds.load_valid(REPO / "data")
    chapters = {p.chapter for p in data.predictions.values()}
    assert len(data.predictions) >= 24 and len(chapters) == 8
    assert sum(p.retrospective for p in data.predictions.values()) >= 10
    for chapter in chapters:
        assert sum(p.chapter == chapter for p in data.predictions.values()) >= 3
        assert (REPO / "book" / f"{chapter}.md").exists()
    future = [p for p in data.predictions.values() if not p.retrospective]
    assert all(p.resolves_by.isoformat() > "2026-11-29" for p in future)


def test_no_question_hard_codes_where_its_record_ends():
    """The coverage record, not a constant in a question, says how far each chapter's record was reviewed."""
    texts = [p.read_text(encoding="utf-8") for p in (REPO / "data" / "predictions").glob("*.yaml")]
    assert texts and not any("record_until" in t for t in texts)
    from analysis.data import dataset as ds

    data = ds.load_valid(REPO / "data")
    assert {r.stream for r in data.reviews} == set(data.chapters())


def test_every_snapshot_says_why_in_words():
    """No published snapshot is left without a note, and a model change names what changed (a setting, the prior,
    or a model-log entry)."""
    import re

    from analysis.stores import ledger, updates

    notes = updates.read_notes(REPO / "data")
    rows = ledger.read_ledger(REPO / "data")
    assert rows
    for row in rows:
        note = notes.get(row["snapshot"])
        assert note is not None and note["note"].strip(), row["snapshot"]
        if "model" in note["cause"].split(";"):
            assert re.search(r"M-\d{3}|setting|prior|family", note["note"]), (row["snapshot"], note["note"])


def test_release_metadata_agrees_with_the_citation_file():
    """The DOI deposit (.zenodo.json) and CITATION.cff describe the same work."""
    import json

    import yaml

    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    zenodo = json.loads((REPO / ".zenodo.json").read_text(encoding="utf-8"))
    assert zenodo["title"] == cff["title"] and zenodo["version"] == cff["version"]
    assert zenodo["license"] == cff["license"].lower()
    assert [c["name"] for c in zenodo["creators"]] == [a["name"] for a in cff["authors"]]
    assert zenodo["keywords"] == cff["keywords"]
