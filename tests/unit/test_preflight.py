"""The test command's check of the machine's services: a missing one is named with how to get it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support import IN_CI

ROOT = Path(__file__).resolve().parents[2]


def _preflight(path: str, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = path
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "tests.preflight"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_missing_program_is_named_with_how_to_get_it_and_stops_ci(tmp_path: Path) -> None:
    # A PATH with neither psql nor chromium on it: as on a machine where they were never installed.
    done = _preflight(str(tmp_path), ci=True)
    assert done.returncode == 1
    assert "(trust auth for user postgres on 127.0.0.1:5432) is missing: psql is not on PATH" in done.stderr
    assert "apt-get install -y postgresql" in done.stderr
    assert "Chromium is missing" in done.stderr and "apt-get install -y chromium chromium-driver" in done.stderr
    assert "CI runs every test, so it stops here" in done.stderr
    assert "Traceback" not in done.stderr


def test_locally_a_missing_program_only_warns_that_its_tests_are_skipped(tmp_path: Path) -> None:
    done = _preflight(str(tmp_path), ci=False)
    assert done.returncode == 0
    assert "Chromium is missing" in done.stderr
    assert "will be skipped" in done.stderr


def test_nothing_is_said_when_everything_is_there() -> None:
    if not IN_CI:
        pytest.skip("only CI's machine is known to have every service")
    done = _preflight(os.environ["PATH"], ci=True)
    assert (done.returncode, done.stderr) == (0, "")
