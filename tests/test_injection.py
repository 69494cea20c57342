"""Text that looks like markup (HTML, MyST directives and roles, Markdown links, javascript: URLs)
appears in the built book as text: no injected script runs and no javascript: link exists."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import FIXTURE, REPO

BIN = Path(sys.executable).parent
PAYLOADS = [
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned = 'img'\">",
    "[click me](javascript:window.__pwned='md')",
    "```{raw} html\n<script>window.__pwned='raw'</script>\n```",
    "{raw}`html <b onmouseover=\"window.__pwned='role'\">x</b>`",
    "</script><script>window.__pwned='break-out'</script>",
    "\"><svg onload=\"window.__pwned='svg'\">",
]


def test_fragments_escape_every_payload():
    import pandas as pd

    from analysis.book import charts, html as pages

    rows = pd.DataFrame([{"id": f"TST-E9{i:02d}", "observed_on": "2026-01-01", "summary": p, "source_publisher": p,
                          "source_title": p, "source_date": "2026-01-01", "source_url": "javascript:alert(1)",
                          "stance": "for", "predictions": ("TST-1",)} for i, p in enumerate(PAYLOADS)])
    html = pages.evidence_table(rows, {})
    for dangerous in ("<script", "<img", "<svg", "href=\"javascript:"):  # as text ("&lt;img") they are harmless
        assert dangerous not in html
    assert "&lt;script&gt;" in html
    from types import SimpleNamespace

    from analysis.forecast.record import Step

    record = SimpleNamespace(id="TST-1", resolves_by="2027-01-01", resolution=None, as_of="2026-02-01",
                             probability=0.5, model_range=(0.4, 0.6),
                             history=(Step("2026-01-01", "TST-E900", 0.5, 0.1, 0.5, 0.4, 0.6),))
    embedded = charts.embed_html(charts.history_chart(record, rows), "chart-x")
    assert embedded.count("<script") == 1 and "</script><script>" not in embedded.split("</script>", 1)[1]
    assert "\\u003c/script\\u003e" in embedded


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def run(repo: Path, *command: str, env=None) -> subprocess.CompletedProcess:
    out = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=repo, capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    return out


@pytest.mark.browser
def test_payloads_render_as_text_in_a_built_book(tmp_path):
    if not Path("/usr/bin/chromium").exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it")
    repo = tmp_path / "book"
    (repo / "book").mkdir(parents=True)
    shutil.copytree(FIXTURE, repo / "data")
    for name in ("_config.yml", "_static"):
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, repo / name)
    (repo / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/sample\n")
    (repo / "book" / "intro.md").write_text("# Injection test book\n")
    header = (REPO / "book" / "neo-labs.md").read_text().split("---\n")[1]
    cells = "\n".join(f"```{{code-cell}} ipython3\nchapter.card('TST-{i}')\n```\n" for i in range(1, 6))
    (repo / "book" / "sample.md").write_text(
        f"---\n{header}---\n# Sample\n\n```{{code-cell}} ipython3\nfrom analysis.book.views import Book\n"
        f"chapter = Book().chapter('sample')\nchapter.evidence()\n```\n\n{cells}\n"
        "See {cite}`tst-e010`.\n\n## Sources\n\n```{bibliography}\n:filter: docname in docnames\n```\n")
    # Markup in a question, and in every free-text field of new evidence rows.
    yaml_path = repo / "data" / "predictions" / "sample.yaml"
    yaml_path.write_text(yaml_path.read_text().replace(
        "question: Will the one-off event happen by 2027-06-30?",
        "question: \"Will <script>window.__pwned='question'</script> happen by 2027-06-30?\""))
    env = {"FORECAST_TODAY": "2026-11-29"}
    bad_url = run(repo, "forecast", "add-evidence", "TST-4", "--observed-on", "2026-01-02", "--summary", "x",
                  "--publisher", "p", "--title", "t", "--source-date", "2026-01-02", "--lr", "1", "--reason", "r",
                  "--source-kind", "primary", "--stance", "for", "--url", "javascript:alert(1)", env=env)
    assert bad_url.returncode == 1 and "not an http(s) URL" in bad_url.stderr
    for i, payload in enumerate(PAYLOADS):
        added = run(repo, "forecast", "add-evidence", "TST-4", "--observed-on", f"2026-01-{i + 2:02d}",
                    "--summary", payload, "--publisher", payload, "--title", payload, "--source-date",
                    f"2026-01-{i + 2:02d}", "--lr", "1.1", "--reason", payload, "--source-kind", "repost",
                    "--note", payload, "--stance", "for", env=env)
        assert added.returncode == 0, added.stderr
    for command in (("forecast", "update", "--as-of", "2026-11-29"), ("forecast", "prepare-book"),
                    ("jupyter-book", "build", ".", "-W", "-n", "--keep-going")):
        done = run(repo, *command, env=env)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    from playwright.sync_api import sync_playwright

    handler = functools.partial(_Quiet, directory=str(repo / "_build" / "html"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/book/sample.html", wait_until="networkidle")
            for element in page.locator("img, svg[onload], [onmouseover]").all():
                element.hover(timeout=1000) if element.is_visible() else None
            page.wait_for_timeout(300)
            assert page.evaluate("window.__pwned") is None
            assert page.locator("a[href^='javascript:' i]").count() == 0
            text = page.locator("main").inner_text()
            assert "<script>window.__pwned = 'script'</script>" in text
            assert "{raw}" in text and "[click me](javascript:" in text
            assert "Will <script>window.__pwned='question'</script> happen" in text
            browser.close()
    finally:
        httpd.shutdown()
    print(f"injected payloads tried: {len(PAYLOADS)} in 4 fields each, plus 1 question and 1 URL")
