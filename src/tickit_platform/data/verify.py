"""Check that a folder really holds the seven tickit files before anything loads them.

A wrong file, a wrong delimiter or a short download would otherwise surface much later as an obscure
warehouse COPY error; here it becomes one message that names the file and says what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tickit_platform.data.formats import TABLES, TableFormat, load_formats
from tickit_runtime.errors import TickitError

NEXT_STEPS = (
    "Re-run `tickit data fetch`, pass `--source` with the official tickitdb.zip (or a folder of its seven files), "
    "or use synthetic data with `tickit data synth`."
)

_CHUNK = 1 << 20
# The first line is read in one go; no tickit row is anywhere near this long.
_FIRST_LINE_LIMIT = 1 << 16
_DELIMITER_NAMES = {"|": "'|'", "\t": "tab", ",": "','"}


class DataFilesError(TickitError):
    """The folder does not hold seven usable tickit files; the message is shown to the user as is."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        # Kept apart so a caller can re-word the message (e.g. name the source instead of a temp folder).
        self.problems: tuple[str, ...] = tuple(problems)

    @classmethod
    def about(cls, where: str, problems: Sequence[str]) -> DataFilesError:
        lines = [f"{where} does not hold seven usable tickit files:"]
        lines += [f"  - {problem}" for problem in problems]
        lines.append(NEXT_STEPS)
        return cls("\n".join(lines), problems)


def count_rows(path: Path) -> int:
    """Data lines in a file: a last line without a newline counts, blank lines at the end do not."""
    newlines = 0
    trailing = 0  # newlines in the run of line breaks at the end seen so far
    has_data = False
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            count = chunk.count(b"\n")
            newlines += count
            body = chunk.rstrip(b"\r\n")
            if body:
                has_data = True
                trailing = chunk.count(b"\n", len(body))
            else:
                trailing += count
    return newlines - trailing + (1 if has_data else 0)


def _first_line(path: Path) -> bytes:
    with path.open("rb") as fh:
        head = fh.read(_FIRST_LINE_LIMIT)
    return head.split(b"\n", 1)[0].rstrip(b"\r")


def _label(fmt: TableFormat) -> str:
    return f"{fmt.table} ({fmt.file})"


def _missing(folder: Path) -> list[str]:
    return [fmt.file for fmt in load_formats().values() if not (folder / fmt.file).is_file()]


def find_files(folder: Path) -> Path:
    """The folder holding the seven files: `folder` itself or one subfolder (the official zip has `tickitdb/`)."""
    if not folder.is_dir():
        raise DataFilesError.about(str(folder), ["not a folder" if folder.exists() else "the folder does not exist"])
    missing = _missing(folder)
    if not missing:
        return folder
    best = missing
    # Hidden folders and macOS zip metadata (`__MACOSX/`) hold copies that are not the real files.
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))
    for sub in subfolders:
        sub_missing = _missing(sub)
        if not sub_missing:
            return sub
        if len(sub_missing) < len(best):
            best = sub_missing
    problems = [f"missing {name}" for name in best]
    if subfolders:
        problems.append("(looked in the folder itself and in each subfolder)")
    raise DataFilesError.about(str(folder), problems)


def verify_folder(folder: Path, *, expect_official_counts: bool) -> dict[str, int]:
    """Rows per table, after checking each file exists, is non-empty and uses its table's delimiter."""
    formats = load_formats()
    problems: list[str] = []
    rows: dict[str, int] = {}
    for table in TABLES:
        fmt = formats[table]
        path = folder / fmt.file
        if not path.is_file():
            problems.append(f"{_label(fmt)}: missing")
            continue
        if path.stat().st_size == 0:
            problems.append(f"{_label(fmt)}: empty")
            continue
        expected = len(fmt.columns) - 1
        found = _first_line(path).count(fmt.delimiter.encode())
        if found != expected:
            name = _DELIMITER_NAMES.get(fmt.delimiter, repr(fmt.delimiter))
            problems.append(
                f"{_label(fmt)}: first line has {found} {name} delimiters, expected {expected} "
                f"({len(fmt.columns)} columns); is it the right file?"
            )
            continue
        rows[table] = count_rows(path)
        if expect_official_counts and rows[table] != fmt.official_rows:
            problems.append(f"{_label(fmt)}: expected {fmt.official_rows} rows (official), found {rows[table]}")
    if problems:
        raise DataFilesError.about(str(folder), problems)
    return rows
