"""Get the tickit files into a cached folder that is either complete and verified, or not there at all.

Everything is staged beside the destination and moved into place only after the files were checked and
their provenance written, so an interrupted or corrupt download can never be mistaken for a finished one.
A partial download (`.part`) is the one thing kept on failure: the next run resumes it with a Range request.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import http.client
import os
import shutil
import socket
import stat
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Literal

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from tickit_platform.data.formats import TABLES, load_formats
from tickit_platform.data.provenance import Provenance, is_complete, read_provenance, write_provenance
from tickit_platform.data.verify import DataFilesError, find_files, verify_folder
from tickit_runtime import envvars
from tickit_runtime.errors import SettingsError, TickitError

OFFICIAL_ZIP_URLS: tuple[str, ...] = ("https://docs.aws.amazon.com/redshift/latest/gsg/samples/tickitdb.zip",)
# The same seven files, one by one, from the bucket the Redshift tutorials COPY from: used when no zip URL works.
OFFICIAL_FILE_BASE = "https://s3.amazonaws.com/redshift-downloads/tickit/"

_CHUNK = 1 << 16
_USER_AGENT = "tickit-platform"
_NEXT_STEPS = (
    "What to do: download tickitdb.zip where it is reachable and run `tickit data fetch --source PATH` "
    "(the zip or a folder of its seven files; `--source URL` takes a mirror),\n"
    "or go on with synthetic data in the official formats: `tickit data synth`, or `tickit run --synthetic`."
)

ProgressMode = Literal["off", "bar", "lines"]


@dataclass(frozen=True)
class Limits:
    """How much a download and an archive may hold, so a wrong URL or a hostile zip cannot fill the disk.

    Far above the tickit files (the official zip is a few MB, its seven files about 30 MB; synthetic data at
    scale 10, about 0.5 GB, still fits), far below what would hurt a laptop.
    """

    download_bytes: int = 2 << 30
    member_bytes: int = 2 << 30
    unpacked_bytes: int = 4 << 30
    members: int = 100


LIMITS = Limits()
_DOWNLOAD_INSTEAD = "download it yourself and pass it with `--source PATH`"
_UNPACK_INSTEAD = "unpack it yourself, check what it holds, and pass the folder with `--source FOLDER`"


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


class FetchError(TickitError):
    """The files could not be obtained. First line: the reason (shown alone on fallback); then what to do."""


def _fail(reason: str, *details: str) -> FetchError:
    return FetchError("\n".join([reason, *details, _NEXT_STEPS]))


@dataclass(frozen=True)
class _Net:
    progress: ProgressMode
    retries: int
    timeout: float
    backoff: float
    sleep: Callable[[float], None] = time.sleep
    limits: Limits = LIMITS


class _TransferError(Exception):
    """One failed attempt; `retry` says whether another attempt could help."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


def fetch(
    dest: Path,
    source: str | None = None,
    *,
    progress: bool = True,
    retries: int = 3,
    timeout: float = 30,
    backoff: float = 0.5,
    official_url: str | None = None,
    limits: Limits = LIMITS,
) -> Path:
    """The folder holding the seven verified tickit files, with their provenance; cached in `dest`.

    `source` is an http(s) URL of a zip, a local zip, or a local folder of the seven files (directly or in
    one subfolder); None means the official download, whose row counts must match the official ones.
    `backoff` is the first retry delay in seconds, doubled on each further retry. `official_url` replaces
    the official download's URLs (`Settings.data_url`, from TICKIT_DATA_URL). `limits` bounds what a download
    and a zip may hold; past a bound nothing is kept and the error names the bound.
    """
    dest = Path(dest)
    if is_complete(dest):
        if _same_source(dest, source) and not _local_source_changed(dest, source):
            return dest
        # Another source's files: staging happens inside `dest`, so they must go before anything is fetched.
        shutil.rmtree(dest)
    _remove_stale_temps(dest)
    mode: ProgressMode = "off" if not progress else ("bar" if sys.stderr.isatty() else "lines")
    net = _Net(progress=mode, retries=max(0, retries), timeout=timeout, backoff=backoff, limits=limits)
    try:
        if source is None:
            return _fetch_official(dest, net, official_url)
        if _is_url(source):
            _check_url(source, SOURCE_SETTING)
            return _fetch_zip_url(dest, source, kind="given", net=net)
        if "://" in source:
            raise _fail(
                f"unsupported source {shown(source)}: only http(s) URLs, zip files and folders are supported",
                "Download it first (e.g. `aws s3 cp` for s3://) and pass the local zip or folder.",
            )
        path = Path(source).expanduser()
        if not path.exists():
            raise _fail(
                f"the source {source} does not exist",
                "`--source` takes a zip file, a folder of the seven tickit files, or an http(s) URL of a zip.",
            )
        if path.is_dir():
            return _install_folder(dest, path, source)
        return _install_zip(dest, path, kind="given", source=source, owned=False, limits=limits)
    finally:
        _drop_if_empty(dest)


