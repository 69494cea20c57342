"""HTML fragments for the book's pages. Every piece of data text is escaped here, so evidence or
question text that looks like markup (HTML, MyST, Markdown) is shown as text, never run."""

from __future__ import annotations

from html import escape

import pandas as pd

from analysis.book import citations


CAUSES = {"evidence": "new or corrected evidence", "question": "question edited", "model": "model changed",
          "time": "time passed without the event", "resolution": "resolved", "code": "model code changed",
          "first": "first snapshot"}


UNSET_BASE_BANNER = ('<div class="admonition warning base-url-unset"><p class="admonition-title">No public address '
                     'configured</p><p>This build has no <code>html.baseurl</code> in <code>_config.yml</code>, so the '
                     'links in citations, cite boxes and the feed are relative and will not resolve from a memo. Set it '
                     'to the address the book is published at before citing from this copy.</p></div>')


def esc(value) -> str:
    return escape("" if value is None else str(value), quote=True)


def safe_url(url: str) -> str | None:
    """Only http(s) links are ever rendered as links."""
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else None


def pct(p: float) -> str:
    return f"{100 * p:.0f}%" if 0.005 <= p <= 0.995 else f"{100 * p:.1f}%"


def source_html(row) -> str:
    text = f"{esc(row['source_publisher'])}, <em>{esc(row['source_title'])}</em>, {esc(row['source_date'])}"
    url = safe_url(row.get("source_url", ""))
    out = f'<a href="{esc(url)}" rel="noopener nofollow">{text}</a>' if url else text
    via = str(row.get("read_via") or "")
    if via:
        link = safe_url(via)
        out += (" · read via " + (f'<a class="read-via" href="{esc(link)}" rel="noopener nofollow">{esc(via)}</a>'
                                  if link else f'<code class="read-via">{esc(via)}</code>'))
    return out


def review_text(record) -> str:
    """What the card says about the record behind a forecast: how far it was reviewed, and what is newer."""
    if not record.reviewed_through:
        return ""
    import datetime as dt

    days = (dt.date.fromisoformat(record.as_of) - dt.date.fromisoformat(record.reviewed_through)).days
    if days < 0:
        text = f"Record reviewed through {record.reviewed_through} (after this forecast's as-of date)."
    else:
        text = f"Record reviewed through {record.reviewed_through} ({days} day{'' if days == 1 else 's'} before the as-of date)."
    if record.unreviewed:
        text += (f" Not yet reviewed: {len(record.unreviewed)} row(s) first public after that date "
                 f"({', '.join(record.unreviewed)}) count as events, but not toward the rate, until a review covers them.")
    return text


def progress_text(record, resolves_by) -> str:
    """Where a question stands, and a caution when it is close to resolving: one event short, or its deadline
    within 60 days."""
    import datetime as dt

    if record.status != "open":
        return ""
    parts = []
    if record.progress:
        done, need = record.progress
        parts.append(f"So far in its window: {done} of the {need} needed.")
    days = (dt.date.fromisoformat(str(resolves_by)) - dt.date.fromisoformat(record.as_of)).days
    close = (record.progress and record.progress[0] >= 1 and record.progress[1] - record.progress[0] <= 1) or days <= 60
    if close:
        parts.append("<strong>Close to resolving</strong>: " + ("one more is enough." if record.progress and
                     record.progress[1] - record.progress[0] <= 1 and record.progress[0] >= 1 else
                     f"its deadline is {days} days after the as-of date."))
    return " ".join(parts)


