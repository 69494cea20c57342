"""Static files the built site serves beside the book's pages (copied in by Sphinx's ``html_extra_path``):

- ``snapshots/<ID@AS_OF>.html``: one page per ledger snapshot, the permalink a citation points to. It shows
  exactly what was cited (the question of that version, the probability and interval, the as-of date, the
  evidence rows it rested on) and how far the live forecast has moved since. Snapshots are never removed,
  so an old citation keeps resolving.
- ``downloads/``: each prediction's chart (PNG, SVG) and history (CSV, JSON), and every forecast (CSV, JSON).
- ``feed.xml``: an Atom feed of moves, resolutions and new questions.
- ``export.schema.json``: the JSON Schema of ``forecast export``.

Every file is written only when its bytes change, so an unchanged build copies nothing new.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from html import escape
from pathlib import Path

from analysis.book import charts, citations
from analysis.contract.layout import Layout
from analysis.files.storage import atomic_write_bytes

FEED_MOVE = 0.05  # a move of at least 5 points gets a feed entry
SCHEMA = Path(__file__).resolve().parents[1] / "contract" / "export.schema.json"


def write_if_changed(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    atomic_write_bytes(path, data)
    return True


@dataclass(frozen=True)
class Snapshot:
    row: dict  # the ledger row
    question: str  # the question's text at the snapshot's version
    criteria: str
    evidence: list  # (id, summary, source, url) of the rows it rested on, or [] when not recorded
    recorded: bool  # whether the snapshot's evidence list was recorded
    fine_print: str = ""  # the question's fine print at the snapshot's version
    note: str = ""  # why the snapshot was taken, in words


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="icon" href="../_static/favicon.svg" type="image/svg+xml">
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}}
.p{{font-size:2.4rem;font-weight:700;color:#0072B2}} table{{border-collapse:collapse;width:100%;font-size:.9rem}}
td,th{{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}} .moved{{background:#fff3cd;
padding:.6rem;border-left:4px solid #D55E00}} pre{{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}}
code,a,td,pre{{overflow-wrap:anywhere}} table{{display:block;overflow-x:auto;max-width:100%}}</style>
</head><body>
<p><a href="../index.html">{book}</a> · snapshot permalink</p>
{body}
</body></html>
"""


def _num(text: str) -> str:
    """A posterior summary as a reader reads it: three significant figures."""
    try:
        return f"{float(text):.3g}"
    except ValueError:
        return escape(text)


def _source_link(source: str, url: str) -> str:
    safe = url if url.lower().startswith(("https://", "http://")) else ""
    return f'<a href="{escape(safe)}" rel="noopener nofollow">{escape(source)}</a>' if safe else escape(source)


def proof_html(proof: dict | None) -> str:
    if not proof:
        return ""
    return (f"<h2>Verify this snapshot</h2><p>Ledger record {proof['record']} of <code>data/forecasts.csv</code>. Its "
            f"row hash (sha256 of the JSON list of its cells) is <code>{escape(proof['sha256'])}</code>; folding the row "
            f"hashes from the start of the ledger gives <code>{escape(proof['chain'])}</code> at this row, and the "
            f"ledger's head when this page was built was <code>{escape(proof['head'])}</code>. The chain is in "
            "<code>data/chain.csv</code>; the Citing page explains the check.</p>")


