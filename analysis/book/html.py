"""HTML fragments for the book's pages. Every piece of data text is escaped here, so evidence or
question text that looks like markup (HTML, MyST, Markdown) is shown as text, never run."""

from __future__ import annotations

from html import escape

import pandas as pd

from analysis.book import citations


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
    return f'<a href="{esc(url)}" rel="noopener nofollow">{text}</a>' if url else text


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


def prediction_card(p, record, ledger_row: dict | None, base_url: str, versions: list[dict] = ()) -> str:
    """The full block for one prediction: question, criteria, forecast, interval, sensitivity, cite box."""
    q, s = record.quantity, record.sensitivity
    resolution = record.resolution
    status = ""
    if resolution:
        src = {"source_publisher": resolution.source_publisher, "source_title": resolution.source_title,
               "source_date": resolution.source_date, "source_url": resolution.source_url or ""}
        status = (f'<p class="resolution resolution-{esc(resolution.outcome)}"><strong>Resolved '
                  f'{esc(resolution.outcome.upper())}</strong> on {esc(resolution.resolved_on)} — '
                  f'{source_html(src)}. {esc(resolution.note or "")}</p>')
    retro = ('<p class="backtest">Written with hindsight: the forecast below uses only evidence public by '
             f'{esc(record.as_of)}, the day before the question\'s window opened.</p>') if p.retrospective else ""
    snapshot = (ledger_row or {}).get("snapshot", "")
    citation = citations.cite(ledger_row, p, base_url, "markdown").strip() if ledger_row else ""
    fine = f"<dt>Fine print</dt><dd>{esc(p.fine_print)}</dd>" if p.fine_print else ""
    prior = {k: v for k, v in record.model.prior.items() if k != "justification"}
    low, high = record.model_range
    return f"""
<div class="prediction-card" id="{esc(citations.anchor(p.id))}">
<h3 class="prediction-title"><a class="anchor" href="#{esc(citations.anchor(p.id))}">{esc(p.id)}</a> {esc(p.question)}</h3>
{status}{retro}
<div class="forecast-figure"><span class="probability">{pct(record.probability)}</span>
<span class="probability-label">P(YES) as of {esc(record.as_of)} (MCSE {record.probability_mcse:.3f})</span></div>
<p class="quantity">{esc(q.name)}: median {fmt_num(q.median)}, 90% interval {fmt_num(q.lo90)}–{fmt_num(q.hi90)}</p>
<p class="model-range">Model range: {pct(low)}–{pct(high)} across the model's structural alternatives.</p>
<p class="sensitivity">Prior sensitivity: P(YES) is {pct(s["weaker"])} under a weaker prior (half the pseudo-data),
{pct(s["stated"])} under the stated prior, {pct(s["stronger"])} under a stronger one (twice the pseudo-data).</p>
<dl class="prediction-meta">
<dt>Resolution criteria</dt><dd>{esc(p.resolution_criteria)}</dd>{fine}
<dt>Resolution source</dt><dd>{esc(p.resolution_source)}</dd>
<dt>Resolves by</dt><dd>{esc(p.resolves_by)} · published {esc(p.published)} · question version {p.version}</dd>
<dt>Model</dt><dd>{esc(p.model.family)} · prior {esc(", ".join(f"{k} = {v:g}" for k, v in prior.items()))}.
{esc(record.model.prior.get("justification", ""))}</dd>
<dt>Diagnostics</dt><dd>{esc(diagnostics_html(record.diagnostics))} · {record.evidence_count} evidence rows</dd>
</dl>
{versions_html(list(versions))}
<div class="cite-box"><strong>Cite this forecast</strong> (snapshot <code>{esc(snapshot)}</code>):
<pre>{esc(citation)}</pre>or run <code>forecast cite {esc(p.id)} --format bibtex</code>.</div>
</div>"""


