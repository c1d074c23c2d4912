"""The warehouse a run used, named for a person and opened read-only, on whichever engine it is.

DuckDB (a file under TICKIT_HOME), PostgreSQL (a server and database, `DBT_POSTGRES_*`) and Redshift
(`DBT_REDSHIFT_*`, IAM) are read through one small interface, `WarehouseReader`, with one SQL text per
figure that all three engines take (no `filter (where …)`, no DuckDB-only function): the run's summary,
`tickit quarantine` and the report read whichever the run wrote to, in the schemas its prefix names.
A location is described without its password: a PostgreSQL server as user@host:port/database.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tickit_platform.data.postgres_staging import PostgresAddress, connect
from tickit_runtime import envvars
from tickit_runtime.errors import TickitError
from tickit_runtime.schemas import WarehouseSchemas


class WarehouseReadError(TickitError):
    """The warehouse could not be opened for reading; the message names it (never a password) and what to do."""


@dataclass(frozen=True)
class WarehouseLocation:
    """Which warehouse a target writes to: a DuckDB file, a PostgreSQL database, or a Redshift database."""

    target: str
    schemas: WarehouseSchemas
    duckdb_path: Path | None = None  # the local target's file
    server: PostgresAddress | None = None  # the postgres target's server
    redshift: tuple[tuple[str, str], ...] = ()  # the dwh target's DBT_REDSHIFT_* variables
    # DuckDB's settings for reading the local file (memory_limit, threads), as dbt has them: unbounded, reading
    # the gold views at scale 100 for a summary took DuckDB's default 80% of the machine in `tickit` itself.
    duckdb_config: tuple[tuple[str, str], ...] = ()

    @property
    def engine(self) -> str:
        return {"local": "DuckDB", "postgres": "PostgreSQL", "dwh": "Redshift"}[self.target]

    def where(self) -> str:
        """The file, or the server and database, without a password."""
        if self.target == "local":
            return str(self.duckdb_path)
        if self.target == "postgres" and self.server is not None:
            s = self.server
            return f"{s.user}@{s.host}:{s.port}/{s.dbname}"
        named = dict(self.redshift)
        host = named.get(envvars.REDSHIFT_HOST) or named.get(envvars.REDSHIFT_WORKGROUP_NAME) or "?"
        port = named.get(envvars.REDSHIFT_PORT) or "5439"
        user, dbname = named.get(envvars.REDSHIFT_USER) or "admin", named.get(envvars.REDSHIFT_DBNAME) or "dev"
        return f"{user}@{host}:{port}/{dbname}"

    def describe(self) -> str:
        """One line for a person: the engine, where it is and the schemas the run wrote (a DuckDB file
        with the seed's names is just its path, as it always was)."""
        if self.target == "local" and not self.schemas.prefix:
            return str(self.duckdb_path)
        return f"{self.engine} {self.where()}, schemas {self.schemas.describe()}"

    def exists(self) -> bool:
        """False only where that is known without connecting: a DuckDB file not written yet."""
        return self.target != "local" or (self.duckdb_path is not None and self.duckdb_path.is_file())


class WarehouseReader:
    """One read-only connection and the queries the readers send through it.

    SQL is written with `?` for parameters (DuckDB's style); the servers' drivers take `%s`.
    """

    def __init__(self, connection: Any, location: WarehouseLocation, errors: tuple[type[Exception], ...]) -> None:
        self._connection = connection
        self.location = location
        # What a failed query raises on this engine: a reader catches these for one figure and goes on.
        self.errors = errors

    @property
    def schemas(self) -> WarehouseSchemas:
        return self.location.schemas

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The columns and rows of one statement."""
        if self.location.target == "local":
            cursor = self._connection.execute(sql, list(params))
            return [d[0] for d in cursor.description or []], cursor.fetchall()
        text = sql.replace("%", "%%").replace("?", "%s") if params else sql
        cursor = self._connection.cursor()
        try:
            cursor.execute(text, tuple(params) if params else None)
            columns = [d[0] for d in cursor.description or []]
            return columns, [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()


@contextlib.contextmanager
def open_warehouse(location: WarehouseLocation) -> Iterator[WarehouseReader]:
    """A read-only reader of the warehouse at `location`, closed when the block ends."""
    if location.target == "local":
        import duckdb

        try:
            con = duckdb.connect(str(location.duckdb_path), read_only=True, config=dict(location.duckdb_config))
        except duckdb.Error as err:
            raise WarehouseReadError(f"cannot read the warehouse {location.where()}: {first_line(err)}") from None
        with con, _said(location, (duckdb.Error,)):
            yield WarehouseReader(con, location, (duckdb.Error,))
        return
    if location.target == "postgres":
        import psycopg2  # dbt-postgres' own driver

        connection = _connect_postgres(location)
        errors: tuple[type[Exception], ...] = (psycopg2.Error,)
    else:
        import redshift_connector  # dbt-redshift's own driver

        connection = _connect_redshift(location)
        errors = (redshift_connector.error.Error,)
    try:
        with _said(location, errors):
            yield WarehouseReader(connection, location, errors)
    finally:
        connection.close()


@contextlib.contextmanager
def _said(location: WarehouseLocation, errors: tuple[type[Exception], ...]) -> Iterator[None]:
    """An engine's error that no reader caught for its own figure, as one line naming the warehouse."""
    try:
        yield
    except errors as err:
        raise WarehouseReadError(
            f"reading the warehouse ({location.engine} {location.where()}) failed: {first_line(err)}"
        ) from None


def first_line(err: Exception) -> str:
    # A server's message spans lines (PostgreSQL adds the statement's position); the first one says it.
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _connect_postgres(location: WarehouseLocation) -> Any:
    server = location.server
    if server is None:
        raise TypeError("the postgres target needs the server's address")  # a programming error
    # Read-only, autocommit: one failed figure (a view a failed run left unbuilt) must not abort those after it.
    return connect(
        server,
        lambda detail: WarehouseReadError(
            f"cannot read the warehouse: no connection to PostgreSQL at {location.where()} ({detail}). Start the "
            f"server, or set {', '.join(envvars.POSTGRES[:4])} and {envvars.POSTGRES_PASSWORD} to reach it."
        ),
        readonly=True,
    )


def _connect_redshift(location: WarehouseLocation) -> Any:
    """IAM authentication with the same variables as profiles.yml's `dwh` output (boto3's credentials)."""
    import redshift_connector

    named: Mapping[str, str] = dict(location.redshift)
    workgroup = named.get(envvars.REDSHIFT_WORKGROUP_NAME) or None
    try:
        connection = redshift_connector.connect(
            iam=True,
            host=named.get(envvars.REDSHIFT_HOST) or None,
            port=int(named.get(envvars.REDSHIFT_PORT) or 5439),
            database=named.get(envvars.REDSHIFT_DBNAME) or "dev",
            db_user=named.get(envvars.REDSHIFT_USER) or "admin",
            region=named.get(envvars.REDSHIFT_REGION) or None,
            cluster_identifier=named.get(envvars.REDSHIFT_CLUSTER_ID) or None,
            serverless_work_group=workgroup,
            is_serverless=workgroup is not None,
        )
    except Exception as err:  # the driver raises its own, boto3's and socket errors alike
        raise WarehouseReadError(
            f"cannot read the warehouse: no connection to Redshift at {location.where()} ({type(err).__name__}). "
            f"Check {envvars.REDSHIFT_HOST}, {envvars.REDSHIFT_WORKGROUP_NAME} or {envvars.REDSHIFT_CLUSTER_ID}, "
            "and the AWS credentials."
        ) from None
    connection.autocommit = True
    return connection
