"""The servers a rehearsal uses: PostgreSQL (Airflow's metadata, the warehouse) and Redis (Celery's broker).

Each rehearsal gets a metadata database of its own, created here and dropped afterwards, and an empty
Redis database number, claimed with a key so that two rehearsals at once do not share a broker.
"""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import psycopg2
from psycopg2 import sql

from tickit_platform.data.postgres_staging import PostgresAddress
from tickit_platform.deploy.rehearsal import RehearsalError

# Where databases are created and dropped from: the server's own, whatever database dbt's address names.
MAINTENANCE_DB = "postgres"


@dataclass(frozen=True)
class Postgres:
    """What the rehearsal does on the server at `address`, the one address model of dbt's postgres target
    (DBT_POSTGRES_*, postgres_staging.PostgresAddress): the staging check, dbt and this talk to one server."""

    address: PostgresAddress = field(default_factory=PostgresAddress)

    def url(self, dbname: str, scheme: str = "postgresql+psycopg2") -> str:
        """The URL of `dbname` on this server (Airflow's metadata database, Celery's results). User and password
        are percent-encoded: SQLAlchemy decodes them, and a raw `@`, `:`, `/` or `%` would otherwise move the
        host, the port or the database, and put the password where an error message quotes it."""
        a = self.address
        user = quote(a.user, safe="")
        auth = f"{user}:{quote(a.password, safe='')}" if a.password else user
        host = f"[{a.host}]" if ":" in a.host else a.host
        return f"{scheme}://{auth}@{host}:{a.port}/{quote(dbname, safe='')}"

    def _connect(self, dbname: str = MAINTENANCE_DB) -> psycopg2.extensions.connection:
        a = self.address
        try:
            conn = psycopg2.connect(
                host=a.host, port=a.port, user=a.user, password=a.password, dbname=dbname, connect_timeout=10
            )
        except psycopg2.OperationalError as err:
            raise RehearsalError(
                f"PostgreSQL is not reachable at {a.host}:{a.port} as {a.user} ({str(err).strip()}); "
                "the rehearsal keeps Airflow's metadata and the warehouse there"
            ) from None
        conn.autocommit = True
        return conn

    def exists(self, dbname: str) -> bool:
        with contextlib.closing(self._connect()) as conn, conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (dbname,))
            return cur.fetchone() is not None

    def create(self, dbname: str) -> None:
        with contextlib.closing(self._connect()) as conn, conn.cursor() as cur:
            cur.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))

    def drop(self, dbname: str) -> None:
        with contextlib.closing(self._connect()) as conn, conn.cursor() as cur:
            cur.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))

    def query(self, dbname: str, statement: str) -> list[tuple[object, ...]]:
        with contextlib.closing(self._connect(dbname)) as conn, conn.cursor() as cur:
            cur.execute(statement)
            return list(cur.fetchall())

    @contextlib.contextmanager
    def scratch_database(self, prefix: str, keep: bool = False) -> Iterator[str]:
        """A new database for the block; dropped afterwards unless keep."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.create(name)
        try:
            yield name
        finally:
            if not keep:
                self.drop(name)


class Redis:
    """Just enough of Redis' protocol to find, claim and empty a database number (no client library here)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 6379) -> None:
        self.host, self.port = host, port

    def _call(self, *commands: tuple[str, ...]) -> list[bytes]:
        payload = b"".join(
            b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in cmd)
            for cmd in commands
        )
        try:
            with socket.create_connection((self.host, self.port), timeout=5) as sock:
                sock.sendall(payload)
                replies: list[bytes] = []
                buffer = b""
                while len(replies) < len(commands):
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\r\n")
                    replies.extend(line for line in lines if line[:1] in (b"+", b":", b"-", b"$") and line != b"$-1")
                    # Bulk replies ($n then the data line) are not needed here: every reply used is +, : or -.
        except OSError as err:
            raise RehearsalError(
                f"Redis is not reachable at {self.host}:{self.port} ({err}); the rehearsal's Celery broker runs there"
            ) from None
        return replies

    def ping(self) -> None:
        """Raises RehearsalError naming the address where Redis does not answer."""
        self._call(("PING",))

    def claim_empty_db(self, owner: str, first: int = 1, last: int = 15) -> int:
        """The lowest empty database number in [first, last], claimed with a key naming the owner."""
        for number in range(first, last + 1):
            replies = self._call(("SELECT", str(number)), ("DBSIZE",))
            if len(replies) == 2 and replies[1] == b":0":
                claimed = self._call(("SELECT", str(number)), ("SETNX", "tickit:rehearsal", owner))
                if claimed[-1:] == [b":1"]:
                    return number
        raise RehearsalError(
            f"no empty Redis database among {first}-{last} at {self.host}:{self.port}; pass --redis-db N to choose one"
        )

    def flush(self, number: int) -> None:
        self._call(("SELECT", str(number)), ("FLUSHDB",))
