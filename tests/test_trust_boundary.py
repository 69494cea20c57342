"""The data folder is a trust boundary: links, special files and paths outside it are refused before
they are opened, and error messages quote user content only short and escaped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import snapshot

BIN = Path(sys.executable).parent
ENV = {**os.environ, "FORECAST_TODAY": "2026-11-29"}
SECRET = "SECRET_TOKEN=abc123"


def forecast(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "forecast"), *args], env=ENV, capture_output=True, text=True, timeout=timeout)


def outside_secret(tmp_path: Path) -> Path:
    (tmp_path / "outside").mkdir()
    secret = tmp_path / "outside" / "secret.txt"
    secret.write_text(SECRET + "\nmore,secret,stuff\n", encoding="utf-8")
    return secret


def test_a_link_to_a_file_outside_is_refused_and_its_content_never_printed(data_dir, tmp_path):
    secret = outside_secret(tmp_path)
    (data_dir / "evidence" / "zz-link.csv").symlink_to(os.path.relpath(secret, data_dir / "evidence"))
    (data_dir / "predictions" / "zz-link.yaml").symlink_to(secret)
    path = data_dir / "evidence" / "sample.csv"  # and a real problem elsewhere, which is still reported
    path.write_text(path.read_text(encoding="utf-8").replace("TST-E007,TST-4,", "TST-E007,TST-99,"), encoding="utf-8")
    result = forecast("validate", "--data", str(data_dir))
    assert result.returncode == 1
    assert "data/evidence/zz-link.csv: symbolic link not allowed (expected a regular file inside data/)" in result.stderr
    assert "data/predictions/zz-link.yaml: symbolic link not allowed" in result.stderr
    assert "unknown prediction id 'TST-99'" in result.stderr
    assert "SECRET" not in result.stdout + result.stderr and "abc123" not in result.stdout + result.stderr


def test_a_fifo_does_not_hang_validation(data_dir):
    os.mkfifo(data_dir / "evidence" / "zz-pipe.csv")
    start = time.perf_counter()
    result = forecast("validate", "--data", str(data_dir), timeout=20)
    assert time.perf_counter() - start < 15
    assert result.returncode == 1
    assert "data/evidence/zz-pipe.csv: not a regular file" in result.stderr


def test_add_evidence_refuses_to_write_through_a_link(data_dir, tmp_path):
    secret = outside_secret(tmp_path)
    target = data_dir / "evidence" / "sample.csv"
    outside_copy = tmp_path / "outside" / "sample.csv"
    outside_copy.write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(outside_copy)
    before, outside_before = snapshot(data_dir), outside_copy.read_bytes()
    result = forecast("add-evidence", "TST-2", "--observed-on", "2026-01-10", "--summary", "x", "--publisher", "P",
                      "--title", "T", "--source-date", "2026-01-10", "--source-kind", "primary", "--event", "case",
                      "--stance", "for", "--data", str(data_dir))
    assert result.returncode == 1 and "symbolic link not allowed" in result.stderr
    assert outside_copy.read_bytes() == outside_before and snapshot(data_dir) == before
    assert secret.read_text(encoding="utf-8").startswith(SECRET)


def test_a_linked_data_folder_is_refused(data_dir, tmp_path):
    link = tmp_path / "linked-data"
    link.symlink_to(data_dir, target_is_directory=True)
    result = forecast("validate", "--data", str(link))
    assert result.returncode == 1 and "symbolic link not allowed" in result.stderr


def test_long_user_content_is_quoted_short_and_escaped(data_dir):
    header = "id,prediction," + "X" * 500 + "\x1b[31m"
    (data_dir / "evidence" / "zz-long.csv").write_text(header + "\n", encoding="utf-8")
    result = forecast("validate", "--data", str(data_dir))
    assert result.returncode == 1
    line = next(l for l in result.stderr.splitlines() if "unknown column" in l)
    assert "X" * 61 not in line and "…" in line and "\x1b" not in line