def snapshot_page(snap: Snapshot, prediction, live_probability: float | None, live_snapshot: str, base: str,
                  proof: dict | None = None) -> str:
    row = snap.row
    p = float(row["probability"])
    card = citations.absolute(base, citations.card_path(prediction.chapter, prediction.id)) if base else \
        "../" + citations.card_path(prediction.chapter, prediction.id)
    moved = ""
    if live_probability is not None and live_snapshot != row["snapshot"]:
        moved = (f'<p class="moved">This forecast has since moved to <strong>{live_probability:.0%}</strong> '
                 f'(snapshot <code>{escape(live_snapshot)}</code>). <a href="{escape(card)}">See the live forecast</a>.</p>')
    else:
        moved = f'<p>This is the current forecast. <a href="{escape(card)}">See it in its chapter</a>.</p>'
    if snap.recorded:
        items = "".join(f"<tr><td><code>{escape(i)}</code></td><td>{escape(s)}</td><td>{_source_link(src, url)}</td></tr>"
                        for i, s, src, url in snap.evidence) or '<tr><td colspan="3">none: the prior alone</td></tr>'
        evidence = (f"<h2>The evidence it rested on ({len(snap.evidence)} rows)</h2><table><thead><tr><th>row</th>"
                    f"<th>fact</th><th>source</th></tr></thead><tbody>{items}</tbody></table>")
    else:
        evidence = (f"<h2>The evidence it rested on</h2><p>{row['evidence_count']} rows, with hash "
                    f"<code>{escape(row['evidence_sha256'][:16])}…</code>. This snapshot was taken before the ledger "
                    "recorded which rows each snapshot used (2026-12-01).</p>")
    citation = citations.cite(row, prediction, base, "markdown", question=snap.question).strip()
    body = (f"<h1>{escape(prediction.id)}: {escape(snap.question)}</h1>"
            f'<p class="p">{p:.0%}</p><p>P(YES) as of <strong>{escape(row["as_of"])}</strong>, question version '
            f'{escape(row["version"])}, snapshot <code>{escape(row["snapshot"])}</code> (logged {escape(row["created_at"])}).</p>'
            f"<p>{escape(row['quantity'])}: median {_num(row['median'])}, 90% interval {_num(row['lo90'])} to "
            f"{_num(row['hi90'])}. Model family: {escape(row['family'])}.</p>"
            + (f"<p><em>Why this snapshot:</em> {escape(snap.note)}</p>" if snap.note else "")
            + f"{moved}<h2>Resolution criteria (version {escape(row['version'])})</h2><p>{escape(snap.criteria)}</p>"
            + (f"<h2>Fine print</h2><p>{escape(snap.fine_print)}</p>" if snap.fine_print else "") +
            f"{evidence}<h2>Cite this snapshot</h2><pre>{escape(citation)}</pre>{proof_html(proof)}")
    if not base:
        body = ('<p class="moved"><strong>No public address is configured for this build</strong> (html.baseurl): the '
                "link in this citation is relative and will not resolve from a memo.</p>") + body
    return PAGE.format(title=escape(f"{row['snapshot']}: {prediction.id}"), book=escape(citations.BOOK_TITLE),
                       body=body)


def history_csv(record) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["as_of", "evidence_id", "probability", "move", "median", "lo90", "hi90"])
    for s in record.history:
        writer.writerow([s.as_of, s.evidence_id or "", f"{s.probability:.6f}",
                         "" if s.move is None else f"{s.move:.6f}", s.median, s.lo90, s.hi90])
    return buffer.getvalue()


def atom_feed(entries: list[dict], base: str, updated: str) -> str:
    """An Atom 1.0 feed; links are absolute when the book's base URL is set, else relative to the site."""
    items = []
    for e in entries:
        link = citations.absolute(base, e["path"])
        items.append(f"<entry><title>{escape(e['title'])}</title><id>{escape(link if base else 'urn:forecast-book:' + e['id'])}</id>"
                     f'<link href="{escape(link)}"/><updated>{escape(e["updated"])}</updated>'
                     f"<summary>{escape(e['summary'])}</summary></entry>")
    home = f"{base}/" if base else "index.html"
    return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"'
            + (f' xml:base="{escape(base)}/"' if base else "") + ">"
            f"<title>{escape(citations.BOOK_TITLE)}: forecast changes</title>"
            f"<id>{escape(home if base else 'urn:forecast-book:feed')}</id><updated>{escape(updated)}</updated>"
            f'<link href="{escape(home)}"/><author><name>{escape(citations.BOOK_TITLE)} contributors</name></author>'
            + "".join(items) + "</feed>\n")


