"""Sources and citations: the bibliography generated from evidence rows, and ``forecast cite``."""

from __future__ import annotations

import json
import re
from urllib.parse import quote
import pandas as pd

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
    """The published book's base URL, from its one place: ``_config.yml`` (``html.baseurl``); empty when unset.

    It is pasted into every citation, link and feed, so anything but a plain http(s) address is refused
    at its line."""
    from analysis.contract.errors import DataError, Problem, quote
    from analysis.contract.schema import URL_RE
    from analysis.files.yamlfile import load_yaml

    if not layout.config.exists():
        return ""
    doc = load_yaml(layout.config, "_config.yml")
    html = doc.get("html") if isinstance(doc, dict) else None
    value = str((html or {}).get("baseurl") or "") if isinstance(html, dict) or html is None else ""
    if value and not (URL_RE.match(value) and value.lower().startswith(("https://", "http://"))
                      and "?" not in value and "#" not in value):
        line = (html or {}).get("__lines__", {}).get("baseurl", 1) if isinstance(html, dict) else 1
        raise DataError([Problem("_config.yml", line, f"html.baseurl {quote(value)} is not a plain http(s) address",
                                 "the address the book is published at, e.g. https://owner.github.io/repository")])
    return value.rstrip("/")


UNSET_BASE = ("warning: no public base URL is configured, so this citation's link is relative and will not "
              "resolve in a memo. Set html.baseurl in _config.yml to the address the book is published at "
              "(for GitHub Pages: https://<owner>.github.io/<repository>).")


def anchor(prediction_id: str) -> str:
    return prediction_id.lower()


def site_path(*parts: str) -> str:
    """A path inside the built site, from its root."""
    return "/".join(quote(p, safe="@-._") for p in parts)


def snapshot_path(snapshot: str) -> str:
    return site_path("snapshots", f"{snapshot}.html")


def card_path(chapter: str, prediction_id: str) -> str:
    return f"book/{chapter}.html#{anchor(prediction_id)}"


def absolute(base: str, path: str) -> str:
    return f"{base}/{path}" if base else path


def titled(prediction_id: str, probability: float, as_of: str, question: str) -> str:
    """The title every citation carries, so the number and its date print in any style."""
    return f"{prediction_id} (P = {probability:.2f} as of {as_of}): {question}"


def cite(row: dict, prediction, base: str, fmt: str, question: str | None = None) -> str:
    """A citation pinned to one ledger snapshot: its probability and as-of date in the title, the question of
    that version, and an absolute link (with a configured base URL) to the snapshot's own page."""
    link = absolute(base, snapshot_path(row["snapshot"]))
    p = float(row["probability"])
    title = titled(prediction.id, p, row["as_of"], question or prediction.question)
    year, month, day = (int(x) for x in row["as_of"].split("-"))
    if fmt == "markdown":
        return (f"{BOOK_TITLE} contributors ({year}). *{title}* Forecast snapshot {row['snapshot']} (question "
                f"version {row['version']}; resolves by {prediction.resolves_by}). {BOOK_TITLE}. <{link}>\n")
    if fmt == "bibtex":
        key = re.sub(r"[^A-Za-z0-9]+", "-", row["snapshot"]).strip("-").lower()
        return (f"@misc{{{key},\n  author = {{{{{BOOK_TITLE} contributors}}}},\n"
                f"  title = {{{{{_bib_text(title)}}}}},\n  year = {{{year}}},\n  month = {{{MONTHS[month - 1]}}},\n"
                f"  howpublished = {{{_bib_text(BOOK_TITLE)}, forecast snapshot {_bib_text(row['snapshot'])}}},\n"
                f"  note = {{P(YES) = {p:.2f} as of {row['as_of']}; question version {row['version']}; "
                f"snapshot {_bib_text(row['snapshot'])}}},\n  url = {{{link}}}\n}}\n")
    if fmt == "csl-json":
        # The author names the forecast, so each cited forecast gets its own in-text label, and the book appears
        # once (as publisher), not again as a container.
        return json.dumps([{
            "id": row["snapshot"], "type": "report", "title": title, "number": row["snapshot"],
            "genre": "Forecast snapshot", "author": [{"literal": f"{BOOK_TITLE}, forecast {prediction.id}"}],
            "issued": {"date-parts": [[year, month, day]]}, "publisher": BOOK_TITLE, "URL": link,
            "citation-label": row["snapshot"],
            "note": f"P(YES) = {p:.2f} as of {row['as_of']}; question version {row['version']}; "
                    f"snapshot {row['snapshot']}",
        }], indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r} (expected markdown, bibtex or csl-json)")
