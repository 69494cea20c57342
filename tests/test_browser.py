"""The built book in a real browser (Debian's Chromium, driven by Playwright): pages load without
console errors, charts draw with their text inside their plots, no code is shown to readers, the
dashboard lists every prediction, anchors and snapshot permalinks resolve, the feed and downloads parse,
and no request leaves localhost. Screenshots go to test-artifacts/ (git-ignored)."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import REPO

HTML = REPO / "_build" / "html"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (HTML / "book" / "dashboard.html").exists(), reason="book not built: run `make book`"),
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(_Quiet, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield instance
        instance.close()


def open_page(browser, url: str):
    """Load ``url``; return (page, console errors, hosts requested)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, hosts = [], set()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: hosts.add(urlparse(r.url).hostname) if r.url.startswith("http") else None)
    page.goto(url, wait_until="networkidle")
    return page, errors, hosts


def book_pages() -> list[str]:
    return sorted(p.relative_to(HTML).as_posix() for p in (HTML / "book").glob("*.html"))


def toc_files() -> set[str]:
    import yaml

    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = {toc["root"]} | {c["file"] for part in toc["parts"] for c in part["chapters"]}
    return {f"{f}.html" for f in files}


def test_every_page_loads_cleanly_and_stays_on_localhost(browser, server):
    pages = book_pages()
    assert set(pages) == toc_files()
    for name in pages:
        page, errors, hosts = open_page(browser, f"{server}/{name}")
        charts = page.locator(".forecast-chart")
        for i in range(charts.count()):
            chart = charts.nth(i)
            chart.scroll_into_view_if_needed()
            drawn = chart.locator("svg, canvas")
            assert drawn.count() > 0, f"{name}: chart {i} did not draw"
            assert drawn.first.locator("path, rect, circle, line, text").count() > 0, f"{name}: chart {i} is empty"
        assert not errors, f"{name}: console errors {errors}"
        assert hosts <= {"127.0.0.1"}, f"{name}: requests to {hosts - {'127.0.0.1'}}"
        assert page.locator("a[href^='javascript:' i]").count() == 0, f"{name}: javascript: link"
        page.close()


def test_dashboard_lists_every_prediction_and_anchors_land(browser, server):
    from analysis.data import dataset as ds

    predictions = ds.load_valid(REPO / "data").predictions
    page, errors, _ = open_page(browser, f"{server}/book/dashboard.html")
    listed = set(page.locator("tr[data-prediction]").evaluate_all("rows => rows.map(r => r.dataset.prediction)"))
    assert listed == set(predictions)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    table = page.locator("table.sortable").first
    table.locator("thead th").nth(2).click()  # P(YES): ascending
    values = table.locator("tbody tr td:nth-child(3)").evaluate_all("cells => cells.map(c => +c.dataset.sort)")
    assert values == sorted(values) and len(values) >= 3
    table.locator("thead th").nth(2).click()  # and descending
    values = table.locator("tbody tr td:nth-child(3)").evaluate_all("cells => cells.map(c => +c.dataset.sort)")
    assert values == sorted(values, reverse=True)
    hrefs = page.locator("tr[data-prediction] a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    page.close()
    by_chapter: dict[str, list[str]] = {}
    for href in hrefs:
        target, anchor = href.split("#")
        by_chapter.setdefault(target, []).append(anchor)
    for target, anchors in by_chapter.items():
        for i, anchor in enumerate(anchors):
            if i == 0:
                chapter, _, _ = open_page(browser, f"{server}/book/{target}#{anchor}")
            else:  # same document: follow the fragment as a click on the dashboard link would
                chapter.evaluate("a => { location.hash = a; }", anchor)
                chapter.wait_for_timeout(150)
            card = chapter.locator(f"#{anchor}")
            assert card.count() == 1, f"{target}#{anchor}"
            box = card.bounding_box()
            assert box is not None and -5 <= box["y"] <= 200, f"{target}#{anchor} did not land ({box})"
        chapter.close()


def test_screenshots_of_the_reader_pages(browser, server):
    ARTIFACTS.mkdir(exist_ok=True)
    snapshot = sorted((HTML / "snapshots").glob("NEO-1@*.html"))[-1].name
    for name, path in [("front", "book/intro.html"), ("chapter-neo-labs", "book/neo-labs.html"),
                       ("permalink-neo-1", f"snapshots/{snapshot}"), ("scorecard", "book/scorecard.html")]:
        page, errors, _ = open_page(browser, f"{server}/{path}")
        assert not errors, f"{path}: {errors}"
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)
        page.close()