def freshness_table(rows: list, as_of: str) -> str:
    """Each chapter's record: reviewed through when, how many days before the as-of date, what was searched."""
    from analysis.data.coverage import STALE_DAYS

    body = []
    for chapter, title, f in rows:
        if f.reviewed_through is None:
            body.append(f'<tr class="stale"><td>{esc(title)}</td><td>never</td><td>—</td><td>—</td><td></td></tr>')
            continue
        flag = " stale" if f.stale else ""
        late = f"; {len(f.unreviewed)} newer row(s) not yet reviewed" if f.unreviewed else ""
        body.append(f'<tr class="freshness-row{flag}" data-chapter="{esc(chapter)}"><td><a href="{esc(chapter)}.html">'
                    f'{esc(title)}</a></td><td>{esc(f.reviewed_through)}</td><td data-sort="{f.days_behind}">'
                    f'{f.days_behind}{" (stale)" if f.stale else ""}{esc(late)}</td><td>{esc(f.reviewed_on)}</td>'
                    f'<td><details><summary>searched</summary>{esc(f.searched)}<br><em>found:</em> {esc(f.found)}'
                    f'</details></td></tr>')
    return (f'<div class="table-wrapper"><table class="freshness-table"><caption>How current each chapter\'s record is '
            f'at the as-of date {esc(as_of)} (stale: reviewed more than {STALE_DAYS} days before it)</caption><thead><tr>'
            '<th>chapter</th><th>record reviewed through</th><th>days before the as-of date</th><th>review done on</th>'
            '<th>what was searched</th></tr></thead><tbody>' + "".join(body) + "</tbody></table></div>")


def fmt_num(x, digits: int = 3) -> str:
    if x is None:
        return "—"
    return f"{x:.{digits}g}"


def diagnostics_html(d) -> str:
    if d.method == "nuts":
        return f"NUTS (nutpie): R-hat {d.rhat_max:.3f}, bulk ESS {d.ess_bulk_min:.0f}, {d.divergences} divergences"
    if d.method == "monte-carlo":
        return f"independent Monte Carlo ({d.ess_bulk_min:.0f} draws) from an exact posterior; no MCMC needed"
    if d.method == "quadrature":
        return "numerical integration over the exact posterior (quadrature); no sampling"
    return "exact conjugate posterior (closed form); no sampling"


def versions_html(versions: list[dict]) -> str:
    """A question's earlier wordings, when it has been edited (each edit bumps its version)."""
    if len(versions) < 2:
        return ""
    items = "".join(f"<li>version {esc(v['version'])} (recorded {esc(v['recorded_on'])}): {esc(v['question'])} "
                    f"<br><small>criteria: {esc(v['resolution_criteria'])}; resolves by {esc(v['resolves_by'])}</small></li>"
                    for v in versions)
    return f'<details class="question-versions"><summary>Edit history ({len(versions)} versions)</summary><ul>{items}</ul></details>'


def change_text(now: float, before: float | None) -> str:
    return "first snapshot" if before is None else f"{(now - before) * 100:+.1f} pts since the previous snapshot"


def downloads_html(prediction_id: str, snapshot: str) -> str:
    """Links, from a page under ``book/``, to the prediction's files in the built site."""
    stem = f"../downloads/{esc(prediction_id)}"
    links = [f'<a href="{stem}.png" download>PNG</a>', f'<a href="{stem}.svg" download>SVG</a>',
             f'<a href="{stem}-history.csv" download>history CSV</a>',
             f'<a href="{stem}-history.json" download>history JSON</a>']
    if snapshot:
        links.append(f'<a class="snapshot-link" href="../{esc(citations.snapshot_path(snapshot))}">snapshot '
                     f'{esc(snapshot)}</a>')
    return '<p class="downloads">Chart and data: ' + " · ".join(links) + "</p>"


def cite_box(prediction_id: str, snapshot: str, formats: dict[str, str]) -> str:
    """The citation in every format, each in its own block to copy (the link is the snapshot's permalink)."""
    if not formats:
        return ""
    blocks = "".join(f'<details class="cite-format"{" open" if fmt == "markdown" else ""}><summary>{esc(fmt)}</summary>'
                     f'<pre class="cite-{esc(fmt)}">{esc(text.strip())}</pre></details>' for fmt, text in formats.items())
    return (f'<div class="cite-box" data-snapshot="{esc(snapshot)}"><strong>Cite this forecast</strong> (snapshot '
            f'<code>{esc(snapshot)}</code>, which never changes):{blocks}'
            f'<small>or run <code>forecast cite {esc(prediction_id)} --format bibtex</code></small></div>')