# The settings a URL to download comes from, named when it cannot be used (its value may hold a secret).
NOT_SHOWN = "(its value is not shown: it may hold a secret)"
SOURCE_SETTING = f"--source (or {envvars.SOURCE})"
DATA_URL_SETTING = envvars.DATA_URL


def _url_problem(url: str) -> str | None:
    """What makes `url` one no download can succeed with, in words that repeat nothing of it; None: nothing.

    urllib never sends a URL's user and password: it takes them for part of the host, and either fails with
    an error quoting them (`nonnumeric port: '<password>@host'`) or looks the host up, password included, in
    the DNS. Neither a retry nor a fallback can help, so such a URL is refused before anything is sent.
    """
    if any(c.isspace() or not c.isprintable() for c in url):
        return "holds a space or a control character"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "is not a URL that can be read (a port that is not a number, or a bracket out of place)"
    if parts.username is not None or parts.password is not None:
        return (
            "holds a user or password before the host, which the download never sends; use a link that needs "
            "none (a pre-signed URL), or download the file and pass it with `--source PATH`"
        )
    if not parts.hostname:
        return "names no host"
    return None


def _check_url(url: str, setting: str) -> None:
    """Stop at once, naming the setting and never its value, when `url` cannot be downloaded from: a
    settings error, so that the official download's fallback to synthetic data does not hide it."""
    if problem := _url_problem(url):
        raise SettingsError(f"{setting} cannot be downloaded from: it {problem} {NOT_SHOWN}")


def shown(source: str) -> str:
    """A source as messages and the provenance show it: a URL without the user, password and query where
    credentials and signatures travel (a pre-signed S3 link, a user and token before the host); else as given."""
    try:
        parts = urllib.parse.urlsplit(source)
    except ValueError:
        return "(a URL that cannot be read)"
    if not parts.scheme or not parts.netloc:
        return source
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "…" if parts.query else "", ""))


def _same_source(dest: Path, source: str | None) -> bool:
    try:
        prov = read_provenance(dest)
    except (OSError, ValueError, TypeError):
        return False
    if source is None:
        return prov.kind == "official"
    return prov.kind == "given" and prov.source == shown(source)


def _local_source_changed(dest: Path, source: str | None) -> bool:
    """A local zip or folder edited since it was copied: the copy must not hide the user's edit."""
    if source is None or "://" in source:
        return False
    path = Path(source).expanduser()
    if not path.exists():
        return False
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    newest = max((p.stat().st_mtime_ns for p in files), default=0)
    return newest > (dest / "provenance.json").stat().st_mtime_ns


def _is_url(source: str) -> bool:
    return urllib.parse.urlsplit(source).scheme.lower() in {"http", "https"}


# --- the official download -------------------------------------------------------------------------------------


def _fetch_official(dest: Path, net: _Net, override: str | None) -> Path:
    override = (override or "").strip()
    if override:
        _check_url(override, DATA_URL_SETTING)
    urls = (override,) if override else OFFICIAL_ZIP_URLS
    failures: list[tuple[str, list[str]]] = []
    first_error: Exception | None = None
    for url in urls:
        try:
            return _fetch_zip_url(dest, url, kind="official", net=net)
        except FetchError as err:
            failures.append(_reason_of(err))
            first_error = first_error or err
        except DataFilesError as err:
            # Wrapped, so acquire() falls back to synthetic data instead of stopping the run.
            failures.append(_not_official(url, err))
            first_error = first_error or err
    if not override:
        try:
            return _fetch_files(dest, OFFICIAL_FILE_BASE, net)
        except FetchError as err:
            failures.append(_reason_of(err))
            first_error = first_error or err
        except DataFilesError as err:
            failures.append(_not_official(OFFICIAL_FILE_BASE, err))
            first_error = first_error or err
    (first, details), *others = failures
    lines = list(details)
    for reason, more in others:
        lines += [f"Also tried: {reason}", *more]
    raise _fail(first, *lines) from first_error


def _reason_of(err: FetchError) -> tuple[str, list[str]]:
    """The reason and the detail lines of a FetchError, without its what-to-do lines."""
    text = str(err).removesuffix(_NEXT_STEPS).rstrip("\n")
    first, *rest = text.splitlines()
    return first, rest