def test_no_code_is_shown_to_readers(browser, server):
    for name in book_pages():
        page, _, _ = open_page(browser, f"{server}/{name}")
        visible = page.locator(".cell_input, div.highlight-ipython3, .cell .highlight").evaluate_all(
            "nodes => nodes.filter(n => n.offsetParent !== null).length")
        assert visible == 0, f"{name}: {visible} code cells visible"
        assert "from analysis" not in page.inner_text("main"), f"{name}: library calls shown"
        page.close()


def test_every_charts_text_lies_inside_its_plot(browser, server):
    for name in ("book/scorecard.html", "book/neo-labs.html", "book/free-tier-liability.html"):
        page, _, _ = open_page(browser, f"{server}/{name}")
        charts = page.locator(".forecast-chart svg")
        assert charts.count() > 0, name
        outside = page.evaluate("""() => {
            const bad = [];
            document.querySelectorAll('.forecast-chart svg').forEach((svg, i) => {
              const box = svg.getBoundingClientRect();
              svg.querySelectorAll('text').forEach(t => {
                const r = t.getBoundingClientRect();
                if (r.width === 0 && r.height === 0) return;
                const size = parseFloat(t.getAttribute('font-size') || getComputedStyle(t).fontSize);
                if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1
                    || size > 18)
                  bad.push(i + ': ' + t.textContent + ' ' + JSON.stringify([r.left, r.top, r.width, r.height]));
              });
            });
            return bad;
        }""")
        assert not outside, f"{name}: text outside its plot: {outside[:5]}"
        page.close()


def test_every_permalink_and_snapshot_page_resolves(browser, server):
    from analysis.stores import ledger

    rows = ledger.read_ledger(REPO / "data")
    missing = [r["snapshot"] for r in rows if not (HTML / "snapshots" / f"{r['snapshot']}.html").exists()]
    assert not missing, missing[:5]
    page, errors, _ = open_page(browser, f"{server}/snapshots/{rows[-1]['snapshot']}.html")
    assert not errors and rows[-1]["prediction"] in page.inner_text("h1")
    page.locator("a", has_text="live forecast").or_(page.locator("a", has_text="in its chapter")).first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator(f"#{rows[-1]['prediction'].lower()}").count() == 1
    page.close()


def test_the_feed_and_downloads_parse():
    import csv
    import json

    import feedparser

    feed = feedparser.parse((HTML / "feed.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    assert feed.entries and all(e.link for e in feed.entries)
    for entry in feed.entries:
        target = entry.link.split("#")[0]
        assert (HTML / target).exists(), entry.link
    downloads = HTML / "downloads"
    everything = json.loads((downloads / "forecasts.json").read_text())
    ids = [p["id"] for p in everything["predictions"]]
    assert [r["id"] for r in csv.DictReader((downloads / "forecasts.csv").open())] == ids
    for pid in ids:
        assert (downloads / f"{pid}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (downloads / f"{pid}.svg").read_text()[:500]
        assert json.loads((downloads / f"{pid}-history.json").read_text())
        assert list(csv.DictReader((downloads / f"{pid}-history.csv").open()))


def test_no_page_scrolls_sideways_on_a_phone(browser, server):
    """At 390 px wide (a phone), no page of the book is wider than the screen: charts fit their column."""
    for name in book_pages() + ["snapshots/" + sorted(p.name for p in (HTML / "snapshots").glob("*.html"))[-1]]:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{server}/{name}", wait_until="networkidle")
        page.wait_for_timeout(300)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{name}: {width} px wide at 390 px"
        page.close()


def test_every_chart_ends_at_the_as_of_date_with_a_band(browser, server):
    """Each card's chart carries a 'now' marker at the forecast's as-of date, with the model range as a band."""
    import json
    import re

    records = {p["id"]: p for p in json.loads((REPO / "_build" / "generated" / "forecasts.json").read_text())
               ["predictions"]}
    seen = 0
    for name in [p for p in book_pages() if not p.endswith(("dashboard.html", "changelog.html", "scorecard.html"))]:
        text = (HTML / name).read_text(encoding="utf-8")
        for pid, spec in re.findall(r'id="chart-([a-z]+-\d+)".*?var spec=(\{.*?\});if', text, flags=re.S):
            record = records[pid.upper()]
            layers = json.loads(spec)["layer"]
            marks = [l["mark"]["shape"] if isinstance(l.get("mark"), dict) and "shape" in l["mark"] else None
                     for l in layers]
            assert "triangle-down" in marks, pid
            datasets = json.loads(spec)["datasets"]
            nows = [row for rows in datasets.values() for row in rows if "high" in row and "low" in row]
            assert nows and all(str(r["as_of"]).startswith(record["as_of"]) for r in nows), (pid, nows)
            assert all(r["low"] <= record["probability"] <= r["high"] for r in nows), pid
            seen += 1
    assert seen == len(records), (seen, len(records))
