"""DuckDB's bound on the local warehouse when the user sets none (docs/decisions/043)."""

from __future__ import annotations

import pytest

from tickit_runtime import duckdb_limits, envvars
from tickit_runtime.errors import SettingsError


@pytest.mark.parametrize(("machine_mib", "expected"), [(24 * 1024, "384MiB"), (3072, "384MiB"), (2048, "256MiB")])
def test_unset_the_bound_is_384_mib_or_an_eighth_of_a_small_machine(
    monkeypatch: pytest.MonkeyPatch, machine_mib: int, expected: str
) -> None:
    monkeypatch.setattr(duckdb_limits, "machine_memory_mib", lambda: machine_mib)
    assert duckdb_limits.memory_limit({}) == expected


def test_a_given_bound_is_kept_and_a_wrong_one_refused_naming_the_setting() -> None:
    assert duckdb_limits.memory_limit({envvars.DUCKDB_MEMORY_LIMIT: " 4 GB "}) == "4GB"
    with pytest.raises(SettingsError, match=envvars.DUCKDB_MEMORY_LIMIT):
        duckdb_limits.memory_limit({envvars.DUCKDB_MEMORY_LIMIT: "lots"})
