"""``add-evidence`` in a real terminal (a pseudo-terminal): missing options are asked for, a choice outside
the allowed values is asked again, and the row is written; a mistyped id gets "did you mean"."""

from __future__ import annotations

import os
import pty
import select
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def drive(argv: list[str], answers: list[bytes], env: dict, timeout: float = 120) -> str:
    """Run ``argv`` on a pseudo-terminal, answering each prompt in turn; return everything it printed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI, with a terminal as stdin and stdout
        os.environ.update(env)
        os.execv(argv[0], argv)
    out, pending, deadline = b"", list(answers), time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 5)
        if not ready:
            if pending:
                os.write(fd, pending.pop(0))
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if pending and chunk.rstrip().endswith((b":", b"]")):
            os.write(fd, pending.pop(0))
    os.waitpid(pid, 0)
    return out.decode("utf-8", errors="replace")


def test_missing_options_are_prompted_for_until_a_row_is_written(data_dir):
    argv = [str(BIN / "forecast"), "add-evidence", "tst-2", "--observed-on", "2026-01-10", "--summary",
            "Asked for in a terminal.", "--publisher", "Fixture Press", "--title", "A terminal-driven row",
            "--source-date", "2026-01-10", "--data", str(data_dir)]
    printed = drive(argv, [b"primary\r", b"maybe\r", b"for\r", b"cases\r", b"case\r", b"\r", b"\r", b"\r"],
                    {"FORECAST_TODAY": "2026-11-29"})
    assert "Traceback" not in printed and "AssertionError" not in printed, printed
    assert "stance: 'maybe' is not one of for, against, neutral" in printed
    assert "event: 'cases' is not one of case" in printed
    assert printed.strip().splitlines()[-1].strip() == "TST-E010", printed
    line = (data_dir / "evidence" / "sample.csv").read_text(encoding="utf-8").splitlines()[-1]
    assert line.startswith("TST-E010,TST-2,2026-01-10,2026-01-10,Asked for in a terminal.,Fixture Press,")
    assert ",primary," in line and ",for,,case," in line


def test_a_mistyped_id_gets_did_you_mean(run_cli, data_dir):
    result = run_cli("add-evidence", "TST-22", "--data", str(data_dir))
    assert result.code == 1
    assert "unknown prediction id 'TST-22'; did you mean TST-2" in result.err
    assert "PREDICTION_ID" not in result.err


def test_a_bad_flag_value_names_the_flag(run_cli, data_dir):
    result = run_cli("add-evidence", "TST-2", "--observed-on", "2026-02-30", "--summary", "s", "--publisher", "p",
                     "--title", "A fresh title", "--source-date", "2026-01-10", "--source-kind", "primary",
                     "--stance", "for", "--event", "case", "--data", str(data_dir))
    assert result.code == 1
    assert result.err.startswith("--observed-on: observed_on '2026-02-30' is not a valid date"), result.err
