"""PostgreSQL reads the raw files itself, as its own OS user: hand it a folder it can read.

The PostgreSQL variant of `load_raw_tables` reads each file server-side (`pg_read_binary_file`), the way
Redshift's COPY reads S3. The server runs as another OS user (`postgres`), which usually cannot enter a
private home directory, so a TICKIT_HOME under one would fail deep inside the load with a bare
"Permission denied". Before the DAG runs, the server itself is asked whether it can read the files:

- it can: the folder is used as it is;
- it cannot, but it sees this machine's files: the files are copied into a world-readable folder under
  the system's temp folder (0755, files 0644) for the run and removed afterwards;
- it does not see this machine's files at all (another host, a container): no copy can help, so the
  run stops before it starts, saying what the server needs.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tickit_platform.data.formats import load_formats
from tickit_runtime import envvars
from tickit_runtime.errors import TickitError
from tickit_runtime.redaction import masked, redacted_repr

STAGING_PREFIX = "tickit-pg-raw-"

# What the server needs to read files: superuser, or both of these (PostgreSQL's own documentation).
_MAY_READ_FILES = """
select rolsuper or (
    pg_has_role(current_user, 'pg_read_server_files', 'member')
    and has_function_privilege('pg_read_binary_file(text)', 'execute')
    and has_function_privilege('pg_read_binary_file(text, bigint, bigint, boolean)', 'execute')
    and has_function_privilege('pg_stat_file(text, boolean)', 'execute')
)
from pg_roles where rolname = current_user
"""
# One byte is enough to prove the file opens; missing_ok turns "no such file" into NULL, not an error.
_PROBE = "select pg_read_binary_file(%s, 0, 1, true) is not null"


class PostgresStagingError(TickitError):
    """The PostgreSQL server cannot read the raw files, and copying them cannot fix it; says what can."""


@dataclass(frozen=True)
class PostgresAddress:
    """Where dbt's `postgres` target connects: the same variables and defaults as profiles.yml."""

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    dbname: str = "postgres"
    password: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PostgresAddress:
        """From DBT_POSTGRES_* in `env`: the DAG's configuration (`DagConfig.postgres`), read from the
        process environment once by the settings."""
        default = cls()
        return cls(
            host=envvars.text(env, envvars.POSTGRES_HOST) or default.host,
            port=envvars.whole_number(env, envvars.POSTGRES_PORT, default.port, minimum=1),
            user=envvars.text(env, envvars.POSTGRES_USER) or default.user,
            dbname=envvars.text(env, envvars.POSTGRES_DBNAME) or default.dbname,
            password=envvars.text(env, envvars.POSTGRES_PASSWORD) or default.password,
        )

    def dbt_variables(self, dbname: str | None = None) -> tuple[tuple[str, str], ...]:
        """This address as the DBT_POSTGRES_* variables `from_env` reads back (`DagConfig.postgres`), over
        `dbname` when given; no password variable when there is none."""
        named = (
            (envvars.POSTGRES_HOST, self.host),
            (envvars.POSTGRES_PORT, str(self.port)),
            (envvars.POSTGRES_USER, self.user),
            (envvars.POSTGRES_DBNAME, dbname or self.dbname),
            (envvars.POSTGRES_PASSWORD, self.password),
        )
        return tuple((name, value) for name, value in named if value)

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.dbname}"

    def __repr__(self) -> str:
        return redacted_repr(self, password=masked(self.password))


@dataclass(frozen=True)
class ServerRawDir:
    """The folder to give the server as TICKIT_RAW_DIR, and whether it is a temporary copy."""

    folder: Path
    copied: bool
    # Why the original folder would not do, in the server's words (empty when it was used as it is).
    reason: str = ""


def raw_file_names() -> tuple[str, ...]:
    return tuple(sorted(f.file for f in load_formats().values()))