def _not_official(url: str, err: DataFilesError) -> tuple[str, list[str]]:
    problems = err.problems or (str(err).splitlines()[0],)
    more = f"; and {len(problems) - 1} more" if len(problems) > 1 else ""
    return f"{shown(url)} did not give the official tickit files ({problems[0]}{more})", [f"  - {p}" for p in problems]


def _fetch_files(dest: Path, base: str, net: _Net) -> Path:
    """The per-file fallback: each file downloaded (and resumable) on its own, then staged like a zip."""
    dest.mkdir(parents=True, exist_ok=True)
    formats = load_formats()
    for table in TABLES:
        target = dest / formats[table].file
        if not target.is_file():
            _download(base + formats[table].file, target, net)
    tmp = _make_temp(dest)
    try:
        for table in TABLES:
            os.replace(dest / formats[table].file, tmp / formats[table].file)
        rows = verify_folder(tmp, expect_official_counts=True)
        write_provenance(tmp, Provenance(kind="official", source=base, rows=rows))
        _install(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


# --- zips ------------------------------------------------------------------------------------------------------


def _fetch_zip_url(dest: Path, url: str, *, kind: str, net: _Net) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / _zip_name(url)
    # A finished download left by a run interrupted while unpacking; it is validated like a fresh one.
    if not target.is_file():
        _download(url, target, net)
    return _install_zip(dest, target, kind=kind, source=shown(url), owned=True, limits=net.limits)


def _zip_name(url: str) -> str:
    name = PurePosixPath(urllib.parse.urlsplit(url).path).name
    safe = name and all(c.isalnum() or c in "._-" for c in name) and not name.startswith(".")
    return name if safe and name.endswith(".zip") else "download.zip"


def _install_zip(dest: Path, zip_path: Path, *, kind: str, source: str, owned: bool, limits: Limits) -> Path:
    """Validate, unpack, verify and install a zip; `owned` zips (our downloads) are deleted when bad."""
    digest = _check_zip(zip_path, source, owned=owned, limits=limits)
    tmp = _make_temp(dest)
    try:
        _unpack(zip_path, tmp, source, limits)
        files = find_files(tmp)
        rows = verify_folder(files, expect_official_counts=kind == "official")
        if owned:
            # Kept beside its files, so the digest in the provenance can be checked again later.
            os.replace(zip_path, files / zip_path.name)
        write_provenance(files, Provenance(kind=kind, source=source, rows=rows, sha256=digest))
        _install(files, dest)
    except DataFilesError as err:
        if owned:
            # Its content is wrong, not its transfer: downloading it again is the only way to get other files.
            zip_path.unlink(missing_ok=True)
        # Name what the user gave, not the temporary folder that is about to be removed.
        raise DataFilesError.about(source, err.problems) from None
    except FetchError:
        if owned:
            zip_path.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _check_zip(path: Path, where: str, *, owned: bool, limits: Limits) -> str:
    """The zip's sha256, after every member was read and its CRC checked (catches truncated downloads).

    The bounds and the members' names are checked first, from the zip's directory: a zip bomb is refused
    before a byte of it is inflated, even to be tested.
    """
    problem: str | None
    try:
        with zipfile.ZipFile(path) as zf:
            refused = _refused_member(zf.infolist(), limits)
            bad = None if refused else zf.testzip()
        problem = None if bad is None else f"{bad} fails its CRC check"
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError, OSError) as err:
        refused, problem = None, str(err) or type(err).__name__
    if refused is not None:
        if owned:
            path.unlink(missing_ok=True)
        raise _fail(f"{where} {refused}")
    if problem is not None:
        if owned:
            path.unlink(missing_ok=True)
            raise _fail(
                f"the download from {where} is not a valid zip ({problem})",
                "It was probably cut short or damaged on the way; it was deleted, so the next try starts afresh.",
            )
        raise _fail(f"{where} is not a valid zip ({problem})", "Check that it is the complete tickitdb.zip.")
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _member_parts(info: zipfile.ZipInfo) -> list[str]:
    return [p for p in PurePosixPath(info.filename.replace("\\", "/")).parts if p not in ("", ".")]


