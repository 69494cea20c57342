"""``make bench``: speed and size figures, each a median over repeated runs, ratios taken within
this one run, written to bench/results.md with the date and the machine's core count.

Model engine: exact vs PyMC per conjugate family; nutpie vs PyMC's own sampler per non-conjugate
family; a 30-date as-of replay with compile-once vs one fresh fit.
Book: clean build, no-op rebuild, rebuild after one `forecast add-evidence` (P1, P2, P4), on a
temporary copy of the repository.
Reliability: validating a 100,000-row evidence file (time and peak memory).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
sys.path.insert(0, str(REPO))
LINES: list[str] = []


def say(line: str = "") -> None:
    print(line, flush=True)
    LINES.append(line)


def timed(fn, repeat: int = 5) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --- model engine -----------------------------------------------------------------------------

def bench_exact_vs_pymc() -> None:
    import nutpie
    import pymc as pm

    from analysis.families import beta_binomial, gamma_poisson, survival
    from analysis.families.base import SamplerSettings
    sys.path.insert(0, str(REPO / "tests"))
    from test_exact_vs_pymc import CASES

    say("## Exact posterior vs PyMC (conjugate families)")
    say("| family | exact (ms) | nutpie compile + sample (s) | pm.sample (s) | PyMC / exact |")
    say("|---|---|---|---|---|")
    for name, (module, inputs, prior, var) in CASES.items():
        exact = timed(lambda: module.fit(inputs, prior, seed=1, sampler=SamplerSettings(), label=name), repeat=20)

        def with_nutpie():
            compiled = nutpie.compile_pymc_model(module.pymc_model(inputs, prior))
            nutpie.sample(compiled, draws=1000, tune=1000, chains=4, seed=1, progress_bar=False, cores=1)

        def with_pymc():
            with module.pymc_model(inputs, prior):
                pm.sample(draws=1000, tune=1000, chains=2, cores=1, random_seed=1, progressbar=False,
                          compute_convergence_checks=False)

        nut = timed(with_nutpie, repeat=3)
        pym = timed(with_pymc, repeat=3)
        say(f"| {name} | {exact * 1e3:.2f} | {nut:.2f} | {pym:.2f} | {min(nut, pym) / exact:,.0f}x |")
    say()


def _weibull_case(n: int = 24, seed: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    age = rng.uniform(0.2, 5, n)
    t = rng.weibull(0.9, n) / 0.3
    observed = t <= age
    times = np.where(observed, t, age)
    return {"entities": [str(i) for i in range(n)], "times": times.tolist(), "observed": observed.astype(int).tolist(),
            "age_now": age[~observed].tolist(), "risk_from": age[~observed].tolist(),
            "risk_to": (age[~observed] + 1).tolist(), "need": 2, "form": "weibull"}


NUTS_CASES = {
    "survival (weibull)": ("survival", _weibull_case(), {"alpha": 2.0, "beta": 6.0, "shape_mu": 0.0, "shape_sigma": 0.4}),
    "logistic_trend (binomial)": ("logistic_trend", {"t": [-1.5, -1, -0.5, 0, 0.5], "y": [0.5] * 5,
                                                     "k": [30, 35, 44, 51, 58], "n": [100] * 5,
                                                     "observation": "binomial", "horizon": 1.5, "threshold": 0.6,
                                                     "direction": "above"},
                                  {"intercept_mu": 0.0, "intercept_sigma": 1.0, "slope_mu": 0.0, "slope_sigma": 1.0}),
    "gamma_poisson (pooled)": ("gamma_poisson", {"events": 4, "exposure": 3.0, "horizon": 1.0, "need": 2, "pooled": True,
                                                 "categories": ["a", "b", "c"], "category_events": [4, 9, 1],
                                                 "target_index": 0}, {"alpha": 2.0, "beta": 1.0}),
}


def _pymc_model_for(family: str, inputs: dict, prior: dict):
    """The same model as the family's compiled one, at its padded size, for pm.sample."""
    from analysis.families import base, gamma_poisson, logistic_trend, survival

    if family == "survival":
        size = base.bucket(len(inputs["times"]))
        model = survival._weibull_model(size)
        data = {"alpha": prior["alpha"], "beta": prior["beta"], "shape_mu": prior["shape_mu"],
                "shape_sigma": prior["shape_sigma"], "t": base.pad(inputs["times"], size, 1.0),
                "d": base.pad(inputs["observed"], size), "w": base.pad(np.ones(len(inputs["times"])), size)}
    elif family == "logistic_trend":
        size = base.bucket(len(inputs["t"]))
        model = logistic_trend._model(size, "binomial")
        data = {**{k: prior[k] for k in logistic_trend.PRIOR_KEYS}, "t": base.pad(inputs["t"], size),
                "k": base.pad(inputs["k"], size), "n": base.pad(inputs["n"], size),
                "w": base.pad(np.ones(len(inputs["t"])), size)}
    else:
        size = base.bucket(len(inputs["categories"]), smallest=8)
        model = gamma_poisson._pooled_model(size)
        data = {"alpha": prior["alpha"], "beta": prior["beta"], "exposure": inputs["exposure"],
                "counts": base.pad(inputs["category_events"], size),
                "weights": base.pad(np.ones(len(inputs["categories"])), size)}
    import pymc as pm

    with model:
        pm.set_data(data)
    return model


