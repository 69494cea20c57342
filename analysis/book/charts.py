"""Altair charts for the book, rendered offline (Vega bundled in ``_static``) or to PNG/SVG."""

from __future__ import annotations

import html
import json

import altair as alt
import pandas as pd

PALETTE = {"line": "#1f4e79", "marker": "#c0504d", "deadline": "#7f7f7f", "yes": "#2e7d32", "no": "#b71c1c"}


def history_frame(record, evidence: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per as-of step of a prediction's replay, with the evidence that caused it."""
    rows = []
    lookup = {}
    if evidence is not None and len(evidence):
        lookup = {r["id"]: r for _, r in evidence.iterrows()}
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


def history_chart(record, evidence: pd.DataFrame | None = None, width: int = 560) -> alt.Chart:
    """Probability over time, a marker per evidence row (tooltip: summary, source, move),
    the resolve-by date, and the outcome once resolved."""
    frame = history_frame(record, evidence)
    base = alt.Chart(frame).encode(
        x=alt.X("as_of:T", title="as of"),
        y=alt.Y("probability:Q", title="P(YES)", scale=alt.Scale(domain=[0, 1])),
    )
    line = base.mark_line(interpolate="step-after", color=PALETTE["line"])
    points = base.mark_circle(size=70, color=PALETTE["marker"]).encode(tooltip=[
        alt.Tooltip("as_of:T", title="as of"), alt.Tooltip("evidence:N"), alt.Tooltip("summary:N"),
        alt.Tooltip("source:N"), alt.Tooltip("probability:Q", format=".3f"),
        alt.Tooltip("move:Q", format="+.3f", title="move")])
    layers = [line, points]
    marks = [{"date": pd.Timestamp(record.resolves_by), "label": "resolves by"}]
    deadline = alt.Chart(pd.DataFrame(marks)).mark_rule(strokeDash=[4, 4], color=PALETTE["deadline"]).encode(
        x="date:T", tooltip=[alt.Tooltip("label:N"), alt.Tooltip("date:T")])
    layers.append(deadline)
    resolution = record.resolution
    if resolution and resolution.outcome in ("yes", "no"):
        outcome = pd.DataFrame([{"date": pd.Timestamp(resolution.resolved_on),
                                 "value": 1.0 if resolution.outcome == "yes" else 0.0,
                                 "outcome": f"resolved {resolution.outcome.upper()}"}])
        layers.append(alt.Chart(outcome).mark_point(shape="diamond", size=160, filled=True,
                                                     color=PALETTE[resolution.outcome]).encode(
            x="date:T", y="value:Q", tooltip=["outcome:N", alt.Tooltip("date:T")]))
    return alt.layer(*layers).properties(width=width, height=220, title=f"{record.id}: forecast history")


def calibration_chart(scored: pd.DataFrame, bins: int = 5) -> alt.Chart:
    """Forecast probability bins against observed frequency, with the count in each bin."""
    frame = scored.copy()
    frame["bin"] = pd.cut(frame["probability"], [i / bins for i in range(bins + 1)], include_lowest=True)
    grouped = frame.groupby("bin", observed=True).agg(forecast=("probability", "mean"), observed=("outcome", "mean"),
                                                      count=("outcome", "size")).reset_index(drop=True)
    diagonal = alt.Chart(pd.DataFrame({"x": [0, 1], "y": [0, 1]})).mark_line(strokeDash=[4, 4], color="#999").encode(
        x="x:Q", y="y:Q")
    points = alt.Chart(grouped).mark_circle(color=PALETTE["line"]).encode(
        x=alt.X("forecast:Q", title="forecast probability", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("observed:Q", title="observed frequency", scale=alt.Scale(domain=[0, 1])),
        size=alt.Size("count:Q", title="questions"), tooltip=["forecast:Q", "observed:Q", "count:Q"])
    labels = points.mark_text(dy=-14).encode(text="count:Q")
    return alt.layer(diagonal, points, labels).properties(width=360, height=360, title="Calibration (backtests)")


def brier_chart(over_time: pd.DataFrame, references: dict[str, float]) -> alt.Chart:
    """Mean Brier score of the backtests by as-of month, with reference lines (scale 0-1, lower is better)."""
    line = alt.Chart(over_time).mark_line(point=True, color=PALETTE["line"]).encode(
        x=alt.X("month:T", title="as of"), y=alt.Y("brier:Q", title="mean Brier (0 best, 1 worst)",
                                                   scale=alt.Scale(domain=[0, 1])),
        tooltip=["month:T", alt.Tooltip("brier:Q", format=".3f"), "questions:Q"])
    refs = pd.DataFrame([{"label": k, "brier": v} for k, v in references.items()])
    rules = alt.Chart(refs).mark_rule(strokeDash=[4, 4]).encode(y="brier:Q", color=alt.Color("label:N", title=None),
                                                                tooltip=["label:N", "brier:Q"])
    return alt.layer(line, rules).properties(width=520, height=260, title="Brier score over time")


def _safe_json(spec: dict) -> str:
    """JSON that cannot close a <script> element or open markup, whatever the data holds."""
    text = json.dumps(spec, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def embed_html(chart: alt.Chart, element_id: str) -> str:
    """HTML that draws ``chart`` with the locally bundled Vega (no CDN), plus a text fallback."""
    spec = chart.to_dict()
    element = html.escape(element_id, quote=True)
    return (f'<div class="forecast-chart" id="{element}" role="img" aria-label="{html.escape(str(spec.get("title", "")))}">'
            f'</div><script type="text/javascript">(function(){{var spec={_safe_json(spec)};'
            f'if (window.vegaEmbed) {{ vegaEmbed("#{element}", spec, {{"actions": false, "renderer": "svg"}}); }}'
            f'}})();</script>')


def save_figure(chart: alt.Chart, path, fmt: str) -> None:
    """A static PNG or SVG for memos, through vl-convert (no browser, no network)."""
    import vl_convert as vlc

    from analysis.files.storage import atomic_write_bytes

    spec = chart.to_json()
    if fmt == "svg":
        data = vlc.vegalite_to_svg(spec).encode("utf-8")
    elif fmt == "png":
        data = vlc.vegalite_to_png(spec, scale=2)
    else:
        raise ValueError(f"unknown figure format {fmt!r} (expected png or svg)")
    atomic_write_bytes(path, data)
