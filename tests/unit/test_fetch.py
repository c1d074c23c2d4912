"""Downloading and installing tickit files, against a local HTTP server that misbehaves on request.

Every failure a user can meet (cut connections, corrupt zips, server errors, no server at all) must end
either in verified files or in a clear error, never in a folder that looks complete but is not.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
import socket
import stat
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast

import pytest

from tickit_platform.data import fetch as fetch_module
from tickit_platform.data.fetch import FetchError, Limits, fetch
from tickit_platform.data.formats import TABLES, load_formats
from tickit_platform.data.provenance import is_complete, read_provenance
from tickit_platform.data.verify import DataFilesError
from tickit_runtime import envvars
from tickit_runtime.errors import SettingsError

# --- tickit files and zips -------------------------------------------------------------------------------------


def write_tickit_files(folder: Path, rows: int | None = 2) -> Path:
    """The seven files, correctly delimited; `rows=None` writes the official row counts."""
    folder.mkdir(parents=True, exist_ok=True)
    for fmt in load_formats().values():
        count = fmt.official_rows if rows is None else rows
        line = fmt.delimiter.join("1" for _ in fmt.column_names) + "\n"
        (folder / fmt.file).write_text(line * count, encoding="utf-8")
    return folder


def zip_folder(folder: Path, prefix: str = "tickitdb/", padding: int = 200_000) -> bytes:
    """A zip like the official one (files under `tickitdb/`); incompressible padding makes transfers chunked."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, prefix + path.name)
        if padding:
            zf.writestr(prefix + "padding.bin", random.Random(0).randbytes(padding), zipfile.ZIP_STORED)
    return buf.getvalue()


@pytest.fixture
def good_zip(tmp_path: Path) -> bytes:
    return zip_folder(write_tickit_files(tmp_path / "build"))


@pytest.fixture(scope="module")
def official_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tickit_files(tmp_path_factory.mktemp("official"), rows=None)


# --- the local server ------------------------------------------------------------------------------------------


@dataclass
class Route:
    body: bytes
    fail_first: int = 0  # answer 500 to this many requests first
    drop_after: int | None = None  # once: promise the whole body, send this many bytes, close the connection
    ranges: bool = True  # honour Range requests (206) or always send everything (200)
    length: bool = True  # announce Content-Length, or send the body until the connection closes


@dataclass(frozen=True)
class Seen:
    path: str
    range: str | None


@dataclass
class Server:
    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    state: Server


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        state = cast(_HTTPServer, self.server).state
        wanted = self.headers.get("Range")
        state.requests.append(Seen(self.path, wanted))
        route = state.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        if route.fail_first > 0:
            route.fail_first -= 1
            self.send_error(500)
            return
        body, start = route.body, 0
        if wanted and route.ranges:
            start = int(wanted.removeprefix("bytes=").split("-", 1)[0])
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        if route.length:
            self.send_header("Content-Length", str(len(payload)))
        else:
            self.close_connection = True
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if route.drop_after is not None:
            cut, route.drop_after = route.drop_after, None
            self.wfile.write(payload[:cut])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = _HTTPServer(("127.0.0.1", 0), Handler)
    host, port = httpd.server_address[:2]
    httpd.state = Server(base=f"http://{host!s}:{port}")
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd.state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def quick(dest: Path, source: str | None = None, **kw: object) -> Path:
    """fetch() with test-sized retries: no bar, near-zero backoff, a short timeout."""
    options: dict[str, object] = {"progress": False, "backoff": 0.001, "timeout": 5} | kw
    return fetch(dest, source, **options)  # type: ignore[arg-type]


def assert_nothing_usable_left(root: Path, dest: Path) -> None:
    """No folder anyone could take for a finished download, and no staging debris beside `dest`."""
    assert not is_complete(dest)
    assert not list(root.glob(f"{dest.name}.tmp-*"))
    assert not [p for p in root.rglob("provenance.json") if p.is_relative_to(root)]


# --- a good download -------------------------------------------------------------------------------------------