def feed_entries(book) -> list[dict]:
    """Moves of at least FEED_MOVE between snapshots, resolutions, and new questions: newest first."""
    out = []
    for pid, prediction in book.data.predictions.items():
        rows = book.ledger_history(pid)
        if rows:
            first = rows[0]
            out.append({"id": first["snapshot"], "path": citations.snapshot_path(first["snapshot"]),
                        "title": f"New question {pid}: {float(first['probability']):.0%}",
                        "summary": prediction.question, "updated": first["created_at"]})
        for before, after in zip(rows, rows[1:]):
            delta = float(after["probability"]) - float(before["probability"])
            if abs(delta) >= FEED_MOVE:
                note = (book.notes.get(after["snapshot"]) or {}).get("note", "")
                out.append({"id": after["snapshot"], "path": citations.snapshot_path(after["snapshot"]),
                            "title": f"{pid} moved {delta * 100:+.0f} points to {float(after['probability']):.0%}",
                            "summary": f"{prediction.question} ({before['snapshot']} to {after['snapshot']}). "
                                       f"Why: {note or 'the model or its inputs changed; no note was recorded'}",
                            "updated": after["created_at"]})
        record = book.records[pid]
        if record.resolution is not None and rows:
            out.append({"id": f"{pid}-resolved", "path": citations.snapshot_path(rows[-1]["snapshot"]),
                        "title": f"{pid} resolved {record.resolution.outcome.upper()}",
                        "summary": f"{prediction.question} Resolved on {record.resolution.resolved_on}.",
                        "updated": f"{record.resolution.resolved_on}T00:00:00Z"})
    return sorted(out, key=lambda e: (e["updated"], e["id"]), reverse=True)


def snapshot_proofs(book) -> dict[str, dict]:
    """For each snapshot: its ledger record number, row hash and chain value, and the ledger's head."""
    from analysis.stores import chain

    links = [link for link in chain.read_chain(book.data_root) if link.store == "forecasts.csv"]
    head = links[-1].chain if links else ""
    out = {}
    for k, row in enumerate(book.ledger_rows, start=1):
        if k < len(links):
            out[row["snapshot"]] = {"record": k, "sha256": links[k].sha256, "chain": links[k].chain, "head": head}
    return out


def write_site(book, export_json: str, export_csv: str) -> dict:
    """Write every static file under ``_build/generated/site``; returns counts of files written."""
    layout: Layout = book.layout
    root = layout.downloads
    base = book.base_url
    written = {"snapshots": 0, "downloads": 0}
    current = {pid: book.snapshot(pid) for pid in book.data.predictions}
    proofs = snapshot_proofs(book)
    for row in book.ledger_rows:
        prediction = book.data.predictions.get(row["prediction"])
        if prediction is None:
            continue
        live = book.records[prediction.id]
        proof = proofs.get(row["snapshot"])
        page = snapshot_page(book.snapshot_view(row), prediction, live.probability,
                             (current[prediction.id] or {}).get("snapshot", ""), base, proof)
        target = root / "snapshots" / f"{row['snapshot']}.html"
        if target.resolve().parent != (root / "snapshots").resolve():  # a snapshot id never names another folder
            raise ValueError(f"snapshot id {row['snapshot']!r} is not a file name")
        written["snapshots"] += write_if_changed(target, page.encode())
    for pid, record in book.records.items():
        stem = root / "downloads" / pid
        figures_due = write_if_changed(Path(f"{stem}-history.json"),
                                       json.dumps(record.to_json()["history"], indent=1).encode())
        written["downloads"] += figures_due + write_if_changed(Path(f"{stem}-history.csv"), history_csv(record).encode())
        if figures_due or not Path(f"{stem}.png").exists():
            chart = charts.history_chart(record, book.data.rows_for(pid), snapshots=book.ledger_history(pid))
            for fmt in ("png", "svg"):
                written["downloads"] += write_if_changed(Path(f"{stem}.{fmt}"), charts.figure_bytes(chart, fmt))
    written["downloads"] += write_if_changed(root / "downloads" / "forecasts.json", export_json.encode())
    written["downloads"] += write_if_changed(root / "downloads" / "forecasts.csv", export_csv.encode())
    write_if_changed(root / "export.schema.json", SCHEMA.read_bytes())
    updated = max((e["updated"] for e in feed_entries(book)), default=dt.datetime.now(dt.timezone.utc).isoformat())
    write_if_changed(root / "feed.xml", atom_feed(feed_entries(book), base, updated).encode())
    return written