def _refused_member(members: list[zipfile.ZipInfo], limits: Limits) -> str | None:
    """Why the zip may not be unpacked, from its directory, in words that follow its name; None: it may.

    Each refusal names the bound and what to do instead. A symbolic link is refused whatever it points at:
    the tickit files are plain files, and a link unpacked first could carry a later member out of the folder.
    """
    if len(members) > limits.members:
        return (
            f"holds {len(members)} members, over the bound of {limits.members} members a zip may have; "
            f"{_UNPACK_INSTEAD}"
        )
    total = 0
    for info in members:
        name = info.filename.replace("\\", "/")
        parts = _member_parts(info)
        if name.startswith("/") or ".." in parts or (bool(parts) and ":" in parts[0]):
            return f"holds an unsafe path {info.filename!r}, absolute or out of its folder; refusing to unpack it"
        if stat.S_ISLNK(info.external_attr >> 16):
            return f"holds a symbolic link {info.filename!r}, which is never unpacked; {_UNPACK_INSTEAD}"
        if info.file_size > limits.member_bytes:
            return (
                f"holds {info.filename!r} of {_size(info.file_size)} unpacked, over the bound of "
                f"{_size(limits.member_bytes)} per member; {_UNPACK_INSTEAD}"
            )
        total += info.file_size
    if total > limits.unpacked_bytes:
        return (
            f"holds {_size(total)} unpacked, over the bound of {_size(limits.unpacked_bytes)} in all; {_UNPACK_INSTEAD}"
        )
    return None


def _unpack(zip_path: Path, into: Path, where: str, limits: Limits) -> None:
    """Extract every member, refusing names that would land outside `into` (absolute, `..`, drive letters).

    The bounds were checked on the directory (`_check_zip`); they are counted again on the bytes written,
    since a member's inflated size is only as true as its header. A refusal leaves `into` to the caller,
    which removes it.
    """
    root = into.resolve()
    written = 0
    with zipfile.ZipFile(zip_path) as zf:
        if refused := _refused_member(zf.infolist(), limits):
            raise _fail(f"{where} {refused}")
        for info in zf.infolist():
            parts = _member_parts(info)
            target = root.joinpath(*parts)
            if not target.resolve().is_relative_to(root):
                raise _fail(f"{where} holds an unsafe path {info.filename!r}; refusing to unpack it")
            if not parts:
                continue
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            member = 0
            with zf.open(info) as src, target.open("wb") as dst:
                while chunk := src.read(_CHUNK):
                    member += len(chunk)
                    written += len(chunk)
                    if member > limits.member_bytes or written > limits.unpacked_bytes:
                        raise _fail(
                            f"{where} unpacks to more than its directory says ({info.filename!r} passed the "
                            f"bound of {_size(min(limits.member_bytes, limits.unpacked_bytes))}); {_UNPACK_INSTEAD}"
                        )
                    dst.write(chunk)


# --- local folders ---------------------------------------------------------------------------------------------


def _install_folder(dest: Path, folder: Path, source: str) -> Path:
    """Copy the seven files, so a run never depends on the user keeping (or not editing) their folder."""
    try:
        files = find_files(folder)
    except DataFilesError as err:
        raise DataFilesError.about(source, err.problems) from None
    formats = load_formats()
    tmp = _make_temp(dest)
    try:
        for table in TABLES:
            shutil.copy2(files / formats[table].file, tmp / formats[table].file)
        rows = verify_folder(tmp, expect_official_counts=False)
        write_provenance(tmp, Provenance(kind="given", source=source, rows=rows))
        _install(tmp, dest)
    except DataFilesError as err:
        raise DataFilesError.about(source, err.problems) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


# --- staging ---------------------------------------------------------------------------------------------------


def _make_temp(dest: Path) -> Path:
    # A sibling, so the final move is a rename on one file system.
    dest.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{dest.name}.tmp-", dir=dest.parent))