def crowd_html(rows: list, probability: float) -> str:
    """Book against crowd, where a comparable public crowd or market forecast was logged (never a model input)."""
    if not rows:
        return ""
    items = "".join(
        f'<li>{esc(r["platform"])}, <em>{esc(r["market"])}</em>: {pct(float(r["probability"]))} on '
        f'{esc(r["observed_on"])} ({source_html({"source_publisher": r["source_publisher"], "source_title": r["source_title"], "source_date": r["observed_on"], "source_url": r["source_url"]})}). '
        f'{esc(r["comparability"])}</li>' for r in rows)
    return (f'<div class="crowd"><strong>Book vs crowd</strong>: the book says {pct(probability)}. '
            f'<ul>{items}</ul></div>')


def prediction_card(p, record, ledger_row: dict | None, previous: float | None, formats: dict[str, str],
                    versions: list[dict] = (), crowd: list = (), rows: pd.DataFrame | None = None,
                    moves: dict | None = None, corrections: dict | None = None) -> str:
    """The full block for one prediction, its permalink anchor: question, forecast and its change, interval,
    model range, sensitivity, crowd, criteria, downloads, cite box and the evidence that moved it."""
    q, s = record.quantity, record.sensitivity
    resolution = record.resolution
    status = ""
    if resolution:
        src = {"source_publisher": resolution.source_publisher, "source_title": resolution.source_title,
               "source_date": resolution.source_date, "source_url": resolution.source_url or ""}
        status = (f'<div class="resolution resolution-{esc(resolution.outcome)}"><strong>Resolved '
                  f'{esc(resolution.outcome.upper())}</strong> on {esc(resolution.resolved_on)} — '
                  f'{source_html(src)}. {esc(resolution.note or "")}'
                  f'{corrections_html((corrections or {}).get(p.id, []))}</div>')
    retro = ('<p class="backtest">Written with hindsight (after its outcome was public): the forecast below uses '
             f'only evidence public by {esc(record.as_of)}, a date fixed before its outcome was known, and it is scored '
             'apart from the rule-generated backtest.</p>') if p.retrospective else ""
    snapshot = (ledger_row or {}).get("snapshot", "")
    fine = f"<dt>Fine print</dt><dd>{esc(p.fine_print)}</dd>" if p.fine_print else ""
    prior = {k: v for k, v in record.model.prior.items() if k != "justification"}
    low, high = record.model_range
    alternatives = "; ".join(f"{esc(a.label)} {pct(a.probability)}" for a in record.alternatives)
    own = "" if rows is None or not len(rows) else (
        f'<details class="card-evidence"><summary>The {len(rows)} evidence rows behind {esc(p.id)}</summary>'
        + evidence_table(rows, moves or {}, local=False, corrections=corrections) + "</details>")
    return f"""
<div class="prediction-card" id="{esc(citations.anchor(p.id))}">
<h3 class="prediction-title"><a class="anchor" href="#{esc(citations.anchor(p.id))}">{esc(p.id)}</a> {esc(p.question)}</h3>
{status}{retro}
<div class="forecast-figure"><span class="probability">{pct(record.probability)}</span>
<span class="probability-label">P(YES) as of {esc(record.as_of)} · {esc(change_text(record.probability, previous))}
· resolves by {esc(p.resolves_by)}</span></div>
{f'<p class="freshness">{esc(review_text(record))}</p>' if review_text(record) and record.status == "open" else ""}
{f'<p class="question-progress">{progress_text(record, p.resolves_by)}</p>' if progress_text(record, p.resolves_by) else ""}
<p class="quantity">{esc(q.name)}: median {fmt_num(q.median)}, 90% interval {fmt_num(q.lo90)}–{fmt_num(q.hi90)}</p>
<p class="model-range">Model range: {pct(low)}–{pct(high)} across the model's structural alternatives ({alternatives or "none declared"}).</p>
<p class="sensitivity">Prior sensitivity: P(YES) is {pct(s["weaker"])} under a weaker prior (half the pseudo-data),
{pct(s["stated"])} under the stated prior, {pct(s["stronger"])} under a stronger one (twice the pseudo-data).</p>
{crowd_html(list(crowd), record.probability)}
<dl class="prediction-meta">
<dt>Resolution criteria</dt><dd>{esc(p.resolution_criteria)}</dd>{fine}
<dt>Resolution source</dt><dd>{esc(p.resolution_source)}</dd>
<dt>Resolves by</dt><dd>{esc(p.resolves_by)} · published {esc(p.published)} · question version {p.version}</dd>
<dt>Model</dt><dd>{esc(p.model.family)} · prior {esc(", ".join(f"{k} = {v:g}" for k, v in prior.items()))}.
{esc(record.model.prior.get("justification", ""))}</dd>
<dt>Diagnostics</dt><dd>{esc(diagnostics_html(record.diagnostics))} · MCSE {record.probability_mcse:.3f} · {record.evidence_count} evidence rows</dd>
</dl>
{versions_html(list(versions))}
{downloads_html(p.id, snapshot)}
{cite_box(p.id, snapshot, formats)}
{own}
</div>"""


