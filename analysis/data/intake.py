"""Intake helpers for a new evidence row: what a saved web page says about itself, and whether the row
repeats one already logged.

A page's own metadata (Open Graph and JSON-LD through extruct, dates through htmldate, the rest through
trafilatura) pre-fills publisher, title, date and canonical address; the analyst confirms it and the row
is validated like any other. Duplicates are caught by address, by title and by a fuzzy title match
(rapidfuzz), because the same story is often logged twice under slightly different headlines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pandas as pd

from analysis.contract.schema import URL_RE, parse_date

FUZZY_TITLE = 90  # rapidfuzz token-sort ratio at or above which two titles are the same story
TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|mc_|cmpid$|share$|ref$|smid$|mod$)")


@dataclass(frozen=True)
class PageMetadata:
    """What a saved page says about itself; empty strings where it says nothing."""

    publisher: str
    title: str
    date: str
    url: str

    def found(self) -> dict[str, str]:
        return {k: v for k, v in (("source_publisher", self.publisher), ("source_title", self.title),
                                  ("source_date", self.date), ("source_url", self.url)) if v}


def _first(*values) -> str:
    for value in values:
        if isinstance(value, list):
            value = value[0] if value else ""
        if isinstance(value, dict):
            value = value.get("name") or value.get("@id") or ""
        text = " ".join(str(value or "").split())
        if text:
            return text
    return ""


def _structured(html: str, url: str | None) -> tuple[dict, dict]:
    """Open Graph properties and the first JSON-LD article-like object."""
    import extruct

    data = extruct.extract(html, base_url=url, syntaxes=["opengraph", "json-ld"], uniform=True)
    og = (data.get("opengraph") or [{}])[0]
    articles = [item for item in data.get("json-ld") or [] if isinstance(item, dict)]
    graph = [node for item in articles for node in item.get("@graph", []) if isinstance(node, dict)]
    kinds = ("NewsArticle", "Article", "BlogPosting", "ReportageNewsArticle", "ScholarlyArticle", "WebPage")
    article = next((a for a in articles + graph if _first(a.get("@type")) in kinds), articles[0] if articles else {})
    return og, article


def _canonical(html: str) -> str:
    import lxml.html

    try:
        found = lxml.html.fromstring(html).xpath('//link[@rel="canonical"]/@href')
    except (ValueError, lxml.etree.ParserError):
        return ""
    return str(found[0]).strip() if found else ""


def without_tracking(url: str) -> str:
    """The address without tracking parameters (utm_*, fbclid, ...): the same document."""
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING.match(k.lower())])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def page_metadata(html: str) -> PageMetadata:
    """Publisher, title, publication date (YYYY-MM-DD) and canonical address of a saved HTML page: the
    page's canonical link first, then its JSON-LD and Open Graph addresses."""
    import trafilatura
    from htmldate import find_date

    meta = trafilatura.extract_metadata(html)
    og, article = _structured(html, None)
    url = without_tracking(_first(_canonical(html), article.get("url"), article.get("mainEntityOfPage"),
                                  og.get("og:url"), getattr(meta, "url", "")))
    date = _first(article.get("datePublished"), og.get("article:published_time"), getattr(meta, "date", ""))
    if not parse_date(date[:10]):
        date = find_date(html, original_date=True, extensive_search=False) or ""
    title = _first(og.get("og:title"), article.get("headline"), getattr(meta, "title", ""))
    publisher = _first(article.get("publisher"), og.get("og:site_name"), getattr(meta, "sitename", ""))
    return PageMetadata(publisher, title, date[:10] if parse_date(date[:10]) else "",
                        url if URL_RE.match(url or "") else "")


def normal_url(url: str) -> str:
    """An address without scheme, ``www.``, fragment, tracking parameters or trailing slash, for comparison."""
    parts = urlsplit((url or "").strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if not TRACKING.match(k.lower())])
    host = parts.netloc.lower().removeprefix("www.")
    return urlunsplit(("", host, parts.path.rstrip("/"), query, "")).lstrip("/")


def normal_title(title: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", (title or "").casefold()).split())


@dataclass(frozen=True)
class Duplicate:
    evidence_id: str
    file: str
    line: int
    why: str  # "the same address", "the same title", "a near-identical title (93%)"


def duplicates(evidence: pd.DataFrame, row: dict) -> list[Duplicate]:
    """Rows already logged that the new ``row`` may repeat: same address, same title, or a title whose
    token-sort similarity is at least FUZZY_TITLE (rapidfuzz)."""
    from rapidfuzz import fuzz, process, utils

    out: list[Duplicate] = []
    url = normal_url(row.get("source_url", ""))
    title = normal_title(row.get("source_title", ""))
    urls = evidence["source_url"].map(normal_url)
    titles = evidence["source_title"].map(normal_title)
    for i in range(len(evidence)):
        where = (evidence["id"].iloc[i], evidence["_file"].iloc[i], int(evidence["_line"].iloc[i]))
        if url and urls.iloc[i] == url:
            out.append(Duplicate(*where, "the same address"))
        elif title and titles.iloc[i] == title:
            out.append(Duplicate(*where, "the same title"))
    if title and len(title.split()) >= 4:
        seen = {d.evidence_id for d in out}
        for _, score, i in process.extract(title, list(titles), scorer=fuzz.token_sort_ratio,
                                           processor=utils.default_process, score_cutoff=FUZZY_TITLE, limit=5):
            eid = evidence["id"].iloc[i]
            if eid not in seen:
                out.append(Duplicate(eid, evidence["_file"].iloc[i], int(evidence["_line"].iloc[i]),
                                     f"a near-identical title ({score:.0f}% similar)"))
    return out