def connect(address: PostgresAddress, failed: Callable[[str], Exception], *, readonly: bool = False) -> Any:
    """A psycopg2 connection to `address`, in autocommit (one failed statement must not abort those after it),
    read-only when asked. When there is none, `failed(detail)` is raised, detail being libpq's message on one
    line (it never holds the password). Any object with `address`'s five fields will do."""
    import psycopg2  # dbt-postgres' own driver; imported here so other targets never load it

    try:
        connection = psycopg2.connect(
            host=address.host,
            port=address.port,
            user=address.user,
            dbname=address.dbname,
            password=address.password or None,
            connect_timeout=10,
        )
    except psycopg2.Error as err:
        raise failed(" ".join(str(err).split())) from None
    connection.set_session(readonly=readonly, autocommit=True)
    return connection


def _connect(address: PostgresAddress) -> Any:
    return connect(
        address,
        lambda detail: PostgresStagingError(
            f"cannot connect to PostgreSQL at {address} to check that it can read the raw files ({detail}). "
            f"Start the server, or set {', '.join(envvars.POSTGRES[:3])}, {envvars.POSTGRES_PASSWORD} and "
            f"{envvars.POSTGRES_DBNAME} to reach it."
        ),
    )


def _require_file_privileges(cursor: Any, address: PostgresAddress) -> None:
    cursor.execute(_MAY_READ_FILES)
    if not cursor.fetchone()[0]:
        user = address.user
        raise PostgresStagingError(
            f"the PostgreSQL role {user!r} may not read files on the server, which the postgres target's load "
            f"needs. Connect as a superuser ({envvars.POSTGRES_USER}), or, as one: GRANT pg_read_server_files TO "
            f'"{user}"; GRANT EXECUTE ON FUNCTION pg_read_binary_file(text), '
            f'pg_read_binary_file(text, bigint, bigint, boolean), pg_stat_file(text, boolean) TO "{user}";'
        )


def unreadable_files(cursor: Any, folder: Path, names: Sequence[str]) -> dict[str, str | None]:
    """The files of `folder` the server cannot read: name -> its error, or None when it sees no such file."""
    import psycopg2

    problems: dict[str, str | None] = {}
    for name in names:
        try:
            cursor.execute(_PROBE, (str(folder / name),))
            if not cursor.fetchone()[0]:
                problems[name] = None
        except psycopg2.Error as err:
            problems[name] = (err.pgerror or str(err)).strip().removeprefix("ERROR:").strip()
    return problems


def _staging_parents() -> list[Path]:
    # The user's temp folder first; /tmp as well, because a private TMPDIR (macOS gives each user one)
    # is closed to the server's OS user however open the folder made inside it is.
    parents = [Path(tempfile.gettempdir()), Path("/tmp")]
    return [p for i, p in enumerate(parents) if p.is_dir() and p not in parents[:i]]


def _copy_readable(raw_dir: Path, names: Sequence[str], parent: Path) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=parent))
    try:
        folder.chmod(0o755)
        for name in names:
            shutil.copyfile(raw_dir / name, folder / name)  # a copy, not a link: its mode is its own
            (folder / name).chmod(0o644)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _first_problem(problems: Mapping[str, str | None]) -> str:
    name, error = next(iter(problems.items()))
    if error is None:
        return f"{name}: no such file on the server"
    # PostgreSQL's message repeats the whole path ("could not open file "…" for reading: Permission
    # denied"); the folder is named beside it already, so keep the operating system's words.
    words = error.rsplit(": ", 1)[-1] if '"' in error else error
    return f"{name}: {words}"


Probe = Callable[[Path, Sequence[str]], Mapping[str, str | None]]