def test_good_url_is_downloaded_verified_and_cached(tmp_path: Path, server: Server, good_zip: bytes) -> None:
    server.routes["/tickitdb.zip"] = Route(good_zip)
    dest = tmp_path / "downloads" / "given"
    url = server.url("/tickitdb.zip")

    folder = quick(dest, url)

    assert folder == dest
    for fmt in load_formats().values():
        assert (folder / fmt.file).is_file()
    prov = read_provenance(folder)
    assert prov.kind == "given"
    assert prov.source == url
    assert prov.sha256 == hashlib.sha256(good_zip).hexdigest()
    assert prov.rows == dict.fromkeys(TABLES, 2)
    assert not list(dest.parent.glob("*.tmp-*"))
    assert not list(dest.rglob("*.part"))

    before = len(server.requests)
    assert quick(dest, url) == dest
    assert len(server.requests) == before  # served from the cache, no network


def test_progress_lines_when_not_a_terminal(
    tmp_path: Path, server: Server, good_zip: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    server.routes["/tickitdb.zip"] = Route(good_zip)
    quick(tmp_path / "dl", server.url("/tickitdb.zip"), progress=True)
    err = capsys.readouterr().err
    assert "downloading tickitdb.zip: 100%" in err


def test_progress_bar_on_a_terminal(
    tmp_path: Path, server: Server, good_zip: bytes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    server.routes["/tickitdb.zip"] = Route(good_zip)
    assert is_complete(quick(tmp_path / "dl", server.url("/tickitdb.zip"), progress=True))
    assert "100%" not in capsys.readouterr().err  # a bar, not log lines


def test_a_different_source_replaces_the_cached_one(tmp_path: Path, server: Server, good_zip: bytes) -> None:
    server.routes["/a.zip"] = Route(good_zip)
    dest = tmp_path / "dl"
    quick(dest, server.url("/a.zip"))
    mine = write_tickit_files(tmp_path / "mine", rows=5)
    quick(dest, str(mine))
    prov = read_provenance(dest)
    assert (prov.source, prov.rows["sales"]) == (str(mine), 5)


def test_stale_staging_folders_are_removed(tmp_path: Path, server: Server, good_zip: bytes) -> None:
    # A run killed between writing provenance and the final rename leaves such a folder behind.
    stale = tmp_path / "dl.tmp-killed"
    stale.mkdir()
    (stale / "provenance.json").write_text("{}", encoding="utf-8")
    server.routes["/tickitdb.zip"] = Route(good_zip)
    quick(tmp_path / "dl", server.url("/tickitdb.zip"))
    assert not stale.exists()


# --- bad zips --------------------------------------------------------------------------------------------------


def _truncated(body: bytes) -> bytes:
    return body[: len(body) // 2]


def _random(body: bytes) -> bytes:
    return random.Random(1).randbytes(len(body))


def _damaged(body: bytes) -> bytes:
    # One flipped byte inside the stored padding member: the zip's structure is intact, its CRC is not.
    i = body.index(random.Random(0).randbytes(64)) + 1000
    return body[:i] + bytes([body[i] ^ 0xFF]) + body[i + 1 :]


@pytest.mark.parametrize("spoil", [_truncated, _random, _damaged], ids=["truncated", "corrupt", "bad-crc"])
def test_invalid_zip_is_rejected_and_not_kept(
    tmp_path: Path, server: Server, good_zip: bytes, spoil: Callable[[bytes], bytes]
) -> None:
    server.routes["/tickitdb.zip"] = Route(spoil(good_zip))
    dest = tmp_path / "dl"
    with pytest.raises(FetchError) as caught:
        quick(dest, server.url("/tickitdb.zip"))
    message = str(caught.value)
    assert "is not a valid zip" in message.splitlines()[0]
    assert "--source" in message
    assert "tickit data synth" in message
    assert not dest.exists()
    assert not list(tmp_path.rglob("*.part"))
    assert_nothing_usable_left(tmp_path, dest)

    # The bad file was deleted, so the next try downloads again instead of failing on the same bytes.
    server.routes["/tickitdb.zip"] = Route(good_zip)
    assert is_complete(quick(dest, server.url("/tickitdb.zip")))


def test_unsafe_member_names_are_refused(tmp_path: Path, server: Server) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("tickitdb/../../evil.txt", "gotcha")
    server.routes["/evil.zip"] = Route(buf.getvalue())
    with pytest.raises(FetchError, match="unsafe path"):
        quick(tmp_path / "deep" / "dl", server.url("/evil.zip"))
    assert not list(tmp_path.rglob("evil.txt"))
    assert_nothing_usable_left(tmp_path / "deep", tmp_path / "deep" / "dl")


# --- bounds ----------------------------------------------------------------------------------------------------


def _only_line(err: pytest.ExceptionInfo[FetchError]) -> str:
    return str(err.value).splitlines()[0]


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "no-length"])
def test_a_download_over_its_bound_is_refused_and_nothing_kept(
    tmp_path: Path, server: Server, good_zip: bytes, announced: bool
) -> None:
    server.routes["/big.zip"] = Route(good_zip, length=announced)
    dest = tmp_path / "dl"
    with pytest.raises(FetchError) as caught:
        quick(dest, server.url("/big.zip"), limits=Limits(download_bytes=100_000))
    line = _only_line(caught)
    assert "over the bound of 97.7 KiB on a download" in line
    assert "`--source PATH`" in line
    assert len(server.hits("/big.zip")) == 1  # the same file is as large again: no retry
    assert not list(tmp_path.rglob("*.part"))
    assert not dest.exists()
    assert_nothing_usable_left(tmp_path, dest)
    # The bound is the only thing in the way: with room, the same URL installs.
    assert is_complete(quick(dest, server.url("/big.zip"), limits=Limits(download_bytes=len(good_zip))))


def _zip_with(folder: Path, *extra: tuple[zipfile.ZipInfo | str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, "tickitdb/" + path.name)
        for name, data in extra:
            zf.writestr(name, data)
    return buf.getvalue()


def _symlink(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


BOUND_CASES = {
    "members": (
        [(f"tickitdb/extra-{i}.txt", b"") for i in range(20)],
        Limits(members=20),
        "holds 27 members, over the bound of 20 members a zip may have",
    ),
    "member-size": (
        [("tickitdb/huge.bin", b"\0" * 50_000)],
        Limits(member_bytes=40_000),
        "holds 'tickitdb/huge.bin' of 48.8 KiB unpacked, over the bound of 39.1 KiB per member",
    ),
    "total-size": (
        [("tickitdb/a.bin", b"\0" * 30_000), ("tickitdb/b.bin", b"\0" * 30_000)],
        Limits(unpacked_bytes=50_000),
        "over the bound of 48.8 KiB in all",
    ),
    "symlink": (
        [_symlink("tickitdb/escape", "/etc")],
        Limits(),
        "holds a symbolic link 'tickitdb/escape', which is never unpacked",
    ),
    "absolute": (
        [("/tmp/tickit-evil.txt", b"gotcha")],
        Limits(),
        "holds an unsafe path '/tmp/tickit-evil.txt'",
    ),
}


@pytest.mark.parametrize("case", list(BOUND_CASES))
def test_a_zip_over_a_bound_or_leaving_its_folder_is_refused_with_one_line(
    tmp_path: Path, server: Server, case: str
) -> None:
    extra, limits, expected = BOUND_CASES[case]
    body = _zip_with(write_tickit_files(tmp_path / "build"), *extra)
    server.routes["/tickitdb.zip"] = Route(body)
    dest = tmp_path / "deep" / "dl"
    with pytest.raises(FetchError) as caught:
        quick(dest, server.url("/tickitdb.zip"), limits=limits)
    line = _only_line(caught)
    assert expected in line
    if case not in ("absolute",):
        assert "pass the folder with `--source FOLDER`" in line
    assert not dest.exists()  # the downloaded zip too: it would be refused again
    assert_nothing_usable_left(tmp_path / "deep", dest)
    assert not Path("/tmp/tickit-evil.txt").exists()
    # Without the offending members the same download installs.
    server.routes["/tickitdb.zip"] = Route(_zip_with(tmp_path / "build"))
    assert is_complete(quick(dest, server.url("/tickitdb.zip"), limits=limits))


def test_a_local_zip_over_a_bound_is_refused_and_left_to_its_owner(tmp_path: Path) -> None:
    mine = tmp_path / "tickitdb.zip"
    mine.write_bytes(_zip_with(write_tickit_files(tmp_path / "build"), _symlink("tickitdb/escape", "..")))
    dest = tmp_path / "given"
    with pytest.raises(FetchError, match="symbolic link"):
        quick(dest, str(mine))
    assert mine.is_file()
    assert_nothing_usable_left(tmp_path, dest)


# --- flaky networks --------------------------------------------------------------------------------------------


def test_server_error_is_retried(tmp_path: Path, server: Server, good_zip: bytes) -> None:
    server.routes["/tickitdb.zip"] = Route(good_zip, fail_first=1)
    assert is_complete(quick(tmp_path / "dl", server.url("/tickitdb.zip")))
    assert len(server.hits("/tickitdb.zip")) == 2


def test_persistent_server_error_gives_up(tmp_path: Path, server: Server, good_zip: bytes) -> None:
    server.routes["/tickitdb.zip"] = Route(good_zip, fail_first=100)
    with pytest.raises(FetchError) as caught:
        quick(tmp_path / "dl", server.url("/tickitdb.zip"), retries=2)
    first = str(caught.value).splitlines()[0]
    assert "HTTP 500" in first
    assert "after 3 attempts" in first
    assert len(server.hits("/tickitdb.zip")) == 3


def test_interrupted_transfer_resumes_with_range(tmp_path: Path, server: Server, good_zip: bytes) -> None:
    cut = len(good_zip) // 2
    server.routes["/tickitdb.zip"] = Route(good_zip, drop_after=cut)
    folder = quick(tmp_path / "dl", server.url("/tickitdb.zip"))
    assert read_provenance(folder).sha256 == hashlib.sha256(good_zip).hexdigest()
    hits = server.hits("/tickitdb.zip")
    assert [h.range for h in hits] == [None, f"bytes={cut}-"]


def test_partial_download_is_resumed_by_the_next_run(tmp_path: Path, server: Server, good_zip: bytes) -> None:
    cut = len(good_zip) // 3
    server.routes["/tickitdb.zip"] = Route(good_zip, drop_after=cut)
    dest = tmp_path / "dl"
    with pytest.raises(FetchError) as caught:
        quick(dest, server.url("/tickitdb.zip"), retries=0)
    assert "connection closed after" in str(caught.value).splitlines()[0]
    assert "resumes it" in str(caught.value)
    assert (dest / "tickitdb.zip.part").stat().st_size == cut
    assert_nothing_usable_left(tmp_path, dest)

    folder = quick(dest, server.url("/tickitdb.zip"))
    assert read_provenance(folder).sha256 == hashlib.sha256(good_zip).hexdigest()
    assert server.hits("/tickitdb.zip")[-1].range == f"bytes={cut}-"


def test_server_without_range_support_restarts_from_zero(tmp_path: Path, server: Server, good_zip: bytes) -> None:
    server.routes["/tickitdb.zip"] = Route(good_zip, drop_after=len(good_zip) // 2, ranges=False)
    folder = quick(tmp_path / "dl", server.url("/tickitdb.zip"))
    assert read_provenance(folder).sha256 == hashlib.sha256(good_zip).hexdigest()


def test_not_found_fails_at_once(tmp_path: Path, server: Server) -> None:
    url = server.url("/nothing.zip")
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        quick(tmp_path / "dl", url, backoff=1)
    assert time.monotonic() - started < 1  # a 404 is not retried
    first = str(caught.value).splitlines()[0]
    assert url in first
    assert "HTTP 404" in first
    assert "--source" in str(caught.value)
    assert len(server.hits("/nothing.zip")) == 1
    assert not (tmp_path / "dl").exists()


def test_a_failed_download_never_repeats_the_urls_credentials(tmp_path: Path, server: Server) -> None:
    """A pre-signed link's signature and a user:token in the URL are secrets: the error shows scheme, host and
    path (what the user needs to see which download failed), never them."""
    signed = server.url("/nothing.zip") + "?X-Amz-Signature=s3cr3t-signature"
    with pytest.raises(FetchError) as caught:
        quick(tmp_path / "dl", signed)
    assert "s3cr3t-signature" not in str(caught.value)
    assert f"could not download {server.url('/nothing.zip')}?…: HTTP 404" in str(caught.value)
    # urllib never sends a user and token: such a URL is refused before anything is sent (test_secret_outputs.py).
    with_user = server.url("/nothing.zip").replace("http://", "http://someone:s3cr3t-token@")
    with pytest.raises(SettingsError) as refused:
        quick(tmp_path / "dl", with_user, retries=0)
    assert "s3cr3t-token" not in str(refused.value) and "someone" not in str(refused.value)
    assert str(refused.value).startswith("--source (or TICKIT_SOURCE) cannot be downloaded from")
    assert len(server.requests) == 1  # the signed link's request only


def test_unreachable_server_fails_fast(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/tickitdb.zip"
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        quick(tmp_path / "dl", url)
    assert time.monotonic() - started < 3
    first = str(caught.value).splitlines()[0]
    assert url in first
    assert "connection refused" in first
    assert "tickit run --synthetic" in str(caught.value)
    assert_nothing_usable_left(tmp_path, tmp_path / "dl")


# --- local sources ---------------------------------------------------------------------------------------------


def test_local_zip(tmp_path: Path, good_zip: bytes) -> None:
    source = tmp_path / "tickitdb.zip"
    source.write_bytes(good_zip)
    folder = quick(tmp_path / "dl", str(source))
    prov = read_provenance(folder)
    assert (prov.kind, prov.source, prov.sha256) == ("given", str(source), hashlib.sha256(good_zip).hexdigest())
    assert source.read_bytes() == good_zip  # the user's file is left alone


def test_local_invalid_zip_is_not_deleted(tmp_path: Path, good_zip: bytes) -> None:
    source = tmp_path / "tickitdb.zip"
    source.write_bytes(_truncated(good_zip))
    with pytest.raises(FetchError, match="is not a valid zip"):
        quick(tmp_path / "dl", str(source))
    assert source.exists()  # it is the user's file, not a download of ours


def test_local_folder_is_copied(tmp_path: Path) -> None:
    mine = write_tickit_files(tmp_path / "mine" / "tickitdb", rows=4)
    dest = tmp_path / "dl"
    folder = quick(dest, str(tmp_path / "mine"))
    assert folder == dest
    prov = read_provenance(folder)
    assert (prov.kind, prov.source, prov.sha256) == ("given", str(tmp_path / "mine"), None)
    assert prov.rows == dict.fromkeys(TABLES, 4)
    (mine / "sales_tab.txt").unlink()  # the run no longer depends on the user's folder
    assert (dest / "sales_tab.txt").is_file()


def test_local_folder_with_a_missing_file_names_it(tmp_path: Path) -> None:
    mine = write_tickit_files(tmp_path / "mine")
    (mine / "venue_pipe.txt").unlink()
    with pytest.raises(DataFilesError) as caught:
        quick(tmp_path / "dl", str(mine))
    message = str(caught.value)
    assert message.startswith(f"{mine} does not hold")
    assert "venue_pipe.txt" in message
    assert_nothing_usable_left(tmp_path, tmp_path / "dl")


def test_zip_with_a_wrong_file_names_the_source(tmp_path: Path, server: Server) -> None:
    build = write_tickit_files(tmp_path / "build")
    (build / "sales_tab.txt").write_text("1|2|3\n", encoding="utf-8")
    server.routes["/tickitdb.zip"] = Route(zip_folder(build))
    url = server.url("/tickitdb.zip")
    with pytest.raises(DataFilesError) as caught:
        quick(tmp_path / "dl", url)
    message = str(caught.value)
    assert message.startswith(f"{url} does not hold")
    assert "sales (sales_tab.txt): first line has 0 tab delimiters, expected 9" in message
    assert ".tmp-" not in message  # never the staging folder, which is gone
    assert_nothing_usable_left(tmp_path, tmp_path / "dl")


def test_missing_local_path(tmp_path: Path) -> None:
    with pytest.raises(FetchError) as caught:
        quick(tmp_path / "dl", str(tmp_path / "nope.zip"))
    message = str(caught.value)
    assert "does not exist" in message.splitlines()[0]
    assert "tickit data synth" in message


def test_unsupported_scheme(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match=re.escape("unsupported source s3://bucket/tickitdb.zip")):
        quick(tmp_path / "dl", "s3://bucket/tickitdb.zip")


# --- the official download -------------------------------------------------------------------------------------


def test_official_mode_expects_official_counts(tmp_path: Path, server: Server, good_zip: bytes) -> None:
    server.routes["/tickitdb.zip"] = Route(good_zip)
    url = server.url("/tickitdb.zip")
    dest = tmp_path / "official"
    with pytest.raises(FetchError) as caught:
        quick(dest, official_url=url)
    message = str(caught.value)
    first = message.splitlines()[0]
    assert url in first
    assert "users (allusers_pipe.txt): expected 49990 rows (official), found 2" in first
    assert "sales (sales_tab.txt): expected 172456 rows (official), found 2" in message
    assert "tickit data synth" in message
    assert isinstance(caught.value.__cause__, DataFilesError)
    assert_nothing_usable_left(tmp_path, dest)


def test_official_mode_with_official_counts(tmp_path: Path, server: Server, official_folder: Path) -> None:
    body = zip_folder(official_folder, padding=0)
    server.routes["/tickitdb.zip"] = Route(body)
    folder = quick(tmp_path / "official", official_url=server.url("/tickitdb.zip"))
    prov = read_provenance(folder)
    assert prov.kind == "official"
    assert prov.rows == {t: f.official_rows for t, f in load_formats().items()}
    assert prov.sha256 == hashlib.sha256(body).hexdigest()


def test_official_falls_back_to_single_files(
    tmp_path: Path, server: Server, official_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch_module, "OFFICIAL_ZIP_URLS", (server.url("/gone/tickitdb.zip"),))
    monkeypatch.setattr(fetch_module, "OFFICIAL_FILE_BASE", server.url("/tickit/"))
    for fmt in load_formats().values():
        server.routes[f"/tickit/{fmt.file}"] = Route((official_folder / fmt.file).read_bytes())
    folder = quick(tmp_path / "official")
    prov = read_provenance(folder)
    assert (prov.kind, prov.source) == ("official", server.url("/tickit/"))
    assert len(server.hits("/gone/tickitdb.zip")) == 1


def test_official_failure_reports_every_source(tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch_module, "OFFICIAL_ZIP_URLS", (server.url("/gone/tickitdb.zip"),))
    monkeypatch.setattr(fetch_module, "OFFICIAL_FILE_BASE", server.url("/tickit/"))
    with pytest.raises(FetchError) as caught:
        quick(tmp_path / "official")
    lines = str(caught.value).splitlines()
    assert "gone/tickitdb.zip: HTTP 404" in lines[0]
    assert any(line.startswith("Also tried:") and "/tickit/allusers_pipe.txt" in line for line in lines)
    assert_nothing_usable_left(tmp_path, tmp_path / "official")


def test_a_local_folder_edited_after_it_was_copied_is_copied_again(tmp_path: Path) -> None:
    source = write_tickit_files(tmp_path / "mine")
    dest = tmp_path / "given"
    quick(dest, str(source))
    venue = load_formats()["venue"].file
    assert (dest / venue).read_bytes() == (source / venue).read_bytes()
    # The user fixes (or breaks) a file in place; the next run must load the edited file, not the old copy.
    time.sleep(0.01)
    edited = (source / venue).read_bytes() + b"999|Edited Hall|Town|ST|0\n"
    (source / venue).write_bytes(edited)
    quick(dest, str(source))
    assert (dest / venue).read_bytes() == edited
    unchanged_at = (dest / "provenance.json").stat().st_mtime_ns
    quick(dest, str(source))
    assert (dest / "provenance.json").stat().st_mtime_ns == unchanged_at  # untouched source: the copy is reused


def test_the_official_download_comes_from_tickit_data_url_read_once_into_the_settings(
    tmp_path: Path, server: Server, official_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tickit_platform.data.acquire import acquire
    from tickit_platform.settings import Settings

    server.routes["/mirror/tickitdb.zip"] = Route(zip_folder(official_folder, padding=0))
    monkeypatch.setattr(fetch_module, "OFFICIAL_ZIP_URLS", (server.url("/gone/tickitdb.zip"),))
    settings = Settings.from_env({envvars.DATA_URL: server.url("/mirror/tickitdb.zip")}, home=tmp_path / "home")
    dataset = acquire(settings, say=lambda line: None)
    assert read_provenance(dataset.folder).source == server.url("/mirror/tickitdb.zip")
    assert server.hits("/gone/tickitdb.zip") == []
