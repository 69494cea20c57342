"""Provenance: content digests and the package versions that produced a number.

One list of the packages whose versions can change a forecast, one digest function, and the digest of
the model code, so a cache key, a ledger row and an update's inputs hash all mean the same thing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from functools import lru_cache
from importlib import metadata
from pathlib import Path

PACKAGES = ("pymc", "pytensor", "nutpie", "arviz", "numpy", "scipy", "pandas")
MODEL_CODE = ("models", "forecast", "data")  # the layers whose code can change a forecast


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):  # numpy scalars
        return value.item()
    if isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and not isinstance(value, (str, bytes))):
        return [_plain(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def digest(payload) -> str:
    """sha256 of a canonical JSON form of ``payload`` (dates, numpy values and tuples allowed)."""
    return hashlib.sha256(json.dumps(_plain(payload), sort_keys=True).encode()).hexdigest()


def seed_from(payload) -> int:
    """An explicit seed derived from exactly what a computation depends on: the same inputs always
    give the same draws, and nothing else (no date, no global state) can move them."""
    return int(digest(payload)[:8], 16)


@lru_cache(maxsize=1)
def package_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


@lru_cache(maxsize=1)
def model_code_digest() -> str:
    """sha256 over the code of the layers that compute forecasts (a code edit invalidates cached fits)."""
    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for layer in MODEL_CODE:
        for path in sorted((package / layer).rglob("*.py")):
            h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@lru_cache(maxsize=1)
def page_code_digest() -> str:
    """sha256 over the code that renders a page's records (the book layer): a change re-executes the pages."""
    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted((package / "book").rglob("*.py")):
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()