def choose_raw_dir(
    raw_dir: Path, address: PostgresAddress, *, staging_parents: Sequence[Path] | None = None
) -> ServerRawDir:
    """The folder the server can read the raw files from: `raw_dir` itself, or a fresh readable copy.

    A copy (`copied`) belongs to the caller, who removes it with `remove_copy` after the run.
    """
    raw_dir = raw_dir.resolve()
    names = [n for n in raw_file_names() if (raw_dir / n).is_file()]
    if not names:  # nothing to check; the load's own preflight names the missing files
        return ServerRawDir(raw_dir, copied=False)
    connection = _connect(address)
    try:
        cursor = connection.cursor()
        _require_file_privileges(cursor, address)
        parents = _staging_parents() if staging_parents is None else staging_parents
        return decide(raw_dir, names, lambda folder, files: unreadable_files(cursor, folder, files), parents, address)
    finally:
        connection.close()


def decide(
    raw_dir: Path, names: Sequence[str], probe: Probe, staging_parents: Sequence[Path], address: PostgresAddress
) -> ServerRawDir:
    """`raw_dir` if the server reads it; else the first copy under `staging_parents` that it reads."""
    problems = probe(raw_dir, names)
    if not problems:
        return ServerRawDir(raw_dir, copied=False)
    reason = _first_problem(problems)
    tried: list[str] = []
    for parent in staging_parents:
        staged = _copy_readable(raw_dir, names, parent)
        still = probe(staged, names)
        if not still:
            return ServerRawDir(staged, copied=True, reason=reason)
        shutil.rmtree(staged, ignore_errors=True)
        # Not even a file written for it is there: the server's filesystem is not this machine's.
        if all(error is None for error in still.values()):
            raise PostgresStagingError(_not_this_machine(raw_dir, address, staged))
        tried.append(f"{staged} ({_first_problem(still)})")
    raise PostgresStagingError(
        f"the PostgreSQL server at {address} cannot read the raw files in {raw_dir} ({reason}), nor a copy "
        f"in {'; nor in '.join(tried) or 'a temp folder'}. Point {envvars.RAW_DIR} at a folder its OS user can "
        "read (every parent folder must let it in), or use the local target."
    )


def _not_this_machine(raw_dir: Path, address: PostgresAddress, staged: Path) -> str:
    return (
        f"the PostgreSQL server at {address} does not see this machine's files: it found no copy of the raw "
        f"files in {staged}, a folder written for it. The postgres target loads by having the server read "
        f"{envvars.RAW_DIR} ({raw_dir}) itself, so the server must run on this machine (not another host or a "
        "container without that folder), as a role that is a superuser or has pg_read_server_files. "
        f"Use a PostgreSQL on this machine ({envvars.POSTGRES_HOST}=127.0.0.1), or the local target."
    )


def remove_copy(chosen: ServerRawDir) -> None:
    if chosen.copied:
        shutil.rmtree(chosen.folder, ignore_errors=True)


@contextmanager
def server_readable_raw_dir(
    raw_dir: Path,
    address: PostgresAddress,
    *,
    say: Callable[[str], None] = print,
    staging_parents: Sequence[Path] | None = None,
) -> Iterator[Path]:
    """`raw_dir`, or a readable copy of it for as long as the block runs; says which folder it is."""
    chosen = choose_raw_dir(raw_dir, address, staging_parents=staging_parents)
    if chosen.copied:
        say(
            f"PostgreSQL cannot read {raw_dir} ({chosen.reason}); it reads a copy in {chosen.folder}, "
            "removed after the run"
        )
    else:
        say(f"PostgreSQL reads the raw files in {chosen.folder}")
    try:
        yield chosen.folder
    finally:
        remove_copy(chosen)


@contextmanager
def raw_dir_for_target(
    target: str, raw_dir: Path | None, *, say: Callable[[str], None] = print, address: PostgresAddress | None = None
) -> Iterator[Path | None]:
    """The folder to hand dbt as TICKIT_RAW_DIR: only the postgres target has the server (at `address`) read it."""
    if target != "postgres" or raw_dir is None:
        yield raw_dir
        return
    if address is None:
        raise TypeError("the postgres target needs the server's address")  # a programming error
    with server_readable_raw_dir(raw_dir, address, say=say) as folder:
        yield folder