def _remove_stale_temps(dest: Path) -> None:
    """Staging folders of runs that were killed; one may even hold a provenance file, so none may linger."""
    if dest.parent.is_dir():
        for stale in dest.parent.glob(f"{glob.escape(dest.name)}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)


def _install(staged: Path, dest: Path) -> None:
    # `dest` holds only staging leftovers (partial downloads) or another source's files at this point.
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(staged, dest)


def _drop_if_empty(dest: Path) -> None:
    # Left alone when not empty (a resumable .part, or the installed files) or not there.
    with contextlib.suppress(OSError):
        dest.rmdir()


# --- downloading -----------------------------------------------------------------------------------------------


def _download(url: str, target: Path, net: _Net) -> None:
    """Stream `url` to `target`, via `<target>.part` so only a complete body ever gets the final name."""
    part = target.with_name(target.name + ".part")
    attempt = 0
    while True:
        try:
            _transfer(url, part, net)
        except _TransferError as err:
            if not err.retry or attempt >= net.retries:
                tries = f" (after {attempt + 1} attempts)" if attempt else ""
                kept = ["The partial download is kept; the next try resumes it."] if part.is_file() else []
                raise _fail(f"could not download {shown(url)}: {err.reason}{tries}", *kept) from None
            net.sleep(net.backoff * 2**attempt)
            attempt += 1
            continue
        os.replace(part, target)
        return


def _transfer(url: str, part: Path, net: _Net) -> None:
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=net.timeout)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416 and offset:
            # The partial file does not fit the server's copy (it changed, or was complete): start over.
            part.unlink(missing_ok=True)
            raise _TransferError("the server refused to resume (HTTP 416)", retry=True) from None
        retry = err.code >= 500 or err.code in (408, 429)
        raise _TransferError(f"HTTP {err.code} {err.reason}", retry=retry) from None
    except urllib.error.URLError as err:
        # A name that does not resolve will not resolve a second later; failing at once lets an offline run
        # fall back to synthetic data without waiting through the retries.
        retry = not isinstance(err.reason, socket.gaierror)
        raise _TransferError(_describe(err.reason, net.timeout), retry=retry) from None
    except (http.client.InvalidURL, ValueError) as err:
        # Its text quotes the URL (or a piece of it, decoded); a URL that cannot be read never will be.
        raise _TransferError(f"the URL cannot be used ({type(err).__name__})", retry=False) from None
    except (OSError, http.client.HTTPException) as err:
        raise _TransferError(_describe(err, net.timeout), retry=True) from None
    with response:
        _receive(response, part, offset, net)


def _receive(response: http.client.HTTPResponse, part: Path, offset: int, net: _Net) -> None:
    if offset and response.status == 206:
        if _range_start(response.headers.get("Content-Range")) != offset:
            part.unlink(missing_ok=True)
            raise _TransferError("the server resumed at the wrong offset", retry=True)
        mode = "ab"
    else:
        offset, mode = 0, "wb"  # the server sent the whole body (it ignores Range): start over
    length = response.headers.get("Content-Length")
    total = offset + int(length) if length and length.isdigit() else None
    bound = net.limits.download_bytes
    if total is not None and total > bound:
        # Refused before a byte is written, and what a resume had kept goes too: it is of the same file.
        part.unlink(missing_ok=True)
        raise _TransferError(_too_large(f"the server announces {_size(total)}", bound), retry=False)
    received = offset
    with part.open(mode) as fh, _Meter(part.name.removesuffix(".part"), total, offset, net.progress) as meter:
        while True:
            try:
                chunk = response.read(_CHUNK)
            except (OSError, http.client.HTTPException) as err:
                raise _TransferError(
                    f"the connection broke after {received} bytes ({_describe(err, net.timeout)})", retry=True
                ) from None
            if not chunk:
                break
            received += len(chunk)
            if received > bound:
                fh.close()
                part.unlink(missing_ok=True)
                raise _TransferError(_too_large(f"more than {_size(bound)} arrived", bound), retry=False)
            fh.write(chunk)
            meter.update(received)
    if total is not None and received != total:
        raise _TransferError(f"the connection closed after {received} of {total} bytes", retry=True)


def _too_large(what: str, bound: int) -> str:
    return f"{what}, over the bound of {_size(bound)} on a download (nothing of it was kept); {_DOWNLOAD_INSTEAD}"


def _range_start(content_range: str | None) -> int | None:
    # "bytes 100-199/200"
    if not content_range or not content_range.startswith("bytes "):
        return None
    start = content_range[len("bytes ") :].split("-", 1)[0].strip()
    return int(start) if start.isdigit() else None


def _describe(err: object, timeout: float) -> str:
    if isinstance(err, socket.gaierror):
        return f"cannot resolve the host name ({err.strerror or err}); are you offline?"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


class _Meter:
    """Download progress on stderr: a live bar on a terminal, a line per 10% in logs, nothing when off."""

    def __init__(self, label: str, total: int | None, done: int, mode: ProgressMode) -> None:
        self.label = label
        self.total = total
        self.mode = mode
        self.step = done * 10 // total if total else 0
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        if mode == "bar":
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.task = self.bar.add_task(f"downloading {label}", total=total, completed=done)

    def __enter__(self) -> _Meter:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, received: int) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=received)
        elif self.mode == "lines" and self.total:
            step = received * 10 // self.total
            if step > self.step:
                self.step = step
                print(
                    f"downloading {self.label}: {step * 10}% of {self.total / 1e6:.1f} MB", file=sys.stderr, flush=True
                )