def corrections_html(fixes: list[dict]) -> str:
    """The logged corrections to a row: what was logged, what it is now, and why."""
    if not fixes:
        return ""
    items = "".join(f"<li>{esc(f['logged_on'])}: <code>{esc(f['column'])}</code> {esc(f['old'] or '(empty)')} → "
                    f"{esc(f['new'] or '(empty)')}: {esc(f['reason'])}</li>" for f in fixes)
    return f'<details class="corrections"><summary>corrected ({len(fixes)})</summary><ul>{items}</ul></details>'


def evidence_table(rows: pd.DataFrame, moves: dict[str, dict[str, float]], local: bool = True,
                   corrections: dict | None = None) -> str:
    """Evidence rows with how much each moved each prediction it informs (``local``: the chapter's own
    table, whose rows are link targets), with any corrections logged against them."""
    body = []
    for _, row in rows.sort_values(["observed_on", "id"]).iterrows():
        informs = []
        for pid in row["predictions"]:
            move = moves.get(row["id"], {}).get(pid)
            shown = "" if move is None else f" ({move * 100:+.1f} pts)"
            informs.append(f'<a href="#{esc(citations.anchor(pid))}">{esc(pid)}</a>{shown}')
        anchor = f' id="{esc(row["id"].lower())}"' if local else ""
        body.append(
            f'<tr{anchor}>'
            f'<td><code>{esc(row["id"])}</code></td><td>{esc(row["observed_on"])}</td>'
            f'<td>{esc(row["summary"])}</td><td>{source_html(row)}<br><small class="source-kind">'
            f'{esc(str(row.get("source_kind", "")).replace("_", " "))}, first public {esc(row.get("first_public", ""))}'
            f'</small>{corrections_html((corrections or {}).get(row["id"], []))}</td>'
            f'<td class="stance-{esc(row["stance"])}">{esc(row["stance"])}</td>'
            f'<td>{"<br>".join(informs) or "context only"}</td></tr>')
    return ('<div class="table-wrapper"><table class="evidence-table"><thead><tr><th>id</th><th>observed</th>'
            '<th>fact</th><th>source</th><th>stance</th><th>informs (move)</th></tr></thead><tbody>'
            + "".join(body) + "</tbody></table></div>")


