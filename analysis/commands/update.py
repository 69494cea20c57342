"""``forecast update``: fit every prediction as of a date (in parallel, through the cache), append the
snapshots that earn a place in the ledger, and write the current forecasts. Nothing is written unless
every fit converged.

The ledger is quiet: a prediction gets a new snapshot only when its evidence, question or model changed,
or when time alone moved its probability by at least ``TIME_MOVE`` (0.5 percentage points). Every
snapshot carries a note saying which of these caused it.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from analysis.contract.errors import ModelError, Problem
from analysis.contract.layout import Layout
from analysis.contract.provenance import digest, model_code_digest, package_versions
from analysis.data.dataset import Dataset, load_valid, today
from analysis.files.storage import locked
from analysis.forecast import coherence, engine
from analysis.forecast.current import Current, read_current, write_current
from analysis.forecast.record import Forecast
from analysis.models import FAMILIES
from analysis.models.protocol import SamplerSettings
from analysis.stores import chain, ledger, updates, versions

TIME_MOVE = 0.005
FORECAST_INPUTS = ("predictions/*.yaml", "evidence/*.csv", "rosters/*.yaml", "resolutions.csv", "relations.yaml",
                   "coverage.csv", "corrections.csv")


def inputs_digest(root: Path) -> str:
    """A hash of everything a forecast depends on: the input data files, the model code and the package
    versions (not the ledger or other outputs). Cheap: no modelling import."""
    root = Path(root)
    files = sorted({p for pattern in FORECAST_INPUTS for p in root.glob(pattern)})
    return digest({"files": {str(p.relative_to(root)): digest(p.read_bytes().hex()) for p in files},
                   "code": model_code_digest(), "versions": package_versions()})


def recorded_as_of(root: Path) -> dt.date | None:
    """The as-of date of the last recorded update: what a build reproduces."""
    last = updates.last_update(root)
    return dt.date.fromisoformat(last["as_of"]) if last else None


def behind(root: Path) -> list[str]:
    """Why the ledger is behind the data (empty when it is current), without fitting anything."""
    last = updates.last_update(root)
    if last is None:
        return ["no update has been recorded in data/updates.csv"]
    if last["inputs_sha256"] != inputs_digest(root):
        return [f"the data, the model code or a package changed since the last update (as of {last['as_of']})"]
    return []


@dataclass(frozen=True)
class UpdateResult:
    as_of: dt.date
    records: dict[str, Forecast]
    refit: tuple[str, ...]
    written: tuple[dict, ...]  # ledger rows appended
    notes: tuple[dict, ...]
    skipped: bool = False  # nothing changed since the recorded update: returned at once


def snapshot_cause(previous: dict | None, note: dict | None, record: Forecast) -> str:
    """Why ``record`` deserves a new snapshot after ``previous`` (its prediction's latest ledger row), as
    ``;``-joined causes, or "" when it does not: evidence, question and model changes always do; time
    alone only when it moved the probability by at least TIME_MOVE. A previous snapshot without a note
    predates model digests, so its model counts as changed."""
    if previous is None:
        return "first"
    causes = []
    if int(previous["version"]) != record.version:
        causes.append("question")
    if note is None or note["model_sha256"] != record.model.digest:
        causes.append("model")
    if note is not None and previous["evidence_sha256"] != record.evidence_sha256:
        causes.append("evidence")
    if record.status == "resolved" and previous["as_of"] != record.as_of:
        causes.append("resolution")
    if not causes and abs(float(previous["probability"]) - record.probability) >= TIME_MOVE:
        causes.append("time" if FAMILIES[record.model.family].time_dependent else "code")
    return ";".join(causes)


def ledger_row(record: Forecast, now: dt.datetime) -> dict:
    q = record.quantity
    return {"prediction": record.id, "version": record.version, "as_of": record.as_of,
            "probability": f"{record.probability:.6f}", "mcse": f"{record.probability_mcse:.6f}", "quantity": q.name,
            "median": f"{q.median:.6g}", "lo90": f"{q.lo90:.6g}", "hi90": f"{q.hi90:.6g}",
            "evidence_count": record.evidence_count, "evidence_sha256": record.evidence_sha256,
            "family": record.model.family, "versions": _versions_json(),
            "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _versions_json() -> str:
    import json

    return json.dumps(package_versions(), sort_keys=True, separators=(",", ":"))


def _fit_all(data: Dataset, todo: list, as_of: dt.date, jobs: int, sampler: SamplerSettings, cache_folder,
             progress: bool) -> list[Forecast]:
    from joblib import Parallel, delayed

    tasks = [delayed(_worker)(data, p.id, as_of, sampler, cache_folder) for p in todo]
    done: list[Forecast] = []
    with _progress(progress, len(tasks)) as advance:
        if jobs == 1:
            for function, args, kwargs in tasks:
                done.append(function(*args, **kwargs))
                advance(done[-1].id)
        else:
            for record in Parallel(n_jobs=jobs, return_as="generator_unordered")(tasks):
                done.append(record)
                advance(record.id)
    return done


def _worker(data: Dataset, prediction_id: str, as_of: dt.date, sampler: SamplerSettings, cache_folder) -> Forecast:
    cache = engine.FitCache(Path(cache_folder) if cache_folder else None)
    return engine.forecast_prediction(data.predictions[prediction_id], data, as_of, sampler=sampler, cache=cache)


def run_update(root: Path, *, as_of: dt.date | None = None, jobs: int = 1, sampler: SamplerSettings | None = None,
               use_cache: bool = True, progress: bool = True, now: dt.datetime | None = None,
               force: bool = False) -> UpdateResult:
    """Forecast every prediction as of ``as_of`` (default today) and write the ledger and current file."""
    root = Path(root)
    layout = Layout.of(root)
    as_of = as_of or today()
    previous = read_current(root) if use_cache else None
    if not force and previous is not None and previous.as_of == as_of.isoformat() and not behind(root) \
            and previous.inputs_sha256 == inputs_digest(root):
        return UpdateResult(as_of, previous.records, (), (), (), skipped=True)
    data = load_valid(root)
    sampler = sampler or SamplerSettings()
    structure = lambda p: (FAMILIES[p.model.family].structure_key(p), p.id)  # noqa: E731
    ordered = sorted(data.predictions.values(), key=structure)
    keys = {p.id: engine.record_key(p, data, as_of, sampler) for p in ordered}
    old = previous.records if previous else {}
    records = {pid: old[pid] for pid in keys if pid in old and old[pid].key == keys[pid]}
    todo = [p for p in ordered if p.id not in records]
    if progress and records:
        print(f"  {len(records)} forecasts unchanged (same question, evidence, model and as-of date); "
              f"fitting {len(todo)}")
    cache_folder = str(layout.fit_cache) if use_cache else None
    records.update({r.id: r for r in _fit_all(data, todo, as_of, jobs, sampler, cache_folder, progress)})
    broken = coherence.violations(records, data.relations)
    if broken:
        raise ModelError("related questions disagree; no forecast was written:\n" + "\n".join(broken))
    now = now or dt.datetime.now(dt.timezone.utc)
    with locked(root):
        versions.record_new_versions(root, data.predictions, today())
        snapshots, written, notes = _append_snapshots(root, records, now, old, data)
        digest_now, last = inputs_digest(root), updates.last_update(root)
        if written or last is None or last["as_of"] != as_of.isoformat() or last["inputs_sha256"] != digest_now:
            updates.append_update(root, {"as_of": as_of.isoformat(), "run_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                         "inputs_sha256": digest_now, "predictions": len(records),
                                         "refit": len(todo), "snapshots": len(written)})
        chain.seal(root)  # the new snapshots, notes and update row join their chains
        write_current(root, Current(as_of.isoformat(), now.strftime("%Y-%m-%dT%H:%M:%SZ"), inputs_digest(root),
                                    records, snapshots))
    return UpdateResult(as_of, records, tuple(p.id for p in todo), tuple(written), tuple(notes))


def _append_snapshots(root: Path, records: dict[str, Forecast], now: dt.datetime,
                      published: dict[str, Forecast] | None = None, data: Dataset | None = None):
    """Under the lock: decide each prediction's cause, write the notes (the cause in words, against the
    records the previous update published when they are at hand), then the ledger rows."""
    from analysis.forecast.notes import explain

    rows = ledger.read_ledger(root)
    latest = ledger.latest_by_prediction(rows)
    notes = updates.read_notes(root)
    causes = {pid: snapshot_cause(latest.get(pid), notes.get(latest[pid]["snapshot"]) if pid in latest else None, r)
              for pid, r in records.items()}
    taken = {r["snapshot"] for r in rows} | set(notes)  # a noted id whose row never arrived is never reused
    new_notes = []
    for pid in sorted(p for p, cause in causes.items() if cause):
        record = records[pid]
        snap = ledger.snapshot_id(taken, pid, record.as_of)
        taken.add(snap)
        last_note = notes.get(latest[pid]["snapshot"]) if pid in latest else None
        before = (published or {}).get(pid)
        used = set(last_note["evidence_ids"].split(";")) - {""} if last_note else None
        said = (last_note or {}).get("note", "")  # model-log entries the previous note already named are not news
        log = {c.id: c.change for c in (data.model_log if data else []) if c.applies_to(data.predictions[pid])
               and c.id not in said} if data and pid in data.predictions else {}
        new_notes.append({"snapshot": snap, "cause": causes[pid], "evidence_ids": ";".join(record.evidence_ids),
                          "model_sha256": record.model.digest,
                          "note": explain(causes[pid], record, before, used, log)})
    updates.append_notes(root, new_notes)
    wanted = {n["snapshot"]: n for n in new_notes}
    proposals = [{**ledger_row(records[n["snapshot"].split("@")[0]], now), "snapshot": n["snapshot"]}
                 for n in new_notes]
    written = ledger.append_rows(root, proposals)
    snapshots = {pid: latest[pid]["snapshot"] for pid in latest if pid in records}
    snapshots.update({row["prediction"]: row["snapshot"] for row in written})
    return snapshots, written, [wanted[r["snapshot"]] for r in written]


class _progress:
    """A rich progress bar on a terminal or in CI logs (one line per fit when not a TTY)."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total, self.done = enabled, total, 0

    def __enter__(self):
        if not self.enabled:
            return lambda _label: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("fitting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            TextColumn("{task.description}"), disable=not os.isatty(2))
        self.bar.__enter__()
        self.task = self.bar.add_task("", total=self.total)

        def advance(label: str) -> None:
            self.done += 1
            self.bar.update(self.task, advance=1, description=label)
            if not os.isatty(2):
                print(f"  fitted {label} ({self.done}/{self.total})", flush=True)

        return advance

    def __exit__(self, *exc):
        if self.enabled:
            self.bar.__exit__(*exc)
        return False


def movers(result: UpdateResult, previous: dict[str, dict], threshold: float, notes: dict[str, dict] | None = None
           ) -> list[dict]:
    """Predictions whose probability moved more than ``threshold`` since their previous ledger row, with the
    evidence rows that are new since then (by the previous snapshot's note, or by date without one)."""
    out = []
    for pid, record in sorted(result.records.items()):
        before = previous.get(pid)
        if before is None:
            continue
        delta = record.probability - float(before["probability"])
        if abs(delta) > threshold:
            note = (notes or {}).get(before["snapshot"])
            if note is not None:
                behind_it = sorted(set(record.evidence_ids) - set(note["evidence_ids"].split(";")))
            else:
                behind_it = [h.evidence_id for h in record.history if h.as_of > before["as_of"] and h.evidence_id]
            out.append({"id": pid, "from": float(before["probability"]), "to": record.probability, "delta": delta,
                        "evidence": behind_it})
    return out


def freshness_warnings(records: dict[str, Forecast], as_of: dt.date) -> list[str]:
    """One line per chapter whose record is stale (reviewed more than STALE_DAYS before the as-of date), or
    has rows newer than its review, which count as events but not yet toward any rate."""
    from analysis.data.coverage import STALE_DAYS

    out = []
    for chapter in sorted({r.chapter for r in records.values()}):
        mine = [r for r in records.values() if r.chapter == chapter and r.status == "open"]
        reviewed = max((r.reviewed_through for r in mine), default="")
        late = sorted({i for r in mine for i in r.unreviewed})
        if not reviewed:
            continue
        days = (as_of - dt.date.fromisoformat(reviewed)).days
        if days > STALE_DAYS:
            out.append(f"{chapter}: the record was reviewed through {reviewed}, {days} days before {as_of} (more than "
                       f"{STALE_DAYS}): search for what happened since and record it with `forecast review {chapter} "
                       "--through DATE --searched ...`")
        if late:
            out.append(f"{chapter}: {len(late)} row(s) first public after the review date {reviewed} "
                       f"({', '.join(late)}) count as events but not toward any rate until `forecast review "
                       f"{chapter} --through DATE` covers them")
    return out


def check(root: Path) -> list[Problem]:
    """``forecast update --check``: problems when the ledger is behind the data (nothing is written)."""
    path = Layout.of(root).updates
    return chain.problems(root) + [Problem(str(path), 0, reason, "run `forecast update` (or `make book`) and commit "
                                           "data/") for reason in behind(root)]

