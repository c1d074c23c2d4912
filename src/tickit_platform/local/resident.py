"""A local Airflow that outlives the command that started it: `tickit up`, `tickit down`, and the
`tickit run` / `tickit ui` that use it (docs/decisions/021-resident-airflow.md).

Starting Airflow is the largest cost of `tickit run` beyond the run itself (benchmarks/README.md). A
resident Airflow pays it once. Its components are the same as a run's own, started the same way; what
differs is that no command stops them but `tickit down`, so every command that finds one checks it first:
the same settings (or it is restarted with the command's), every component alive (or restarted once,
as supervision does during a run), and the DAG parsed from the current dbt project.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import tickit_runtime
from tickit_platform.dbt_project.manifest import MANIFEST_STAMP, project_fingerprint
from tickit_platform.local.airflow import LocalAirflow, private_dir, private_file
from tickit_platform.local.api_client import AirflowApi
from tickit_platform.local.processes import (
    AdoptedProcess,
    AirflowStartError,
    free_port,
    recorded_components,
    stop_strays,
)
from tickit_runtime.config import DAG_ID, DagConfig
from tickit_runtime.paths import DAGS_DIR

# Its ports, the settings it was started with and the project it last parsed.
RESIDENT_FILE = "resident.json"
# Its processes, in the format supervision and stop_strays read.
RESIDENT_COMPONENTS = "resident-components.json"
# The key of the settings' digests in RESIDENT_FILE.
DIGEST_KEY_FILE = "resident-digest.key"
REPARSE_TIMEOUT = 180.0


@dataclass(frozen=True)
class ResidentState:
    api_port: int
    worker_log_port: int
    trigger_log_port: int
    # Per setting, a keyed digest of its value (settings_digest): enough to say which one changed, and values may
    # be secrets.
    settings: dict[str, str]
    # The dbt project and DAG files, as the DAG processor last parsed them.
    parsed: str


def read_state(airflow_home: Path) -> ResidentState | None:
    try:
        return ResidentState(**json.loads((airflow_home / RESIDENT_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _write_state(airflow: LocalAirflow, parsed: str) -> None:
    state = ResidentState(
        api_port=airflow.api_port,
        worker_log_port=airflow.worker_log_port,
        trigger_log_port=airflow.trigger_log_port,
        settings=settings_digest(airflow),
        parsed=parsed,
    )
    (airflow.airflow_home / RESIDENT_FILE).write_text(json.dumps(asdict(state), indent=2))


def settings_digest(airflow: LocalAirflow) -> dict[str, str]:
    """What the components were started with, and so what a later command must share to use them."""
    values = {
        **airflow.dag_env,
        # The scheduler imports this package once, at start, for its tasks to inherit: a changed package
        # (this repository's developers change it) needs new components as much as a changed setting.
        "tickit_platform package": project_fingerprint(Path(__file__).resolve().parents[1]),
        "tickit_runtime package": project_fingerprint(Path(tickit_runtime.__file__).resolve().parent),
        "python": airflow.python,
        "parallelism": str(airflow.parallelism),
        "metadata database": airflow.sql_alchemy_conn or "sqlite",
    }
    # Keyed with a secret of this installation: a plain digest of a password can be checked against guesses.
    key = _digest_key(airflow.airflow_home)
    return {name: hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16] for name, value in values.items()}


def _digest_key(airflow_home: Path) -> bytes:
    """The key of `settings_digest`, made once per Airflow home, readable by its owner only."""
    private_dir(airflow_home)
    private_file(airflow_home / DIGEST_KEY_FILE, lambda: secrets.token_urlsafe(32))
    return (airflow_home / DIGEST_KEY_FILE).read_bytes()


def parsed_fingerprint(config: DagConfig) -> str:
    """The dbt project (as its manifest's stamp records it) and the DAG files: what a DAG parse reads."""
    stamp = config.manifest_path.parent / MANIFEST_STAMP
    return (stamp.read_text() if stamp.exists() else "-") + project_fingerprint(DAGS_DIR)


def is_up(airflow_home: Path) -> bool:
    """Is a resident Airflow recorded here (alive or not: the command using it checks that)?"""
    return read_state(airflow_home) is not None


def start_resident(airflow: LocalAirflow, config: DagConfig) -> LocalAirflow:
    """Start Airflow for good: it keeps running after this process exits, until `tickit down`."""
    stop_resident(airflow.airflow_home, airflow.say)
    airflow.state_file = RESIDENT_COMPONENTS
    airflow.resident = True
    airflow.start()
    try:
        api = airflow.api()
        api.warm_execution_api()
        api.wait_for_dag(DAG_ID)
    except BaseException:
        airflow.stop()
        raise
    _write_state(airflow, parsed_fingerprint(config))
    return airflow


def stop_resident(airflow_home: Path, say: Callable[[str], None]) -> bool:
    """Stop the resident Airflow, if one is recorded; whether one was."""
    known = (airflow_home / RESIDENT_FILE).exists() or (airflow_home / RESIDENT_COMPONENTS).exists()
    stop_strays(airflow_home, say, RESIDENT_COMPONENTS, why="started by `tickit up`")
    (airflow_home / RESIDENT_FILE).unlink(missing_ok=True)
    return known


def adopt(airflow: LocalAirflow, config: DagConfig) -> LocalAirflow | None:
    """The resident Airflow, made ready for this command's settings; None when no `tickit up` is in force.

    `airflow` carries this command's settings. A resident Airflow started with other ones is restarted with
    these (saying which differ); one of which nothing runs any more (a reboot) is started again.
    """
    home = airflow.airflow_home
    state = read_state(home)
    if state is None:
        return None
    changed = sorted(set(settings_digest(airflow).items()) ^ set(state.settings.items()))
    if changed:
        names = ", ".join(sorted({name for name, _ in changed}))
        airflow.say(f"The Airflow `tickit up` started has other settings ({names}); restarting it with these.")
        return start_resident(airflow, config)
    airflow.api_port = state.api_port
    airflow.worker_log_port = state.worker_log_port
    airflow.trigger_log_port = state.trigger_log_port
    airflow.state_file = RESIDENT_COMPONENTS
    airflow.resident = True
    recorded = recorded_components(home, RESIDENT_COMPONENTS)
    airflow.spawned = [AdoptedProcess(pid, started) for _, pid, started in recorded]
    airflow.started = {pid: started for _, pid, started in recorded if started is not None}
    airflow.processes = {
        name: proc for (name, _, _), proc in zip(recorded, airflow.spawned, strict=True) if name in airflow.components()
    }
    if set(airflow.processes) != set(airflow.components()) or all(p.poll() is not None for p in airflow.spawned):
        airflow.say("The Airflow `tickit up` started is no longer running; starting it again.")
        # Anew, on free ports: since a reboot, another program may have taken the old ones.
        fresh = dataclasses.replace(
            airflow,
            api_port=free_port(),
            worker_log_port=free_port(),
            trigger_log_port=free_port(),
            processes={},
            spawned=[],
            restarts={},
            started={},
        )
        return start_resident(fresh, config)
    # A component that died since (out of memory, a kill) is restarted here, once, as during a run.
    airflow.supervise()
    airflow.wait_healthy()
    return airflow


def refresh_dag(airflow: LocalAirflow, api: AirflowApi, config: DagConfig) -> None:
    """Have the DAG processor parse the DAG again when the dbt project or the DAG files changed since it
    last did, and wait for it: its own interval would leave the first run on the old DAG."""
    state = read_state(airflow.airflow_home)
    current = parsed_fingerprint(config)
    if state is None or state.parsed == current:
        return
    airflow.say("The dbt project or the DAG changed since Airflow parsed it; parsing the DAG again…")
    token = api.call("GET", f"/dags/{DAG_ID}/details")["file_token"]
    deadline = time.monotonic() + REPARSE_TIMEOUT
    # Asked twice, each time waiting for a parse to end: the first to end may be the processor's own,
    # begun on the old files just before they changed (seen: the run then had the old DAG). The second
    # began after the first ended, so after the change.
    for _ in range(2):
        before = api.call("GET", f"/dags/{DAG_ID}")["last_parsed_time"]
        api.call("PUT", f"/parseDagFile/{token}")
        while api.call("GET", f"/dags/{DAG_ID}")["last_parsed_time"] == before:
            errors = api.call("GET", "/importErrors").get("import_errors", [])
            if errors:
                raise AirflowStartError(f"The DAG file failed to import:\n{errors[0].get('stack_trace', errors[0])}")
            if time.monotonic() >= deadline:
                raise AirflowStartError(
                    f"The DAG processor did not parse the DAG again within {REPARSE_TIMEOUT:.0f} s; see "
                    f"{airflow.logs_dir / 'dag_processor'}"
                )
            airflow.supervise()
            time.sleep(0.3)
    _write_state(airflow, current)


@contextmanager
def resident_session(
    airflow: LocalAirflow, config: DagConfig, on_interrupt: Callable[[AirflowApi], Any]
) -> Iterator[tuple[LocalAirflow, AirflowApi]]:
    """Use the resident Airflow for one command; on the way out it keeps running, with its record current.

    Ctrl-C cannot stop components that outlive the command, so `on_interrupt` ends the command's own work
    in it (the runner marks its unfinished run failed, which stops that run's tasks).
    """
    api = airflow.api()
    refresh_dag(airflow, api, config)
    try:
        yield airflow, api
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            on_interrupt(api)
        raise
    finally:
        if airflow.processes:
            airflow.record()
