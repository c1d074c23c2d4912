"""The ranking of the longest test files (tests/conftest.py) names files that exist: a renamed file would
silently lose its early start."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LONGEST_FIRST

TESTS = Path(__file__).parents[1]


def test_every_ranked_file_exists_once() -> None:
    found = {name: list(TESTS.rglob(name)) for name in LONGEST_FIRST}
    assert {name: len(paths) for name, paths in found.items()} == dict.fromkeys(LONGEST_FIRST, 1)
