"""Every path the project reads or writes, in one place.

The book is the folder that holds the data folder: its pages, its build output and its caches all hang
off the data folder's parent, so a copy of the repository (or a test's scratch copy) is self-contained.
No other module joins a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

PREDICTIONS_DIR = "predictions"
EVIDENCE_DIR = "evidence"
ROSTERS_DIR = "rosters"
SCENARIOS_DIR = "scenarios"
RESOLUTIONS_FILE = "resolutions.csv"
LEDGER_FILE = "forecasts.csv"
VERSIONS_FILE = "question_versions.csv"
UPDATES_FILE = "updates.csv"
SNAPSHOT_NOTES_FILE = "snapshot_notes.csv"
CROWD_FILE = "crowd.csv"
COVERAGE_FILE = "coverage.csv"
CORRECTIONS_FILE = "corrections.csv"
MODEL_LOG_FILE = "model_log.yaml"
CHAIN_FILE = "chain.csv"
TEMPLATES_FILE = "templates.yaml"
TEMPLATE_FREEZE_FILE = "template_freeze.csv"
RELATIONS_FILE = "relations.yaml"
DATAPACKAGE_FILE = "datapackage.json"
LOCK_FILE = ".write.lock"
DEFAULT_JUPYTER_CACHE = "_build/.jupyter_cache"


@dataclass(frozen=True)
class Layout:
    """Where everything lives, for one data folder."""

    data: Path

    @classmethod
    def of(cls, data_root: Path | str) -> "Layout":
        return cls(Path(data_root).absolute())

    # -- inputs under data/ ------------------------------------------------------------------
    @property
    def predictions_dir(self) -> Path:
        return self.data / PREDICTIONS_DIR

    @property
    def evidence_dir(self) -> Path:
        return self.data / EVIDENCE_DIR

    @property
    def rosters_dir(self) -> Path:
        return self.data / ROSTERS_DIR

    @property
    def scenarios_dir(self) -> Path:
        return self.data / SCENARIOS_DIR

    @property
    def resolutions(self) -> Path:
        return self.data / RESOLUTIONS_FILE

    @property
    def crowd(self) -> Path:
        return self.data / CROWD_FILE

    @property
    def coverage(self) -> Path:
        return self.data / COVERAGE_FILE

    @property
    def corrections(self) -> Path:
        return self.data / CORRECTIONS_FILE

    @property
    def templates(self) -> Path:
        return self.data / TEMPLATES_FILE

    @property
    def template_freeze(self) -> Path:
        return self.data / TEMPLATE_FREEZE_FILE

    @property
    def chain(self) -> Path:
        """The hash chain over every append-only store's rows (tamper evidence)."""
        return self.data / CHAIN_FILE

    @property
    def model_log(self) -> Path:
        return self.data / MODEL_LOG_FILE

    @property
    def relations(self) -> Path:
        return self.data / RELATIONS_FILE

    def evidence_file(self, chapter: str) -> Path:
        return self.evidence_dir / f"{chapter}.csv"

    def predictions_file(self, chapter: str) -> Path:
        return self.predictions_dir / f"{chapter}.yaml"

    def scenarios_file(self, chapter: str) -> Path:
        return self.scenarios_dir / f"{chapter}.yaml"

    # -- stores under data/ (append-only, written by commands) --------------------------------
    @property
    def ledger(self) -> Path:
        return self.data / LEDGER_FILE

    @property
    def question_versions(self) -> Path:
        return self.data / VERSIONS_FILE

    @property
    def updates(self) -> Path:
        return self.data / UPDATES_FILE

    @property
    def snapshot_notes(self) -> Path:
        return self.data / SNAPSHOT_NOTES_FILE

    @property
    def datapackage(self) -> Path:
        return self.data / DATAPACKAGE_FILE

    @property
    def lock(self) -> Path:
        return self.data / LOCK_FILE

    # -- the book beside the data ------------------------------------------------------------
    @property
    def repo(self) -> Path:
        return self.data.parent

    @property
    def config(self) -> Path:
        return self.repo / "_config.yml"

    @property
    def pages(self) -> Path:
        return self.repo / "book"

    @property
    def static(self) -> Path:
        return self.repo / "_static"

    @property
    def vega_bundle(self) -> Path:
        return self.static / "vega-bundle.js"

    @property
    def build(self) -> Path:
        return self.repo / "_build"

    @property
    def html(self) -> Path:
        return self.build / "html"

    @property
    def generated(self) -> Path:
        """Files computed from the data (forecasts, backtest, fragments): rebuilt, never committed."""
        return self.build / "generated"

    @property
    def current(self) -> Path:
        return self.generated / "forecasts.json"

    @property
    def backtest(self) -> Path:
        return self.generated / "backtest.json"

    @property
    def references(self) -> Path:
        return self.generated / "references.bib"

    @property
    def page_fingerprints(self) -> Path:
        return self.generated / "page-fingerprints.json"

    @property
    def fragments(self) -> Path:
        """HTML fragments that kernel-free pages include."""
        return self.generated / "fragments"

    @property
    def downloads(self) -> Path:
        """Files the built site serves for download (copied by Sphinx from ``_static``-like extra path)."""
        return self.generated / "site"

    @property
    def fit_cache(self) -> Path:
        return self.repo / ".cache" / "fits"

    @cached_property
    def jupyter_cache(self) -> Path:
        """The cache ``jupyter-book`` executes into, as ``_config.yml`` sets it (``execute.cache``)."""
        import yaml

        try:
            config = yaml.safe_load(self.config.read_text(encoding="utf-8")) or {}
        except OSError:
            config = {}
        return self.repo / str((config.get("execute") or {}).get("cache") or DEFAULT_JUPYTER_CACHE)
