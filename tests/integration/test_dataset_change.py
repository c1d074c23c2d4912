"""One dataset per warehouse: after the raw files change, silver holds the new dataset alone.

One warehouse is loaded and built with seed A, then seed B at the same scale, then official-format files
downloaded as the official zip is (from 127.0.0.1); after each step its tables must equal those of a fresh
warehouse built from that step's files only. The later steps run with a data interval, as a scheduled DAG
run does: an incremental model that only replaced that day's rows would hold the two datasets mixed, and
with seeds A and B sharing every key, nothing but a comparison of the contents would show it.
"""

from __future__ import annotations

import io
import shutil
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from tests.support import MODELS, fresh_database, psql, run_dbt, run_dbt_postgres, server_readable_synthetic

from tickit_platform.data.fetch import fetch
from tickit_platform.data.provenance import read_provenance
from tickit_platform.data.synth import generate

SCALE = 0.02
# Every silver table and gold view: what a fresh warehouse built from the step's files holds.
COMPARED = tuple(f"{name.split('_')[0]}.{name}" for name in MODELS if not name.startswith("bronze_"))
# A scheduled run's day (the DAG passes these vars on scheduled and backfill runs).
DAY = ["--vars", "{tickit_interval_start: '2008-03-10 00:00:00', tickit_interval_end: '2008-03-11 00:00:00'}"]
REBUILT = "the raw files changed since it was built"


def _rows(database: Path, relation: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(f"select * from {relation} order by all").fetchall()


@dataclass(frozen=True)
class Datasets:
    seed_a: Path
    seed_b: Path
    official: Path


def _zip_like_the_official(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.glob("*.txt")):
            zf.write(path, "tickitdb/" + path.name)
    return buf.getvalue()


@pytest.fixture(scope="module")
def served_zip() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A server on 127.0.0.1 that serves whatever zip the test puts at a path."""
    bodies: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory, served_zip: tuple[str, dict[str, bytes]]) -> Datasets:
    root = tmp_path_factory.mktemp("datasets")
    base, bodies = served_zip
    # The official files' shape at their full size, downloaded and verified (row counts included) as the
    # official download is: only the URL differs (TICKIT_DATA_URL).
    bodies["/samples/tickitdb.zip"] = _zip_like_the_official(generate(root / "built", scale=1, seed=3))
    official = fetch(root / "official", official_url=f"{base}/samples/tickitdb.zip", progress=False)
    assert read_provenance(official).kind == "official"
    return Datasets(
        seed_a=generate(root / "a", scale=SCALE, seed=1),
        seed_b=generate(root / "b", scale=SCALE, seed=2),
        official=official,
    )


def _load_and_run(work: Path, database: Path, raw: Path, *extra: str) -> str:
    load = run_dbt(["run-operation", "load_raw_tables"], work, database, raw)
    assert load.returncode == 0, load.output
    built = run_dbt(["run", *extra], work, database, raw)
    assert built.returncode == 0, built.output
    return built.output


def test_silver_holds_only_the_loaded_dataset_after_each_change(datasets: Datasets, tmp_path: Path) -> None:
    kept = tmp_path / "kept" / "tickit.duckdb"
    kept.parent.mkdir()
    steps = [
        ("seed A", datasets.seed_a, []),
        ("seed B, same scale", datasets.seed_b, DAY),
        ("official files", datasets.official, DAY),
    ]
    for n, (label, raw, extra) in enumerate(steps):
        output = _load_and_run(tmp_path, kept, raw, *extra)
        if n:
            assert f"silver_listing: {REBUILT}" in output, label
            assert f"silver_sales: {REBUILT}" in output, label
        fresh = tmp_path / f"fresh-{n}" / "tickit.duckdb"
        fresh.parent.mkdir()
        _load_and_run(tmp_path, fresh, raw)
        for relation in COMPARED:
            assert _rows(kept, relation) == _rows(fresh, relation), f"{label}: {relation}"

    # The same files again, copied elsewhere: the identity is their contents, not where they lie, so nothing
    # is rebuilt and only the scheduled day is replaced.
    copy = Path(shutil.copytree(datasets.official, tmp_path / "official-copy"))
    again = _load_and_run(tmp_path, kept, copy, *DAY)
    assert REBUILT not in again
    for relation in COMPARED:
        assert _rows(kept, relation) == _rows(fresh, relation), f"same files again: {relation}"


def _pg_rows(database: str, relation: str) -> list[str]:
    done = psql(f"select * from {relation} order by 1", database)
    assert done.returncode == 0, done.stderr
    return sorted(done.stdout.splitlines())


def test_postgres_rebuilds_when_the_seed_changes(tmp_path: Path) -> None:
    with (
        server_readable_synthetic("tickit-ds-a-", SCALE, 1) as seed_a,
        server_readable_synthetic("tickit-ds-b-", SCALE, 2) as seed_b,
        fresh_database("tickit_dataset_kept") as kept,
        fresh_database("tickit_dataset_fresh") as fresh,
    ):
        for database, steps in ((kept, [(seed_a, []), (seed_b, DAY)]), (fresh, [(seed_b, [])])):
            for raw, extra in steps:
                load = run_dbt_postgres(["run-operation", "load_raw_tables"], tmp_path, database, raw)
                assert load.returncode == 0, load.output
                built = run_dbt_postgres(["run", *extra], tmp_path, database, raw)
                assert built.returncode == 0, built.output
            if database == kept:
                assert f"silver_listing: {REBUILT}" in built.output
        for relation in COMPARED:
            assert _pg_rows(kept, relation) == _pg_rows(fresh, relation), relation
