"""Sources and citations: the bibliography generated from evidence rows, and ``forecast cite``."""

from __future__ import annotations

import json
import re
import pandas as pd
import yaml

BOOK_TITLE = "Forecasting the AI industry"
MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()


def bib_key(evidence_id: str) -> str:
    return evidence_id.lower()


def _bib_text(text: str) -> str:
    """Plain text made inert for BibTeX: no braces, backslashes or commands; specials escaped."""
    text = re.sub(r"[{}\\]", " ", str(text))
    text = re.sub(r"([&%$#_])", r"\\\1", text)
    return " ".join(text.replace("~", " ").replace("^", " ").split())


def evidence_bibtex(evidence: pd.DataFrame) -> str:
    """One @misc entry per evidence row, keyed by its id (``{cite}`neo-e001```)."""
    entries = []
    for _, row in evidence.sort_values("id").iterrows():
        date = row["source_date"]
        fields = {
            "author": "{" + _bib_text(row["source_publisher"]) + "}",
            "title": "{" + _bib_text(row["source_title"]) + "}",
            "year": str(date.year), "month": MONTHS[date.month - 1], "day": str(date.day),
            "keywords": row["_file"].rsplit("/", 1)[-1].removesuffix(".csv"),
            "note": "Evidence " + row["id"] + ", observed " + row["observed_on"].isoformat(),
        }
        if row["source_url"]:
            fields["url"] = row["source_url"].replace("{", "%7B").replace("}", "%7D").replace("\\", "%5C")
        body = ",\n".join(f"  {k} = {{{v}}}" if k not in ("author", "title") else f"  {k} = {{{v}}}"
                          for k, v in fields.items())
        entries.append(f"@misc{{{bib_key(row['id'])},\n{body}\n}}\n")
    return "\n".join(entries)


def base_url(layout) -> str:
    """The published book's base URL from ``_config.yml`` (``html.baseurl``); empty when unset."""
    if not layout.config.exists():
        return ""
    doc = yaml.safe_load(layout.config.read_text(encoding="utf-8")) or {}
    return str((doc.get("html") or {}).get("baseurl") or "").rstrip("/")


def anchor(prediction_id: str) -> str:
    return prediction_id.lower()


def prediction_link(base: str, chapter: str, prediction_id: str) -> str:
    path = f"book/{chapter}.html#{anchor(prediction_id)}"
    return f"{base}/{path}" if base else path


def cite(row: dict, prediction, base: str, fmt: str) -> str:
    """A citation pinned to one ledger snapshot: probability, as-of, question version and link."""
    link = prediction_link(base, prediction.chapter, prediction.id)
    p = float(row["probability"])
    text = (f"{BOOK_TITLE}, forecast {row['snapshot']}: \"{prediction.question}\" "
            f"P(YES) = {p:.2f} as of {row['as_of']} (question version {row['version']}; "
            f"resolves by {prediction.resolves_by}).")
    if fmt == "markdown":
        return f"{text} [{prediction.id}]({link})\n"
    if fmt == "bibtex":
        key = re.sub(r"[^A-Za-z0-9]+", "-", row["snapshot"]).strip("-").lower()
        year, month, _ = row["as_of"].split("-")
        return (f"@misc{{{key},\n  author = {{{{{BOOK_TITLE} contributors}}}},\n"
                f"  title = {{{{{_bib_text(prediction.id)}: {_bib_text(prediction.question)}}}}},\n"
                f"  year = {{{year}}},\n  month = {{{MONTHS[int(month) - 1]}}},\n"
                f"  note = {{P(YES) = {p:.2f} as of {row['as_of']}, question version {row['version']}, "
                f"snapshot {_bib_text(row['snapshot'])}}},\n  url = {{{link}}}\n}}\n")
    if fmt == "csl-json":
        year, month, day = (int(x) for x in row["as_of"].split("-"))
        return json.dumps([{
            "id": row["snapshot"], "type": "report", "title": f"{prediction.id}: {prediction.question}",
            "author": [{"literal": f"{BOOK_TITLE} contributors"}], "issued": {"date-parts": [[year, month, day]]},
            "note": f"P(YES) = {p:.2f} as of {row['as_of']}; question version {row['version']}; "
                    f"snapshot {row['snapshot']}", "URL": link, "container-title": BOOK_TITLE,
        }], indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r} (expected markdown, bibtex or csl-json)")
