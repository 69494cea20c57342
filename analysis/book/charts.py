"""Altair charts for the book, rendered offline (Vega bundled in ``_static``) or to PNG/SVG.

Colours are the Okabe-Ito palette, safe for the common forms of colour blindness, and every chart has a
text alternative: a sentence that says what it shows (``history_summary``), used as its label.
"""

from __future__ import annotations

import html
import json

import altair as alt
import pandas as pd

# Okabe-Ito: distinguishable with protanopia, deuteranopia and tritanopia.
PALETTE = {"line": "#0072B2", "marker": "#D55E00", "deadline": "#666666", "yes": "#009E73", "no": "#CC79A7",
           "band": "#56B4E9", "diagonal": "#999999"}


def history_frame(record, evidence: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per as-of step of a prediction's replay, with the evidence that caused it."""
    lookup = {r["id"]: r for _, r in evidence.iterrows()} if evidence is not None and len(evidence) else {}
    rows = []
    for step in record.history:
        row = lookup.get(step.evidence_id)
        rows.append({
            "as_of": pd.Timestamp(step.as_of), "probability": step.probability,
            "move": 0.0 if step.move is None else step.move,
            "evidence": step.evidence_id or "start (prior only)",
            "summary": "" if row is None else str(row["summary"]),
            "source": "" if row is None else f"{row['source_publisher']}: {row['source_title']} ({row['source_date']})",
        })
    return pd.DataFrame(rows)


def history_summary(record) -> str:
    """The chart's text alternative: where the forecast started and ended and what moved it most."""
    steps = record.history
    if not steps:
        return f"{record.id}: no history."
    first = steps[0]
    moves = [s for s in steps if s.move is not None and s.evidence_id]
    biggest = max(moves, key=lambda s: abs(s.move), default=None)
    text = (f"Forecast history of {record.id}: P(YES) was {first.probability:.0%} on {first.as_of} and is "
            f"{record.probability:.0%} as of {record.as_of} (model range {record.model_range[0]:.0%} to "
            f"{record.model_range[1]:.0%}), over {len(moves)} evidence step{'s' if len(moves) != 1 else ''}.")
    if biggest is not None:
        text += f" The largest move, {biggest.move * 100:+.1f} points, came from {biggest.evidence_id} on {biggest.as_of}."
    return text + f" The question resolves by {record.resolves_by}."


def now_frame(record) -> pd.DataFrame:
    """The forecast at its as-of date, with the model range as its band: where every chart ends."""
    low, high = record.model_range
    return pd.DataFrame([{"as_of": pd.Timestamp(record.as_of), "probability": record.probability, "low": low,
                          "high": high, "label": f"now ({record.as_of}): {record.probability:.0%}, model range "
                                                 f"{low:.0%} to {high:.0%}"}])


def snapshot_frame(snapshots: list[dict]) -> pd.DataFrame:
    """The ledger's published snapshots: the numbers a citation can point to."""
    return pd.DataFrame([{"as_of": pd.Timestamp(r["as_of"]), "probability": float(r["probability"]),
                          "snapshot": r["snapshot"]} for r in snapshots])


def history_chart(record, evidence: pd.DataFrame | None = None, width: int | str = 560,
                  snapshots: list[dict] | None = None) -> alt.Chart:
    """Probability over time: the evidence replay (a marker per row; tooltip: summary, source, move) carried to
    the as-of date, the ledger's snapshots, a "now" marker with the model range as its band, the resolve-by
    date, and the outcome once resolved."""
    frame = history_frame(record, evidence)
    now = now_frame(record)
    if len(frame) and frame["as_of"].iloc[-1] < now["as_of"].iloc[0]:  # the line runs on to the as-of date
        frame = pd.concat([frame, pd.DataFrame([{"as_of": now["as_of"].iloc[0], "probability": record.probability,
                                                 "move": 0.0, "evidence": "as of (time and review)", "summary": "",
                                                 "source": ""}])], ignore_index=True)
    base = alt.Chart(frame).encode(
        x=alt.X("as_of:T", title="as of"),
        y=alt.Y("probability:Q", title="P(YES)", scale=alt.Scale(domain=[0, 1])),
    )
    line = base.mark_line(interpolate="step-after", color=PALETTE["line"])
    points = base.mark_circle(size=70, color=PALETTE["marker"]).encode(tooltip=[
        alt.Tooltip("as_of:T", title="as of"), alt.Tooltip("evidence:N"), alt.Tooltip("summary:N"),
        alt.Tooltip("source:N"), alt.Tooltip("probability:Q", format=".3f"),
        alt.Tooltip("move:Q", format="+.3f", title="move")])
    band = alt.Chart(now).mark_rule(color=PALETTE["band"], strokeWidth=8, opacity=0.6).encode(
        x="as_of:T", y=alt.Y("low:Q", scale=alt.Scale(domain=[0, 1])), y2="high:Q", tooltip=[alt.Tooltip("label:N")])
    mark_now = alt.Chart(now).mark_point(shape="triangle-down", size=120, filled=True, color=PALETTE["line"]).encode(
        x="as_of:T", y="probability:Q", tooltip=[alt.Tooltip("label:N")])
    layers = [band, line, points, mark_now]
    if snapshots:
        layers.append(alt.Chart(snapshot_frame(snapshots)).mark_square(size=40, color=PALETTE["deadline"]).encode(
            x="as_of:T", y="probability:Q", tooltip=[alt.Tooltip("snapshot:N"), alt.Tooltip("as_of:T"),
                                                     alt.Tooltip("probability:Q", format=".3f")]))
    marks = [{"date": pd.Timestamp(record.resolves_by), "label": "resolves by"}]
    layers.append(alt.Chart(pd.DataFrame(marks)).mark_rule(strokeDash=[4, 4], color=PALETTE["deadline"]).encode(
        x="date:T", tooltip=[alt.Tooltip("label:N"), alt.Tooltip("date:T")]))
    resolution = record.resolution
    if resolution and resolution.outcome in ("yes", "no"):
        outcome = pd.DataFrame([{"date": pd.Timestamp(resolution.resolved_on),
                                 "value": 1.0 if resolution.outcome == "yes" else 0.0,
                                 "outcome": f"resolved {resolution.outcome.upper()}"}])
        layers.append(alt.Chart(outcome).mark_point(shape="diamond", size=160, filled=True,
                                                     color=PALETTE[resolution.outcome]).encode(
            x="date:T", y="value:Q", tooltip=["outcome:N", alt.Tooltip("date:T")]))
    return alt.layer(*layers).properties(width=width, height=220, title=f"{record.id}: forecast history",
                                         description=history_summary(record))


def calibration_chart(bins: list[dict], title: str = "Calibration", size: int = 360) -> alt.Chart:
    """Mean forecast against observed frequency per bin, with the band a calibrated forecaster's observed
    frequency would fall in (95%, binomial) and the count in each bin written small, inside the plot."""
    frame = pd.DataFrame(bins)
    frame["label"] = frame.apply(lambda r: f"{int(r['yes'])}/{int(r['count'])}", axis=1)
    x = alt.X("forecast:Q", title="mean forecast in bin", scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("observed:Q", title="share resolved YES", scale=alt.Scale(domain=[0, 1]))
    diagonal = alt.Chart(pd.DataFrame({"forecast": [0, 1], "observed": [0, 1]})).mark_line(
        strokeDash=[4, 4], color=PALETTE["diagonal"]).encode(x=x, y=y)
    bands = alt.Chart(frame).mark_rule(color=PALETTE["band"], strokeWidth=6, opacity=0.5).encode(
        x=x, y=alt.Y("band_low:Q", scale=alt.Scale(domain=[0, 1])), y2="band_high:Q")
    points = alt.Chart(frame).mark_circle(size=60, color=PALETTE["line"]).encode(
        x=x, y=y, tooltip=["bin:N", "count:Q", "yes:Q", alt.Tooltip("forecast:Q", format=".2f"),
                           alt.Tooltip("observed:Q", format=".2f"), alt.Tooltip("band_low:Q", format=".2f"),
                           alt.Tooltip("band_high:Q", format=".2f")])
    labels = alt.Chart(frame).mark_text(dx=12, dy=-8, fontSize=10, align="left", color="#333333").encode(
        x=x, y=y, text="label:N")
    summary = "; ".join(f"{b['bin']}: {b['yes']} of {b['count']} YES (mean forecast {b['forecast']:.2f})" for b in bins)
    return alt.layer(bands, diagonal, points, labels).properties(
        width=size, height=size, title=title, description=f"{title}. {summary}.")


def discrimination_chart(yes: list[float], no: list[float], width: int = 420) -> alt.Chart:
    """The forecasts given to questions that resolved YES against those that resolved NO (a model with
    resolution separates the two)."""
    frame = pd.DataFrame([{"forecast": p, "outcome": "resolved YES"} for p in yes]
                         + [{"forecast": p, "outcome": "resolved NO"} for p in no])
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")  # noqa: E731
    return alt.Chart(frame).mark_tick(thickness=2, size=22).encode(
        x=alt.X("forecast:Q", title="forecast probability", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("outcome:N", title=None),
        color=alt.Color("outcome:N", scale=alt.Scale(domain=["resolved YES", "resolved NO"],
                                                     range=[PALETTE["yes"], PALETTE["no"]]), legend=None),
    ).properties(width=width, height=90, title="Discrimination", description=(
        f"Discrimination: mean forecast {mean(yes):.2f} for the {len(yes)} questions that resolved YES and "
        f"{mean(no):.2f} for the {len(no)} that resolved NO."))


def _safe_json(spec: dict) -> str:
    """JSON that cannot close a <script> element or open markup, whatever the data holds."""
    text = json.dumps(spec, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def embed_html(chart: alt.Chart, element_id: str) -> str:
    """HTML that draws ``chart`` with the locally bundled Vega (no CDN); its description is the text
    alternative, given to screen readers as the figure's label and shown as a caption."""
    spec = chart.to_dict()
    element = html.escape(element_id, quote=True)
    description = html.escape(str(spec.get("description") or spec.get("title") or ""), quote=True)
    return (f'<figure class="forecast-figure-chart"><div class="forecast-chart" id="{element}" role="img" '
            f'aria-label="{description}"></div><figcaption class="chart-alt">{description}</figcaption></figure>'
            f'<script type="text/javascript">(function(){{var spec={_safe_json(spec)};'
            f'if (window.vegaEmbed) {{ vegaEmbed("#{element}", spec, {{"actions": false, "renderer": "svg"}}); }}'
            f'}})();</script>')


def save_figure(chart: alt.Chart, path, fmt: str) -> None:
    """A static PNG or SVG for memos, through vl-convert (no browser, no network)."""
    from analysis.files.storage import atomic_write_bytes

    atomic_write_bytes(path, figure_bytes(chart, fmt))


def figure_bytes(chart: alt.Chart, fmt: str) -> bytes:
    import vl_convert as vlc

    spec = chart.to_json()
    if fmt == "svg":
        return vlc.vegalite_to_svg(spec).encode("utf-8")
    if fmt == "png":
        return vlc.vegalite_to_png(spec, scale=2)
    raise ValueError(f"unknown figure format {fmt!r} (expected png or svg)")