def bench_nutpie_vs_pymc() -> None:
    import pymc as pm

    from analysis.families import FAMILIES, base
    from analysis.families.base import SamplerSettings

    say("## nutpie (compiled once) vs PyMC's sampler (non-conjugate families)")
    say("| family | nutpie first fit, incl. compile (s) | nutpie refit (s) | pm.sample each fit (s) | pm.sample / nutpie refit |")
    say("|---|---|---|---|---|")
    sampler = SamplerSettings()
    for label, (family, inputs, prior) in NUTS_CASES.items():
        module = FAMILIES[family]
        base.clear_compiled()
        start = time.perf_counter()
        module.fit(inputs, prior, seed=1, sampler=sampler, label=label)
        first = time.perf_counter() - start
        refit = timed(lambda: module.fit(inputs, prior, seed=2, sampler=sampler, label=label), repeat=5)

        def with_pymc():
            with _pymc_model_for(family, inputs, prior):
                pm.sample(draws=1000, tune=1000, chains=2, cores=1, random_seed=1, progressbar=False,
                          target_accept=0.95, compute_convergence_checks=False)

        pym = timed(with_pymc, repeat=3)
        say(f"| {label} | {first:.2f} | {refit:.3f} | {pym:.2f} | {pym / refit:,.0f}x |")
    say()


def bench_replay() -> None:
    from analysis.families import base, survival
    from analysis.families.base import SamplerSettings

    say("## As-of replay: 30 dates with compile-once vs one fresh fit (Weibull survival)")
    inputs, prior = NUTS_CASES["survival (weibull)"][1], NUTS_CASES["survival (weibull)"][2]
    sampler = SamplerSettings()
    fresh_times, replay_times = [], []
    for _ in range(3):
        base.clear_compiled()
        start = time.perf_counter()
        survival.fit(inputs, prior, seed=1, sampler=sampler, label="fresh")
        fresh_times.append(time.perf_counter() - start)
        base.clear_compiled()
        start = time.perf_counter()
        for k in range(30):  # 30 as-of dates: growing evidence, one compiled model
            n = 6 + (len(inputs["times"]) - 6) * k // 29
            sub = dict(inputs, times=inputs["times"][:n], observed=inputs["observed"][:n])
            survival.fit(sub, prior, seed=k, sampler=sampler, label=f"replay-{k}")
        replay_times.append(time.perf_counter() - start)
    fresh, replay = statistics.median(fresh_times), statistics.median(replay_times)
    say(f"- one fresh fit (compile + sample): {fresh:.2f} s (median of 3)")
    say(f"- 30-date replay, compiled once: {replay:.2f} s (median of 3)")
    say(f"- **ratio replay / fresh = {replay / fresh:.2f}** (target <= 1.5)")
    say()


# --- reliability: a large evidence file ----------------------------------------------------------