def priors_table(predictions: list, records: dict[str, dict]) -> str:
    rows = []
    for p in predictions:
        prior = {k: v for k, v in p.model.prior.items() if k != "justification"}
        rows.append(f'<tr><td><a href="#{esc(citations.anchor(p.id))}">{esc(p.id)}</a></td><td>{esc(p.model.family)}</td>'
                    f'<td>{esc(", ".join(f"{k} = {v:g}" for k, v in prior.items()))}</td>'
                    f'<td>{esc(p.model.prior.get("justification", ""))}</td></tr>')
    return ('<table class="priors-table"><thead><tr><th>prediction</th><th>family</th><th>prior</th>'
            '<th>reference class and base rate</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")


def scenarios_table(priced: list[dict], correlation: float, justification: str,
                    shared: list[list[str]] = ()) -> str:
    rows = []
    for item in priced:
        sc = item["scenario"]
        outcomes = ", ".join(f'<a href="#{esc(citations.anchor(k))}">{esc(k)}</a> {"YES" if v else "NO"}'
                             for k, v in sorted(sc.outcomes.items()))
        signposts = "".join(f"<li>{esc(s)}</li>" for s in sc.signposts)
        rows.append(f'<tr><td><strong>{esc(sc.name)}</strong><br>{esc(sc.description)}</td><td>{outcomes}</td>'
                    f'<td>{pct(item["probability"])}<br><small>independent: {pct(item["independent"])}</small></td>'
                    f'<td><ul>{signposts}</ul></td></tr>')
    groups = "; ".join(", ".join(g) for g in shared)
    if not shared:
        assumption = ("The outcomes are independent." if correlation == 0 else
                      f"The outcomes are drawn with a one-factor Gaussian copula, correlation {correlation:g}.")
    elif correlation == 0:
        assumption = (f"Questions on one model ({groups}) are drawn together from its posterior; they are "
                      "independent of the other questions, and those of each other.")
    else:
        assumption = (f"Questions on one model ({groups}) are drawn together from its posterior, and join the other "
                      f"questions in a one-factor Gaussian copula, correlation {correlation:g}.")
    return (f'<p class="scenario-assumption">{esc(assumption)} {esc(justification)}</p>'
            '<table class="scenario-table"><thead><tr><th>scenario</th><th>defined as</th><th>probability</th>'
            '<th>signposts</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")


def dashboard_table(predictions: list, records: dict, previous: dict[str, float | None], titles: dict[str, str],
                    order: list[str], local: bool = False) -> str:
    """Every prediction, grouped by chapter (headed by its title): probability, change since the previous
    snapshot, deadline and status. Sortable by clicking a column header."""
    out = []
    for chapter in order:
        rows = []
        for p in sorted((p for p in predictions if p.chapter == chapter), key=lambda p: int(p.id.rsplit("-", 1)[1])):
            r = records[p.id]
            before = previous.get(p.id)
            change = "new" if before is None else f"{(r.probability - before) * 100:+.1f} pts"
            change_key = "-1e9" if before is None else f"{r.probability - before:.6f}"
            status = r.status if not r.resolution else f"resolved {r.resolution.outcome.upper()}"
            href = f"#{citations.anchor(p.id)}" if local else f"{chapter}.html#{citations.anchor(p.id)}"
            rows.append(
                f'<tr data-prediction="{esc(p.id)}"><td><a href="{esc(href)}">{esc(p.id)}</a></td>'
                f'<td>{esc(p.question)}</td><td data-sort="{r.probability:.6f}">{pct(r.probability)}</td>'
                f'<td data-sort="{change_key}">{esc(change)}</td><td>{esc(p.resolves_by)}</td>'
                f'<td>{esc(status + (" (written with hindsight)" if p.retrospective else ""))}</td></tr>')
        if not rows:
            continue
        heading = "" if local else (f'<h3 class="dashboard-chapter"><a href="{esc(chapter)}.html">'
                                    f'{esc(titles.get(chapter, chapter))}</a></h3>')
        out.append(heading + '<table class="dashboard-table sortable"><thead><tr><th>id</th><th>question</th>'
                   '<th>P(YES)</th><th>change</th><th>resolves by</th><th>status</th></tr></thead><tbody>'
                   + "".join(rows) + "</tbody></table>")
    return "".join(out)


def move_text(before: float, after: float) -> str:
    """``before → after`` at a precision that shows the move (34% → 34% becomes 34.2% → 33.5%)."""
    if pct(before) != pct(after):
        return f"{pct(before)} → {pct(after)}"
    return f"{100 * before:.1f}% → {100 * after:.1f}%"


def front_page(heads: list[dict], movers: list[dict], predictions: dict, as_of: str = "", updated: str = "") -> str:
    """When the book was last updated, each chapter's headline forecast, then the biggest recent moves (sorted
    by size, then cut), each dated."""
    cards = "".join(
        f'<div class="headline-card"><p class="headline-chapter"><a href="{esc(h["chapter"])}.html">'
        f'{esc(h["title"])}</a></p><p class="headline-question"><a href="{esc(h["chapter"])}.html#'
        f'{citations.anchor(h["prediction"].id)}">{esc(h["prediction"].id)}</a> {esc(h["prediction"].question)}</p>'
        f'<p><span class="probability">{pct(h["record"].probability)}</span> '
        f'<span class="headline-change">{esc(change_text(h["record"].probability, h["previous"]))}</span> · resolves by '
        f'{esc(h["prediction"].resolves_by)}</p></div>' for h in heads)
    moved = "".join(
        f'<li><a href="{esc(predictions[m["prediction"]].chapter)}.html#{citations.anchor(m["prediction"])}">'
        f'{esc(m["prediction"])}</a> {move_text(float(m["before"]["probability"]), float(m["after"]["probability"]))} '
        f'({m["delta"] * 100:+.1f} pts) on {esc(m["after"]["as_of"])}: '
        f'{esc(m.get("note") or "; ".join(CAUSES.get(c, c) for c in m["cause"].split(";")))}</li>'
        for m in movers)
    stamp = (f'<p class="last-updated">Forecasts as of <strong>{esc(as_of)}</strong> · last updated '
             f'{esc(updated[:10])}</p>') if as_of else ""
    return (f'{stamp}<div class="headlines">{cards}</div><h2>Biggest moves of the last 30 days</h2>'
            + (f"<ul class='movers'>{moved}</ul>" if moved else "<p>No forecast moved by half a point or more in the last "
               "30 days.</p>"))


def columns_table(columns) -> str:
    """The data contract's columns, straight from ``schema`` (the single source of truth)."""
    rows = "".join(f"<tr><td><code>{esc(c.name)}</code></td><td>{esc(c.type)}</td>"
                   f"<td>{'yes' if c.required else 'no'}</td><td>{esc(c.description)}</td></tr>" for c in columns)
    return ('<table class="contract-table"><thead><tr><th>column</th><th>type</th><th>required</th>'
            '<th>meaning</th></tr></thead><tbody>' + rows + "</tbody></table>")


def families_table() -> str:
    """Each family's observation columns, prior and settings, from the families themselves."""
    from analysis.models import FAMILIES

    rows = []
    for name, fam in FAMILIES.items():
        prior = fam.prior_keys({"form": "weibull"})  # every key a variant of the family can need
        settings = {(k if spec.required else f"{k} (optional)"): spec.meaning for k, spec in fam.settings_spec().items()}
        listing = lambda d: "<br>".join(f"<code>{esc(k)}</code>: {esc(v)}" for k, v in d.items()) or "none"  # noqa: E731
        rows.append(f"<tr><td><code>{esc(name)}</code></td><td>{esc(fam.observation)}</td>"
                    f"<td>{listing(prior)}</td><td>{listing(settings)}</td></tr>")
    return ('<table class="contract-table"><thead><tr><th>family</th><th>evidence columns it reads</th>'
            '<th>prior</th><th>settings</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")


def changelog_table(changes: list[dict], predictions: dict) -> str:
    """Every move between consecutive snapshots, with the cause the ledger's notes give."""
    if not changes:
        return ('<p class="changelog-empty">No forecast has moved since it was first published: every prediction '
                'has a single snapshot in the ledger.</p>')
    body = "".join(
        f'<tr><td>{esc(c["logged"])}</td><td><a href="{esc(predictions[c["prediction"]].chapter)}.html#'
        f'{citations.anchor(c["prediction"])}">{esc(c["prediction"])}</a></td>'
        f'<td>{esc(c["before"]["snapshot"])} → {esc(c["after"]["snapshot"])}</td>'
        f'<td>{pct(float(c["before"]["probability"]))} → {pct(float(c["after"]["probability"]))} '
        f'({c["delta"] * 100:+.1f} pts)</td><td>{esc("; ".join(CAUSES.get(x, x) for x in c["cause"].split(";")))}'
        f'{": " + esc(c["note"]) if c.get("note") else (": " + esc(", ".join(c["evidence"])) if c["evidence"] else "")}'
        f'</td></tr>' for c in changes)
    return ('<table class="changelog-table"><thead><tr><th>logged</th><th>prediction</th><th>snapshots</th>'
            '<th>move</th><th>cause</th></tr></thead><tbody>' + body + "</tbody></table>")


def score_table(board) -> str:
    board = board.sort_values("id") if len(board) else board
    body = "".join(
        f'<tr><td><a href="{esc(r.chapter)}.html#{citations.anchor(r.id)}">{esc(r.id)}</a></td>'
        f'<td>{"YES" if r.outcome else "NO"}</td><td>{pct(r.probability)}</td><td>{r.brier:.3f}</td>'
        f'<td>{r.brier_time_averaged:.3f}</td><td>{r.log_score:.2f}</td></tr>' for r in board.itertuples())
    return ('<table class="score-table"><thead><tr><th>question</th><th>outcome</th><th>forecast</th>'
            '<th>Brier</th><th>time-averaged Brier</th><th>log score</th></tr></thead><tbody>' + body + "</tbody></table>")


# -- the scorecard --------------------------------------------------------------------------------------

BASELINE_NAMES = {"half": "always 50%", "base_rate": "base rate before the forecast (Laplace's rule)",
                  "prior": "the model's prior, no evidence", "persistence": "persistence (the unit's last window)"}


def interval(values) -> str:
    return f"[{values[0]:+.2f}, {values[1]:+.2f}]" if values else ""


def met(ok: bool) -> str:
    return '<strong class="target-met">met</strong>' if ok else '<strong class="target-missed">NOT met</strong>'


def persistence_line(scores: dict) -> str:
    """The scorecard's first line: skill against persistence on the windows that opened on or after the split,
    with its 95% interval, marked met only when the lower bound is above zero, and what that split is worth."""
    after = (scores.get("by_period") or {}).get("after")
    if not after:
        return ""
    value, (lo, hi) = after["bss_persistence"], after["intervals"]["bss_persistence"]
    return (f'<p class="skill-headline"><strong>Skill against persistence, windows opened in 2025 or later:</strong> '
            f'Brier skill score {value:+.3f} (95% interval {lo:+.3f} to {hi:+.3f}, {after["n"]} forecasts from '
            f'{after["templates"]} templates). Target, a lower bound above 0: {met(lo > 0)}. This split is not yet a '
            'true out-of-sample test: the models and templates were chosen on 2026-12-01, after these outcomes were '
            'known. The prospective record, of windows that open after the templates were frozen, will be.</p>')


def backtest_headline(scores: dict) -> str:
    """The honest headline, whatever it is: skill against persistence first, then whether the models beat the
    base rate, with intervals."""
    o = scores["overall"]
    lo = o["intervals"]["bss_base_rate"][0]
    verdict = ("The models beat the base rate, and the interval excludes no skill." if lo > 0 else
               "The models do <strong>not</strong> demonstrably beat the base rate: the interval on the skill score "
               "includes zero (or lies below it). The book claims no forecasting skill from its backtest.")
    return (persistence_line(scores) +
            f'<p class="backtest-headline">{o["n"]} forecasts of rule-generated questions from {o["templates"]} templates: '
            f'{o["yes"]} resolved YES ({o["yes"] / o["n"]:.0%}). Mean Brier score {o["brier"]:.3f} '
            f'(95% interval {o["intervals"]["brier"][0]:.3f}–{o["intervals"]["brier"][1]:.3f}); Brier skill score '
            f'against the base rate {o["bss_base_rate"]:+.3f} {interval(o["intervals"]["bss_base_rate"])}. {verdict}</p>'
            f'<ul class="targets"><li>Target: skill over the base rate with the interval\'s lower bound above 0: '
            f'{met(lo > 0)} (lower bound {lo:+.3f}).</li><li>Target: Brier at or below 0.18: {met(o["brier"] <= 0.18)} '
            f'({o["brier"]:.3f}).</li></ul>')


def baselines_table(scores: dict) -> str:
    o = scores["overall"]
    rows = [f'<tr><td>the book\'s models</td><td>{o["brier"]:.3f}</td><td>—</td></tr>']
    for name, label in BASELINE_NAMES.items():
        rows.append(f'<tr><td>{esc(label)}</td><td>{o[f"brier_{name}"]:.3f}</td>'
                    f'<td>{o[f"bss_{name}"]:+.3f} {interval(o["intervals"].get(f"bss_{name}"))}</td></tr>')
    m = o["murphy"]
    return ('<table class="baselines-table"><thead><tr><th>forecaster</th><th>Brier</th><th>the models\' skill '
            'score against it (95% interval)</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>"
            f'<p class="murphy">Murphy decomposition: reliability {m["reliability"]:.3f} (lower is better) − '
            f'resolution {m["resolution"]:.3f} (higher is better) + uncertainty {m["uncertainty"]:.3f}. Log score '
            f'{o["log_score"]:.3f} {interval(o["intervals"].get("log_score"))}.</p>')


def groups_table(groups: dict[str, dict], label: str, extra: dict[str, str] | None = None) -> str:
    rows = "".join(
        f'<tr><td>{esc(name)}</td><td>{s["n"]}</td><td>{s["yes"]}</td><td>{s["brier"]:.3f}</td>'
        f'<td>{s["brier_base_rate"]:.3f}</td><td>{s["bss_base_rate"]:+.3f}</td><td>{s["bss_prior"]:+.3f}</td>'
        f'<td>{esc((extra or {}).get(name, ""))}</td></tr>' for name, s in groups.items())
    return (f'<table class="groups-table"><thead><tr><th>{esc(label)}</th><th>forecasts</th><th>YES</th><th>Brier</th>'
            '<th>Brier of the base rate</th><th>skill vs base rate</th><th>skill vs prior</th><th>rule</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def rosters_table(rosters: list[dict]) -> str:
    rows = "".join(f'<tr><td><code>{esc(r["name"])}</code></td><td>{esc(r["unit"])}</td><td>{r["entries"]}</td>'
                   f'<td>{esc(r["frozen_on"])}</td><td>{esc(r["rule"])}</td><td>{esc(r["source"])}</td>'
                   f'<td>{_excluded_list(r.get("excluded", []))}</td></tr>' for r in rosters)
    return ('<table class="rosters-table"><thead><tr><th>roster</th><th>unit</th><th>entries</th><th>frozen on</th>'
            '<th>inclusion rule</th><th>applied to</th><th>left out by the rule</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def _excluded_list(excluded: list[dict]) -> str:
    if not excluded:
        return "none listed"
    items = "".join(f"<li><strong>{esc(e['name'])}</strong>: {esc(e['reason'])}</li>" for e in excluded)
    return f"<details><summary>{len(excluded)} candidates</summary><ul>{items}</ul></details>"


def checks_table(checks: dict[str, list[dict]]) -> str:
    rows = "".join(
        f'<tr><td>{esc(pid)}</td><td>{esc(c["statistic"])}</td><td>{c["observed"]:g}</td>'
        f'<td>{c["prior_90"][0]:g}–{c["prior_90"][1]:g}</td><td>{c["posterior_90"][0]:g}–{c["posterior_90"][1]:g}</td>'
        f'<td>{c["posterior_p"]:.2f}</td></tr>' for pid, items in checks.items() for c in items)
    return ('<table class="checks-table"><thead><tr><th>prediction</th><th>statistic</th><th>observed</th>'
            '<th>prior predictive 90%</th><th>posterior predictive 90%</th><th>P(simulated ≥ observed)</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def model_log_table(changes: list) -> str:
    """The model log: each change, its scope, reason, the rule for keeping it fixed in advance, and the outcome."""
    if not changes:
        return "<p>No model change has been logged.</p>"
    rows = "".join(
        f'<tr id="{esc(c.id.lower())}"><td><code>{esc(c.id)}</code><br>{esc(c.logged_on)}</td><td>{esc(", ".join(c.scope))}</td>'
        f'<td>{esc(c.change)}<br><small><em>Why:</em> {esc(c.reason)}</small></td><td>{esc(c.keep_rule)}</td>'
        f'<td>{esc(c.scored)}</td><td>{esc(c.decision)}</td></tr>' for c in changes)
    return ('<div class="table-wrapper"><table class="model-log-table"><thead><tr><th>entry</th><th>scope</th>'
            '<th>change</th><th>rule for keeping it (fixed before scoring)</th><th>what scoring found</th>'
            '<th>decision</th></tr></thead><tbody>' + rows + "</tbody></table></div>")
