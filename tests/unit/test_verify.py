"""What a user learns about a folder of tickit files before anything is loaded from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickit_platform.data.formats import TABLES, load_formats
from tickit_platform.data.verify import DataFilesError, count_rows, find_files, verify_folder


def write_tickit_files(folder: Path, rows: int = 2) -> Path:
    """The seven files with `rows` correctly delimited rows each (contents do not matter to the checks)."""
    folder.mkdir(parents=True, exist_ok=True)
    for fmt in load_formats().values():
        lines = [fmt.delimiter.join(f"{name}{i}" for name in fmt.column_names) for i in range(rows)]
        (folder / fmt.file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", 0),
        (b"a|b\n", 1),
        (b"a|b\nc|d\n", 2),
        (b"a|b\nc|d", 2),  # no newline after the last line
        (b"a|b\nc|d\n\n\n", 2),  # blank lines at the end are not rows
        (b"a|b\r\nc|d\r\n\r\n", 2),
        (b"\n\n", 0),
    ],
)
def test_count_rows(tmp_path: Path, content: bytes, expected: int) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(content)
    assert count_rows(path) == expected


def test_count_rows_across_chunk_boundaries(tmp_path: Path) -> None:
    # 200k lines, several 1 MiB chunks; the last chunk boundary falls inside trailing newlines for some sizes.
    path = tmp_path / "big.txt"
    path.write_bytes(b"1|2|3\n" * 200_000 + b"\n" * 3)
    assert count_rows(path) == 200_000
    path.write_bytes(b"x" * (1 << 20) + b"\n" + b"\n" * (1 << 20))
    assert count_rows(path) == 1


def test_verify_folder_counts_rows(tmp_path: Path) -> None:
    write_tickit_files(tmp_path, rows=3)
    assert verify_folder(tmp_path, expect_official_counts=False) == dict.fromkeys(TABLES, 3)


def test_official_counts_are_enforced(tmp_path: Path) -> None:
    write_tickit_files(tmp_path, rows=3)
    with pytest.raises(DataFilesError) as caught:
        verify_folder(tmp_path, expect_official_counts=True)
    message = str(caught.value)
    assert "sales (sales_tab.txt): expected 172456 rows (official), found 3" in message
    assert "users (allusers_pipe.txt): expected 49990 rows" in message
    assert "tickit data synth" in message


def test_wrong_delimiter_is_named(tmp_path: Path) -> None:
    write_tickit_files(tmp_path)
    # A pipe-delimited sales file: the usual mistake of exporting every table the same way.
    (tmp_path / "sales_tab.txt").write_text("|".join(str(i) for i in range(10)) + "\n", encoding="utf-8")
    with pytest.raises(DataFilesError) as caught:
        verify_folder(tmp_path, expect_official_counts=False)
    message = str(caught.value)
    assert "sales (sales_tab.txt): first line has 0 tab delimiters, expected 9" in message
    assert "users" not in message


def test_wrong_file_is_caught_by_its_column_count(tmp_path: Path) -> None:
    write_tickit_files(tmp_path)
    (tmp_path / "venue_pipe.txt").write_bytes((tmp_path / "category_pipe.txt").read_bytes())
    with pytest.raises(DataFilesError, match=r"venue \(venue_pipe.txt\): first line has 3 '\|' delimiters, expected 4"):
        verify_folder(tmp_path, expect_official_counts=False)


def test_missing_and_empty_files_are_all_named(tmp_path: Path) -> None:
    write_tickit_files(tmp_path)
    (tmp_path / "listings_pipe.txt").unlink()
    (tmp_path / "date2008_pipe.txt").write_bytes(b"")
    with pytest.raises(DataFilesError) as caught:
        verify_folder(tmp_path, expect_official_counts=False)
    message = str(caught.value)
    assert "listing (listings_pipe.txt): missing" in message
    assert "date (date2008_pipe.txt): empty" in message
    assert "--source" in message
    assert caught.value.problems == ("date (date2008_pipe.txt): empty", "listing (listings_pipe.txt): missing")


def test_find_files_in_the_folder_itself(tmp_path: Path) -> None:
    write_tickit_files(tmp_path)
    assert find_files(tmp_path) == tmp_path


def test_find_files_in_a_nested_tickitdb_folder(tmp_path: Path) -> None:
    write_tickit_files(tmp_path / "tickitdb")
    # macOS zips carry a metadata twin of every file; it must not be taken for the real folder.
    write_tickit_files(tmp_path / "__MACOSX" / "tickitdb")
    (tmp_path / "README.txt").write_text("hello", encoding="utf-8")
    assert find_files(tmp_path) == tmp_path / "tickitdb"


def test_find_files_names_what_is_missing(tmp_path: Path) -> None:
    write_tickit_files(tmp_path / "tickitdb")
    (tmp_path / "tickitdb" / "sales_tab.txt").unlink()
    with pytest.raises(DataFilesError) as caught:
        find_files(tmp_path)
    message = str(caught.value)
    assert "missing sales_tab.txt" in message
    assert "allusers_pipe.txt" not in message  # the closest candidate's gaps, not the empty top folder's
    assert "tickit data fetch" in message


def test_find_files_on_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataFilesError, match="does not exist"):
        find_files(tmp_path / "nope")
