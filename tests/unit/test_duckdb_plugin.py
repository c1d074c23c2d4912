"""The raw load's scan of a file in pieces (`tickit_scan_lines`): which files DuckDB's CSV reader may split, and
the line count the load audit checks against, whatever falls on the edge of a piece."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dbt.adapters.duckdb.plugins import BasePlugin

from tickit_runtime import duckdb_plugin

LONGEST = 16  # the longest plain line, small here so that a line straddles many pieces


@pytest.fixture(params=[1, 2, 3, 64 * 1024 * 1024], ids=lambda n: f"pieces-of-{n}")
def pieces(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(duckdb_plugin, "PIECE_BYTES", request.param)
    monkeypatch.setattr(duckdb_plugin, "LONGEST_PLAIN_LINE", LONGEST)
    return int(request.param)


def _scan(tmp_path: Path, data: bytes) -> dict[str, object]:
    path = tmp_path / "file.txt"
    path.write_bytes(data)
    return duckdb_plugin.scan_lines(str(path))


@pytest.mark.parametrize(
    ("data", "lines"),
    [(b"", 0), (b"\n", 1), (b"a", 1), (b"a\n", 1), (b"a\n\n", 2), (b"a\nb", 2), (b"\n\nb\n", 3)],
)
def test_lines_are_newlines_plus_a_last_line_without_one(tmp_path: Path, pieces: int, data: bytes, lines: int) -> None:
    assert _scan(tmp_path, data) == {"plain": True, "lines": lines}


@pytest.mark.parametrize(
    "data",
    [
        "é€😀\n".encode() * 3,  # multi-byte sequences cut by every piece edge
        b'a\tb|c,"d"\\e\n',  # quotes, escapes and delimiters are plain: the reader is set to take none
        b"x" * LONGEST + b"\n",
    ],
)
def test_a_file_the_csv_reader_reads_as_it_is_is_plain(tmp_path: Path, pieces: int, data: bytes) -> None:
    assert _scan(tmp_path, data)["plain"] is True


@pytest.mark.parametrize(
    "data",
    [
        b"a\r\nb\n",  # DuckDB's reader ends a line at the CR and again at the LF
        b"a\rb\n",
        b"a\x00b\n",
        b"a\x01b\n",
        b"caf\xe9\n",  # Latin-1, not UTF-8
        "caf\u00e9".encode()[:-1],  # a sequence cut short by the end of the file
        b"ab\n" + b"x" * (LONGEST + 1) + b"\n",
        b"x" * (LONGEST + 1),
    ],
)
def test_any_other_file_is_not_plain_and_still_counted(tmp_path: Path, pieces: int, data: bytes) -> None:
    scanned = _scan(tmp_path, data)
    assert scanned["plain"] is False
    assert scanned["lines"] == data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def test_the_profiles_plugin_gives_every_connection_the_scan(tmp_path: Path) -> None:
    """dbt-duckdb builds the plugin from the module named in the profile and hands it each connection."""
    path = tmp_path / "it's [raw].txt"
    path.write_bytes(b"a\nb\n")
    plugin = BasePlugin.create("tickit_runtime.duckdb_plugin")
    with duckdb.connect() as connection:
        plugin.configure_connection(connection)
        scanned = connection.execute("select tickit_scan_lines(?)", [str(path)]).fetchone()
    assert scanned == ({"plain": True, "lines": 2},)