def bench_large_file() -> None:
    say("## Validating a 100,000-row evidence file")
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        shutil.copytree(REPO / "tests" / "fixtures" / "data", data)
        path = data / "evidence" / "sample.csv"
        header, *rows = path.read_text().splitlines()
        template = [r for r in rows if r.startswith("TST-E007,")][0]
        lines = [header] + [template.replace("TST-E007,", f"TST-E{i:06d},", 1) for i in range(1, 100_001)]
        path.write_text("\n".join(lines) + "\n")
        script = ("import resource, time; from analysis import dataset as ds; t=time.perf_counter(); "
                  "d=ds.load(r'%s'); print(len(d.evidence), len(d.problems), time.perf_counter()-t, "
                  "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)" % data)
        results = []
        for _ in range(3):
            out = subprocess.run([str(BIN / "python"), "-c", script], capture_output=True, text=True,
                                 env={**os.environ, "FORECAST_TODAY": "2026-11-29"}, check=True)
            results.append([float(x) for x in out.stdout.split()])
        rows_read, problems = int(results[0][0]), int(results[0][1])
        seconds = statistics.median(r[2] for r in results)
        memory = statistics.median(r[3] for r in results)
        say(f"- rows: {rows_read:,}; problems: {problems}; validate time {seconds:.1f} s (median of 3); "
            f"peak memory {memory:.0f} MiB")
    say()


# --- the book -----------------------------------------------------------------------------------

def _copy_repo(target: Path) -> None:
    ignore = shutil.ignore_patterns(".venv", "_build", ".cache", ".git", "test-artifacts", ".pytest_cache",
                                    ".hypothesis", "__pycache__", "bench")
    shutil.copytree(REPO, target, ignore=ignore)


def _build(repo: Path) -> float:
    """Wall time of `make book`, the command a reader runs (the copy shares this checkout's .venv)."""
    start = time.perf_counter()
    subprocess.run(["make", "book"], cwd=repo, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _fit_time(repo: Path, prediction_ids: list[str]) -> float:
    """Wall time to fit just these predictions from scratch (no fit cache), in one process."""
    script = ("import time; from analysis import dataset as ds, engine; from analysis.families.base import "
              "SamplerSettings; d=ds.load_valid('data'); t=time.perf_counter(); "
              f"[engine.forecast_prediction(d.predictions[i], d, sampler=SamplerSettings(), cache=engine.FitCache(None)) for i in {prediction_ids!r}]; "
              "print(time.perf_counter()-t)")
    out = subprocess.run([str(BIN / "python"), "-c", script], cwd=repo, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def bench_book() -> None:
    say("## The book: clean build, no-op rebuild, rebuild after one evidence row")
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch) / "book"
        _copy_repo(repo)
        (repo / ".venv").symlink_to(REPO / ".venv")
        clean = _build(repo)
        noop = statistics.median(_build(repo) for _ in range(3))
        target = "EXP-2"
        subprocess.run([str(BIN / "forecast"), "add-evidence", target, "--observed-on", "2026-11-28",
                        "--summary", "Benchmark row (temporary copy only).", "--publisher", "Benchmark",
                        "--title", "Benchmark row", "--source-date", "2026-11-28", "--lr", "1.2", "--reason",
                        "benchmark", "--logged-on", "2026-11-29"], cwd=repo, check=True, stdout=subprocess.DEVNULL)
        after_row = _build(repo)
        fit = _fit_time(repo, [target])
    p1 = after_row / (noop + 1.2 * fit)
    say(f"- clean build (empty caches): {clean:.1f} s; **P4 target <= 180 s: {'met' if clean <= 180 else 'NOT met'}**")
    say(f"- no-op rebuild: {noop:.1f} s (median of 3); **P2 = no-op / clean = {noop / clean:.2f}** (target <= 0.10)")
    say(f"- rebuild after one row informing {target}: {after_row:.1f} s; fit time of {target}: {fit:.2f} s")
    say(f"- **P1 = rebuild / (no-op + 1.2 x fit) = {p1:.2f}** (target <= 1.00)")
    say()


def main() -> None:
    only = set(sys.argv[1:])
    say(f"# Benchmark results\n\nRun {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores "
        f"({os.uname().machine}). Figures are medians over repeated runs; ratios are taken within this run.\n")
    for name, fn in [("engine", bench_exact_vs_pymc), ("nuts", bench_nutpie_vs_pymc), ("replay", bench_replay),
                     ("large", bench_large_file), ("book", bench_book)]:
        if not only or name in only:
            fn()
    if not only:
        (REPO / "bench" / "results.md").write_text("\n".join(LINES) + "\n")
        print(f"wrote {REPO / 'bench' / 'results.md'}")


if __name__ == "__main__":
    main()
