"""The coverage record, ``data/coverage.csv``: through which date each chapter's record was reviewed, what
was searched and what was found.

A rate is events over exposure, and exposure is only as long as someone looked: a month nobody searched is
not a month without events. So every model that reads time as evidence (rates, survival, arrivals, an
event's hazard) stops its clock at the chapter's reviewed-through date. Rows first public after that date
are not dropped: they count toward a question's tally of what has already happened, but not toward the
rate, until a review covers their period. ``freshness`` says how far behind each chapter is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from analysis.contract.errors import Problem, quote
from analysis.data import evidence as ev

STALE_DAYS = 30  # a chapter whose record is older than this at the as-of date is stale: `update` warns


@dataclass(frozen=True)
class Review:
    """One coverage row: a chapter's record was searched, and is complete through ``reviewed_through``."""

    stream: str
    reviewed_through: dt.date
    searched: str
    found: str
    reviewed_on: dt.date


@dataclass(frozen=True)
class Freshness:
    """How current one chapter's record is at an as-of date."""

    stream: str
    reviewed_through: dt.date | None
    reviewed_on: dt.date | None
    searched: str
    found: str
    days_behind: int | None  # as-of date minus reviewed-through date
    unreviewed: tuple[str, ...]  # rows first public after the reviewed-through date (by the as-of date)

    @property
    def stale(self) -> bool:
        return self.days_behind is None or self.days_behind > STALE_DAYS

    def sentence(self) -> str:
        """What a card says about the record behind a forecast."""
        if self.reviewed_through is None:
            return "The record has never been reviewed: no coverage row."
        days = self.days_behind or 0
        text = (f"Record reviewed through {self.reviewed_through} ({days} day{'s' if days != 1 else ''} before the "
                "as-of date).")
        if self.unreviewed:
            text += (f" {len(self.unreviewed)} row(s) first public after that date ({', '.join(self.unreviewed)}) "
                     "count as events but not toward the rate until the record is reviewed past them.")
        return text


def reviews(frame: pd.DataFrame | None) -> list[Review]:
    if frame is None or not len(frame):
        return []
    return [Review(r["stream"], r["reviewed_through"], r["searched"], r["found"], r["reviewed_on"])
            for r in map(ev.row_dict, (row for _, row in frame.iterrows()))]


def latest(all_reviews: list[Review], stream: str) -> Review | None:
    """The review that reaches furthest for ``stream`` (the latest done, on a tie)."""
    mine = [r for r in all_reviews if r.stream == stream]
    return max(mine, key=lambda r: (r.reviewed_through, r.reviewed_on)) if mine else None


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{c: frame[c].map(ev.parse_date) for c in ("reviewed_through", "reviewed_on")})


def problems(frame: pd.DataFrame, chapters: set[str], today: dt.date) -> list[Problem]:
    """Cross-checks of coverage rows: a known chapter, a review on or after the date it reaches, none in the
    future."""
    out = []
    for row in map(ev.row_dict, (r for _, r in frame.iterrows())):
        where = (row["_file"], row[ev.LINE])
        if row["stream"] not in chapters:
            out.append(Problem(*where, f"stream {quote(row['stream'])} is not a chapter",
                               "a chapter slug: " + ", ".join(sorted(chapters))))
        through, on = row["reviewed_through"], row["reviewed_on"]
        if through and on and through > on:
            out.append(Problem(*where, f"reviewed_through {through} is after reviewed_on {on}",
                               "a review can only reach back from the day it was done"))
        if on and on > today:
            out.append(Problem(*where, f"reviewed_on {on} is after today ({today})", "a review that has happened"))
    return out


def freshness(all_reviews: list[Review], stream: str, rows: pd.DataFrame, as_of: dt.date) -> Freshness:
    """``stream``'s freshness at ``as_of``; ``rows`` are the evidence rows that move its forecasts."""
    review = latest(all_reviews, stream)
    if review is None:
        return Freshness(stream, None, None, "", "", None, ())
    late = [i for i, d in zip(rows["id"], rows["public_on"]) if d is not None and review.reviewed_through < d <= as_of]
    return Freshness(stream, review.reviewed_through, review.reviewed_on, review.searched, review.found,
                     (as_of - review.reviewed_through).days, tuple(sorted(late)))
