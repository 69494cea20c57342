"""A cheap digest of everything a forecast depends on (data files, model code, package versions),
so that an update with nothing new returns at once without importing the modelling stack."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

PACKAGES = ("pymc", "pytensor", "nutpie", "arviz", "numpy", "scipy", "pandas")


def inputs_digest(data_root: Path) -> str:
    data_root = Path(data_root)
    h = hashlib.sha256()
    code = Path(__file__).resolve().parent
    files = sorted(p for p in data_root.rglob("*") if p.is_file() and not p.name.endswith((".lock", ".tmp")))
    files += sorted(code.rglob("*.py"))
    for path in files:
        h.update(str(path.relative_to(data_root if path.is_relative_to(data_root) else code.parent)).encode())
        h.update(b"\0" + path.read_bytes() + b"\0")
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    h.update(json.dumps(versions, sort_keys=True).encode())
    return h.hexdigest()


def stored_digest(current_json: Path) -> str | None:
    try:
        return json.loads(Path(current_json).read_text()).get("inputs_sha256")
    except (OSError, ValueError):
        return None
