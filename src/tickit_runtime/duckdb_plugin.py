"""The one function the raw load asks of DuckDB that DuckDB's SQL cannot do in bounded memory: read a file in
pieces, to say whether its lines can go through DuckDB's CSV reader as they are, and how many there are.

DuckDB reads a file's bytes only whole (`read_blob`), and the loader's exact split of those bytes needs several
copies of the file at once: at scale 100 (a 1.2 GB listings file) more than 6 GiB. DuckDB's CSV reader streams,
but it is not byte-faithful: a lone carriage return ends a line, a NUL or its delimiter byte drops the rest of a
line, invalid UTF-8 and very long lines raise. So `tickit_scan_lines(path)` reads the file in pieces (16 MiB at
most in memory) and says whether it holds none of those bytes (`plain`); such a file is split by the CSV reader,
any other one as before (docs/decisions/042-the-raw-load-in-bounded-memory.md). Its line count is the load
audit's separate read: newline bytes, plus a last line without one.

dbt-duckdb loads this module as a plugin named in the profile (`plugins:`), and registers the function on
every connection it opens, so `dbt run-operation load_raw_tables` has it wherever the profile is ours.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

# Small enough that a piece, its lines split out to measure them and its decoded text stay within about 50 MiB.
PIECE_BYTES = 16 * 1024 * 1024
# Below DuckDB's CSV reader's default `max_line_size` (2 MiB): a longer line takes the byte-exact path.
LONGEST_PLAIN_LINE = 1024 * 1024
# The bytes DuckDB's CSV reader does not keep as they are, set as the load sets it: NUL and its delimiter chr(1)
# end the field, and a carriage return ends a line wherever it is (a CR-LF is two line ends, whatever
# `new_line` says). A file with CR-LF line ends is read whole, as before.
UNREAD_BYTES = (b"\x00", b"\x01", b"\r")
FUNCTION = "tickit_scan_lines"


def scan_lines(path: str) -> dict[str, Any]:
    """{'plain': the file's lines read alike through DuckDB's CSV reader, 'lines': its line count}."""
    scan = _Scan()
    with Path(path).open("rb") as file:
        while piece := file.read(PIECE_BYTES):
            scan.add(piece)
    return {"plain": scan.plain(), "lines": scan.newlines + (1 if scan.last not in (b"", b"\n") else 0)}


class _Scan:
    """What the pieces read so far say. A UTF-8 sequence and a line can straddle two pieces."""

    def __init__(self) -> None:
        self.newlines = 0
        self.last = b""
        self.ok = True
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._line = 0  # the bytes of the line the last piece ended in

    def add(self, piece: bytes) -> None:
        self.newlines += piece.count(b"\n")
        self.last = piece[-1:]
        if self.ok:
            self.ok = (
                not any(byte in piece for byte in UNREAD_BYTES)
                and self._lines_short(piece)
                and self._utf8(piece, final=False)
            )

    def plain(self) -> bool:
        return self.ok and self._utf8(b"", final=True)

    def _lines_short(self, piece: bytes) -> bool:
        parts = piece.split(b"\n")
        lengths = [self._line + len(parts[0]), *map(len, parts[1:])]
        self._line = lengths[-1]
        return max(lengths) <= LONGEST_PLAIN_LINE

    def _utf8(self, piece: bytes, *, final: bool) -> bool:
        try:
            self._decoder.decode(piece, final=final)
        except UnicodeDecodeError:
            return False
        return True


def register(connection: Any) -> None:
    """Give a DuckDB connection `tickit_scan_lines(path)`: what the load's DuckDB SQL calls first for each file."""
    connection.create_function(
        FUNCTION,
        scan_lines,
        [duckdb.sqltype("VARCHAR")],
        duckdb.sqltype("STRUCT(plain BOOLEAN, lines BIGINT)"),
        side_effects=True,
    )


class Plugin(BasePlugin):  # the name dbt-duckdb looks for in the module the profile names
    def configure_connection(self, conn: Any) -> None:
        register(conn)
