"""The staging decision for a PostgreSQL server that is not on this machine, and which dbt target a command uses.

A server on another host cannot run here, so that case drives `decide` with a probe answering as such a
server does: it finds none of the files, not even a copy written for it. The cases a local server
answers are tested against the real one in tests/integration/test_postgres_bad_input.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from tickit_platform.commands.dbt import _dbt_target
from tickit_platform.data.postgres_staging import PostgresAddress, PostgresStagingError, decide, raw_file_names
from tickit_platform.data.synth import generate
from tickit_runtime.errors import TickitError


def _remote_server(folder: Path, names: Sequence[str]) -> Mapping[str, str | None]:
    """pg_read_binary_file(path, 0, 1, missing_ok => true) on another host: NULL for every local path."""
    return dict.fromkeys(names)


def test_a_server_that_does_not_see_this_machines_files_stops_the_run_saying_what_it_needs(tmp_path: Path) -> None:
    raw_dir = generate(tmp_path / "raw", scale=0.001, seed=3)
    staging = tmp_path / "staging"
    staging.mkdir()
    address = PostgresAddress(host="db.example.org", dbname="tickit")
    with pytest.raises(PostgresStagingError) as caught:
        decide(raw_dir, raw_file_names(), _remote_server, [staging], address)
    assert isinstance(caught.value, TickitError)  # the CLI prints it as a message, not a traceback
    message = str(caught.value)
    assert "the PostgreSQL server at postgres@db.example.org:5432/tickit does not see this machine's files" in message
    assert f"TICKIT_RAW_DIR ({raw_dir})" in message and "pg_read_server_files" in message
    assert list(staging.iterdir()) == []  # the copy made to find out is gone


@pytest.mark.parametrize(
    ("args", "target"),
    [
        (["run-operation", "load_raw_tables", "--target", "postgres"], "postgres"),
        (["run-operation", "load_raw_tables", "-t", "local"], "local"),
        (["--target=postgres", "run-operation", "load_raw_tables"], "postgres"),
        (["run-operation", "load_raw_tables"], None),
    ],
)
def test_dbts_own_target_flag_is_read_from_its_arguments(args: list[str], target: str | None) -> None:
    assert _dbt_target(args) == target