def evidence_table(rows: pd.DataFrame, moves: dict[str, dict[str, float]]) -> str:
    """Every evidence row of a chapter, with how much it moved each prediction it informs."""
    body = []
    for _, row in rows.sort_values(["observed_on", "id"]).iterrows():
        informs = []
        for pid in row["predictions"]:
            move = moves.get(row["id"], {}).get(pid)
            shown = "" if move is None else f" ({move * 100:+.1f} pts)"
            informs.append(f'<a href="#{esc(citations.anchor(pid))}">{esc(pid)}</a>{shown}')
        body.append(
            f'<tr id="{esc(row["id"].lower())}"><td><code>{esc(row["id"])}</code></td><td>{esc(row["observed_on"])}</td>'
            f'<td>{esc(row["summary"])}</td><td>{source_html(row)}</td>'
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


def scenarios_table(priced: list[dict], correlation: float, justification: str) -> str:
    rows = []
    for item in priced:
        sc = item["scenario"]
        outcomes = ", ".join(f'<a href="#{esc(citations.anchor(k))}">{esc(k)}</a> {"YES" if v else "NO"}'
                             for k, v in sorted(sc.outcomes.items()))
        signposts = "".join(f"<li>{esc(s)}</li>" for s in sc.signposts)
        rows.append(f'<tr><td><strong>{esc(sc.name)}</strong><br>{esc(sc.description)}</td><td>{outcomes}</td>'
                    f'<td>{pct(item["probability"])}<br><small>independent: {pct(item["independent"])}</small></td>'
                    f'<td><ul>{signposts}</ul></td></tr>')
    assumption = ("The outcomes are simulated as independent."
                  if correlation == 0 else
                  f"The outcomes are simulated jointly with a one-factor Gaussian copula, correlation {correlation:g}.")
    return (f'<p class="scenario-assumption">{esc(assumption)} {esc(justification)}</p>'
            '<table class="scenario-table"><thead><tr><th>scenario</th><th>defined as</th><th>probability</th>'
            '<th>signposts</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")


def dashboard_table(predictions: list, records: dict[str, dict], previous: dict[str, float | None]) -> str:
    """Every prediction, grouped by chapter: probability, change since the previous snapshot, deadline."""
    out = []
    for chapter in sorted({p.chapter for p in predictions}):
        rows = []
        for p in sorted((p for p in predictions if p.chapter == chapter), key=lambda p: int(p.id.rsplit("-", 1)[1])):
            r = records[p.id]
            before = previous.get(p.id)
            change = "new" if before is None else f"{(r.probability - before) * 100:+.1f} pts"
            change_key = "-1e9" if before is None else f"{r.probability - before:.6f}"
            status = r.status if not r.resolution else f"resolved {r.resolution.outcome.upper()}"
            rows.append(
                f'<tr data-prediction="{esc(p.id)}"><td><a href="{esc(chapter)}.html#{esc(citations.anchor(p.id))}">'
                f'{esc(p.id)}</a></td><td>{esc(p.question)}</td><td data-sort="{r.probability:.6f}">'
                f'{pct(r.probability)}</td><td data-sort="{change_key}">{esc(change)}</td><td>{esc(p.resolves_by)}</td>'
                f'<td>{esc(status + (" (backtest)" if p.retrospective else ""))}</td></tr>')
        out.append(f'<h3 class="dashboard-chapter"><a href="{esc(chapter)}.html">{esc(chapter)}</a></h3>'
                   '<table class="dashboard-table sortable"><thead><tr><th>id</th><th>question</th><th>P(YES)</th>'
                   '<th>change</th><th>resolves by</th><th>status</th></tr></thead><tbody>'
                   + "".join(rows) + "</tbody></table>")
    return "".join(out)


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
    causes = {"evidence": "new or corrected evidence", "question": "question edited", "model": "model changed",
              "time": "time passed without the event", "resolution": "resolved", "code": "model code changed",
              "first": "first snapshot"}
    body = "".join(
        f'<tr><td>{esc(c["logged"])}</td><td><a href="{esc(predictions[c["prediction"]].chapter)}.html#'
        f'{citations.anchor(c["prediction"])}">{esc(c["prediction"])}</a></td>'
        f'<td>{esc(c["before"]["snapshot"])} → {esc(c["after"]["snapshot"])}</td>'
        f'<td>{pct(float(c["before"]["probability"]))} → {pct(float(c["after"]["probability"]))} '
        f'({c["delta"] * 100:+.1f} pts)</td><td>{esc(causes.get(c["cause"], c["cause"]))}'
        f'{": " + esc(", ".join(c["evidence"])) if c["evidence"] else ""}</td></tr>' for c in changes)
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
