"""A real, local Airflow under TICKIT_HOME: API server, scheduler and DAG processor as child processes.

`tickit run` and `tickit ui` both start the same components Airflow's `standalone` would, but with
free ports, telemetry off, a small LocalExecutor and everything kept under TICKIT_HOME. They run in
their own process group so that stopping (or Ctrl-C) ends exactly what was started, nothing else.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tickit_platform.dbt_project.docs import cosmos_docs_projects
from tickit_platform.errors import TickitError
from tickit_platform.paths import DAGS_DIR

TERMINAL_RUN_STATES = {"success", "failed"}
ADMIN_USER = "admin"


class AirflowStartError(TickitError):
    """A component did not come up; the message names its log file."""


class ComponentDiedError(TickitError):
    """A component exited during a run and again after its one restart; the message says which and why."""


# Every component is restarted once (docs/decisions/018-supervision.md): Airflow is built for it (the
# scheduler adopts or fails by heartbeat what its predecessor left, the API server is stateless), and a
# second death in one run means something a restart will not fix.
RESTARTS_PER_COMPONENT = 1
LOG_TAIL_LINES = 15
STATE_FILE = "components.json"
# Where SimpleAuthManager keeps the admin's generated password (in AIRFLOW_HOME).
AUTH_MANAGER_FILE = "simple_auth_manager_passwords.json.generated"
# How long `stop` waits for killed processes to end.
STOP_KILL_TIMEOUT = 10.0
API_ATTEMPTS = 5
# The exit "code" of a component this process did not start (a resident one, local/resident.py): it is not
# our child, so its real exit status is not ours to read.
GONE = -(1 << 16)


class Process(Protocol):
    """What supervision needs of a component: a `subprocess.Popen`, or a resident one adopted by PID."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


@dataclass
class AdoptedProcess:
    """A component an earlier `tickit up` started: not this process's child, so it is watched through /proc."""

    pid: int
    # When it started (process_start): a PID alone may name another process since.
    started: str | None
    returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and not _is_ours(self.pid, self.started):
            self.returncode = GONE
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"PID {self.pid}", timeout or 0.0)
            time.sleep(0.05)
        return code


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The triggerer holds every model task while it waits (docs/decisions/023): one trigger per waiting task,
# so 1,000 models need room for 1,000 at once (Airflow's default, written down so it is not lowered by
# accident). A killed triggerer is restarted by supervision at once; its triggers move to the new one when
# the old one misses its heartbeats, so those are short here: a few seconds rather than half a minute.
TRIGGERER_SETTINGS = {
    "AIRFLOW__TRIGGERER__CAPACITY": "1000",
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "8",
    # Cosmos 1.15 otherwise rewrites a Variable holding every result so far after each result the shared
    # build publishes: quadratic in the project's size. Without it the buffer is still saved once when the
    # build fails (its failure callbacks); a build killed outright leaves its models to their own tasks.
    "AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY": "False",
}


@dataclass
class LocalAirflow:
    """Configuration and lifecycle of one local Airflow installation."""

    airflow_home: Path
    dag_env: Mapping[str, str]
    parallelism: int = 24
    dags_folder: Path = DAGS_DIR
    sql_alchemy_conn: str | None = None
    cosmos_cache_dir: Path = Path(".tickit/cosmos")
    # Served by Cosmos' plugin in the UI (Browse > dbt Docs); None leaves the docs unconfigured.
    dbt_docs_dir: Path | None = None
    api_port: int = field(default_factory=free_port)
    # The defaults (8793, 8794) collide across installations; every port is picked free, once, so that a
    # restarted component serves its logs where the others expect them.
    worker_log_port: int = field(default_factory=free_port)
    trigger_log_port: int = field(default_factory=free_port)
    processes: dict[str, Process] = field(default_factory=dict)
    # The interpreter whose Airflow runs (`tickit deploy rehearse` uses MWAA's, in its own virtualenv),
    # and the environment the components start from (None: this process's).
    python: str = sys.executable
    base_env: Mapping[str, str] | None = None
    # Where supervision tells the user what happened to a component.
    say: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))
    restarts: dict[str, int] = field(default_factory=dict)
    # Every process started, restarted ones included: a killed component's children (a scheduler's
    # LocalExecutor workers and their tasks) live on in its process group and must be stopped too.
    spawned: list[Process] = field(default_factory=list)
    # Where the running components are listed, so that a later start (or `tickit down`) can stop them.
    state_file: str = STATE_FILE
    # Started by `tickit up` (local/resident.py): it outlives the command using it, which must not stop it.
    resident: bool = False
    # Each spawned process's start time (process_start), by PID: recorded with it, so that a later start
    # stops only that process and never another that reused its PID.
    started: dict[int, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def logs_dir(self) -> Path:
        return self.airflow_home / "logs"

    def env(self) -> dict[str, str]:
        home = self.airflow_home
        jwt_secret_file = home / "jwt_secret"
        home.mkdir(parents=True, exist_ok=True)
        private_file(jwt_secret_file, lambda: secrets.token_urlsafe(32))
        # Airflow writes the admin's password there (opening it to append, which keeps our mode).
        private_file(home / AUTH_MANAGER_FILE, lambda: "{}\n")
        env = dict(os.environ if self.base_env is None else self.base_env)
        env.update(self.dag_env)
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                # LocalExecutor forks this many workers; the model tasks mostly wait on the one dbt
                # process, so they are cheap, but each is a process: keep it bounded.
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.sql_alchemy_conn or f"sqlite:///{home}/airflow.db",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret_file.read_text(),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.worker_log_port),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.trigger_log_port),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
                "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
                "AIRFLOW__COSMOS__CACHE_DIR": str(self.cosmos_cache_dir),
                # Runs start when asked (`tickit run`, the UI's trigger button), never by surprise
                # on the first unpause.
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES_REGEXP": r"(airflow|cosmos)\..*",
                "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
                "AIRFLOW__WEBSERVER__EXPOSE_CONFIG": "False",
                **TRIGGERER_SETTINGS,
                "SCARF_ANALYTICS": "false",
                "DO_NOT_TRACK": "true",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.dbt_docs_dir is not None:
            env["AIRFLOW__COSMOS__DBT_DOCS_PROJECTS"] = cosmos_docs_projects(str(self.dbt_docs_dir))
        return env

    def _airflow(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.python, "-m", "airflow", *args],
            env=self.env(),
            check=check,
            capture_output=True,
            text=True,
        )

    def migrate(self) -> None:
        """Create or upgrade the metadata database (idempotent).

        Skipped (about 5 s) when this Airflow already migrated this SQLite file: nothing could have changed
        its schema since. A server database is always migrated: it may have been dropped and re-created.
        """
        self.airflow_home.mkdir(parents=True, exist_ok=True)
        stamp = self.airflow_home / "migrated.stamp"
        database = self.airflow_home / "airflow.db"
        done_for = f"{self.python}: apache-airflow {importlib.metadata.version('apache-airflow')}"
        if self.sql_alchemy_conn is None and database.exists() and stamp.exists() and stamp.read_text() == done_for:
            return
        result = self._airflow("db", "migrate", check=False)
        if result.returncode != 0:
            log = self.airflow_home / "db-migrate.log"
            log.write_text(result.stdout + result.stderr)
            raise AirflowStartError(f"`airflow db migrate` failed; see {log}")
        if self.sql_alchemy_conn is None:
            stamp.write_text(done_for)

    def components(self) -> tuple[str, ...]:
        # The triggerer is where the model tasks wait and end (orchestration/model_trigger.py).
        return ("api-server", "scheduler", "dag-processor", "triggerer")

    def command(self, name: str) -> list[str]:
        # The scheduler forks LocalExecutor workers, which fork the task processes: starting it
        # through a module that first imports dbt and Cosmos lets every task inherit them warm.
        module = "tickit_platform.local.warm_airflow" if name == "scheduler" else "airflow"
        return [self.python, "-m", module, *name.split()]

    def component_env(self, name: str, env: dict[str, str]) -> dict[str, str]:
        """The environment of one component, from the shared one; every component shares it here."""
        return env

    def component_cwd(self, name: str) -> Path | None:
        return None

    def start(self, components: tuple[str, ...] | None = None) -> None:
        self.stop_strays()
        self.migrate()
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        env = self.env()
        for name in components or self.components():
            self._spawn(name, env)
        self.record()
        self.wait_healthy()

    def _spawn(self, name: str, env: dict[str, str]) -> None:
        # The API server prints the admin's password into its log: the logs are the user's only.
        log = os.fdopen(os.open(self.component_log(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        self.processes[name] = subprocess.Popen(
            self.command(name),
            env=self.component_env(name, env),
            cwd=self.component_cwd(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.spawned.append(self.processes[name])
        # Our child, not yet reaped: its PID cannot have been reused yet.
        if (started := process_start(self.processes[name].pid)) is not None:
            self.started[self.processes[name].pid] = started

    def component_log(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    def record(self) -> None:
        """Which processes this installation runs, so a later start can stop them if this one was killed."""
        names = {proc.pid: name for name, proc in self.processes.items()}
        groups = [[names.get(proc.pid, "component"), proc.pid, self.started.get(proc.pid)] for proc in self.spawned]
        (self.airflow_home / self.state_file).write_text(json.dumps(groups))

    def stop_strays(self) -> None:
        stop_strays(self.airflow_home, self.say, self.state_file)

    def supervise(self) -> None:
        """Notice a component that exited: restart it once, or stop the run saying why.

        Called on every poll of a run (twice a second), so a death is noticed within a second.
        """
        for name, proc in list(self.processes.items()):
            code = proc.poll()
            if code is None:
                continue
            what = f"Airflow {name} (PID {proc.pid}) {_exit_reason(code)}"
            tail = _tail(self.component_log(name), LOG_TAIL_LINES)
            if self.restarts.get(name, 0) >= RESTARTS_PER_COMPONENT:
                raise ComponentDiedError(
                    f"{what} again, after a restart, so the run was stopped. Last lines of "
                    f"{self.component_log(name)}:\n{tail}"
                )
            self.say(f"{what}; restarting it. Last lines of {self.component_log(name)}:\n{tail}")
            self.restarts[name] = self.restarts.get(name, 0) + 1
            self._spawn(name, self.env())
            self.record()

    def wait_for_log_lines(self, folder: str, text: str, count: int, timeout: float) -> int:
        """Wait until `count` lines of the logs under logs/<folder> contain `text`; how many did."""
        deadline = time.monotonic() + timeout
        while True:
            found = 0
            for log in (self.logs_dir / folder).rglob("*.log"):
                with contextlib.suppress(OSError):
                    found += sum(text in line for line in log.read_text(errors="replace").splitlines())
            if found >= count or time.monotonic() >= deadline:
                return found
            self.supervise()
            time.sleep(0.5)

    def wait_healthy(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.processes.items():
                if (code := proc.poll()) is not None:
                    raise AirflowStartError(
                        f"Airflow {name} {_exit_reason(code)}; see {self.logs_dir / (name + '.log')}"
                    )
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise AirflowStartError(f"Airflow API server did not answer on {self.url}; see {self.logs_dir}")

    def stop(self, grace: float = 5.0, kill_timeout: float = STOP_KILL_TIMEOUT) -> None:
        """Stop every component and its children (their own process groups), politely then firmly.

        Returns within about `grace` + `kill_timeout` seconds: a process that SIGKILL does not end by then
        (stuck in the kernel, on a hung disk) is named, and stays recorded for the next start to stop.
        """
        for proc in self.spawned:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.spawned:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
        # Also after a leader exited: what it started may still run in its session.
        _kill_sessions({proc.pid for proc in self.spawned})
        deadline = time.monotonic() + kill_timeout
        survivors = []
        for proc in self.spawned:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                survivors.append(proc)
        if survivors:
            pids = ", ".join(str(proc.pid) for proc in survivors)
            self.say(
                f"Airflow process(es) {pids} did not end within {kill_timeout:.0f} s of SIGKILL (a process stuck "
                "in the kernel, on a hung disk or network file system): left as they are; the next start stops "
                "them if they are still running then."
            )
        self.processes.clear()
        self.spawned = survivors
        if survivors:
            self.record()
        else:
            (self.airflow_home / self.state_file).unlink(missing_ok=True)

    def __enter__(self) -> LocalAirflow:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # The REST API, as a user's script would call it.
    def password(self) -> str:
        path = self.airflow_home / AUTH_MANAGER_FILE
        deadline = time.monotonic() + 30
        while ADMIN_USER not in _passwords(path) and time.monotonic() < deadline:
            time.sleep(0.2)
        return str(json.loads(path.read_text())[ADMIN_USER])

    def api(self) -> AirflowApi:
        return AirflowApi(self.url, ADMIN_USER, self.password())


def _passwords(path: Path) -> dict[str, Any]:
    """The auth manager's passwords file; empty while it has not written it (we create it, 0600, first)."""
    try:
        found = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def stop_strays(
    airflow_home: Path,
    say: Callable[[str], None],
    state_file: str = STATE_FILE,
    why: str = "left running by an earlier tickit that was killed",
) -> None:
    """Stop what an earlier `tickit` left running under this AIRFLOW_HOME (it was killed, no cleanup)."""
    state = airflow_home / state_file
    if not state.exists():
        return
    ours = set()
    for name, pid, started in recorded_components(airflow_home, state_file):
        if started is None and process_start(pid) is not None:
            # Recorded without its start time (by an older version): it may be another program's PID by now.
            say(f"Not stopping PID {pid} (recorded as Airflow {name}): nothing says it is still that process.")
        elif _is_ours(pid, started):
            say(f"Stopping Airflow {name} (PID {pid}) {why}.")
            ours.add(pid)
    _kill_sessions(ours)
    state.unlink(missing_ok=True)


def recorded_components(airflow_home: Path, state_file: str = STATE_FILE) -> list[tuple[str, int, str | None]]:
    """(name, PID, start time) of every process `LocalAirflow.record` listed in this state file (the start
    time None where the record has none); none if it is unreadable."""
    try:
        recorded = json.loads((airflow_home / state_file).read_text())
        return [(str(row[0]), int(row[1]), str(row[2]) if row[2:3] and row[2] else None) for row in recorded]
    except (OSError, ValueError, TypeError, IndexError):
        return []


def _exit_reason(code: int) -> str:
    if code == GONE:
        return "is no longer running"
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def _is_ours(pid: int, started: str | None) -> bool:
    """Is this PID still the process recorded with this start time, and running? A PID is reused (after it
    exits, or a reboot); a PID together with its start time names one process for good."""
    if started is None or process_start(pid) != started:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie holds nothing
    except (OSError, IndexError):
        return True  # no /proc (macOS): the start time matched


def process_start(pid: int) -> str | None:
    """When this process started, as the system records it; None when no such process exists.

    Linux: field 22 of /proc/<pid>/stat (clock ticks after boot) with the boot's id, since the same tick
    comes again after a reboot. Elsewhere (macOS): what `ps -o lstart=` prints.
    """
    if Path("/proc/self/stat").exists():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        except (OSError, IndexError):
            return None
        # The fields after the command's ")" start at field 3: field 22 is the 20th of them.
        return f"{boot}:{fields[19]}" if len(fields) > 19 else None
    try:
        result = subprocess.run(["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def private_file(path: Path, content: Callable[[], str]) -> None:
    """Make sure `path` exists and only its owner can read it; a new one is created so (never widened and
    then narrowed), with `content()`. One from an older version, readable by others, is narrowed."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(content())


def session_members(sessions: set[int]) -> list[int]:
    """The processes still running in these sessions (zombies, which hold nothing, aside).

    Each component is started in a session of its own (its PID is the session id), and everything it
    starts stays in it, a task process that moved to a process group of its own included.
    """
    members = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[3]) in sessions:
            members.append(int(proc.name))
    return members


def _kill_sessions(sessions: set[int], timeout: float = 5.0) -> None:
    """SIGKILL everything in these sessions, and return once nothing of them runs (ports, files released)."""
    deadline = time.monotonic() + timeout
    while (members := session_members(sessions)) and time.monotonic() < deadline:
        for pid in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def _signal_group(proc: Process, sig: signal.Signals) -> None:
    if proc.poll() is not None and sig == signal.SIGTERM:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


class AirflowApi:
    """The handful of Airflow REST API v2 calls the runner needs, with a token from the auth manager."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        body = json.dumps({"username": username, "password": password}).encode()
        req = urllib.request.Request(
            f"{base_url}/auth/token", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            self.token = json.loads(resp.read())["access_token"]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.base_url}/api/v2{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        # SQLite metadata answers "database is locked" (a 500) while many tasks start at once: try again.
        for attempt in range(API_ATTEMPTS):
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    return json.loads(resp.read() or b"null")
            except urllib.error.HTTPError as err:
                if err.code < 500 or attempt == API_ATTEMPTS - 1:
                    raise
            time.sleep(1.0 + attempt)
        raise AssertionError("unreachable")

    def warm_execution_api(self) -> None:
        """The API server builds its task-execution API on first use (about 4 s here); pay that now,
        while Airflow starts, rather than inside the first task of a run."""
        with urllib.request.urlopen(f"{self.base_url}/execution/health", timeout=60):
            pass

    def wait_for_dag(self, dag_id: str, timeout: float = 180.0) -> None:
        """Wait until the DAG processor has parsed the DAG; fail with its import error if it has one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.call("GET", f"/dags/{dag_id}")
                return
            except urllib.error.HTTPError as err:
                if err.code != 404:
                    raise
            errors = self.call("GET", "/importErrors").get("import_errors", [])
            if errors:
                raise AirflowStartError(f"The DAG file failed to import:\n{errors[0].get('stack_trace', errors[0])}")
            time.sleep(0.5)
        raise AirflowStartError(f"DAG {dag_id} did not appear within {timeout:.0f} s")

    def trigger(self, dag_id: str, run_id: str, logical_date: str | None, conf: dict[str, Any] | None = None) -> str:
        self.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        body: dict[str, Any] = {"dag_run_id": run_id, "logical_date": logical_date, "conf": conf or {}}
        try:
            return str(self.call("POST", f"/dags/{dag_id}/dagRuns", body)["dag_run_id"])
        except urllib.error.HTTPError as err:
            if err.code == 409:  # a retried request whose first try was stored after all
                return run_id
            raise

    def fail_unfinished_runs(self, dag_id: str, prefix: str) -> list[str]:
        """Mark failed the runs with this id prefix that are still queued or running; their ids."""
        runs = self.call("GET", f"/dags/{dag_id}/dagRuns?state=queued&state=running&limit=100")["dag_runs"]
        abandoned = [str(r["dag_run_id"]) for r in runs if str(r["dag_run_id"]).startswith(prefix)]
        for run_id in abandoned:
            self.call("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", {"state": "failed"})
        return abandoned

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of the run: the API returns at most `maximum_page_limit` (100) per page."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.call(
                "GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances?order_by=id&limit=100&offset={len(found)}"
            )
            found.extend(page["task_instances"])
            if not page["task_instances"] or len(found) >= int(page["total_entries"]):
                return found

    def clear(self, dag_id: str, run_id: str, task_ids: list[str], downstream: bool = True) -> None:
        body = {
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": task_ids,
            "include_downstream": downstream,
            "only_failed": False,
            "reset_dag_runs": True,
        }
        self.call("POST", f"/dags/{dag_id}/clearTaskInstances", body)

    def wait_run(
        self,
        dag_id: str,
        run_id: str,
        on_change: Callable[[list[dict[str, Any]]], None] | None = None,
        timeout: float = 1800.0,
        interval: float = 0.5,
        supervise: Callable[[], None] | None = None,
    ) -> str:
        """Poll until the run ends; `on_change` sees the task instances whenever a state changes.

        `supervise` is called on every poll: it restarts a dead component or raises. Meanwhile a
        restarting API server refuses connections; that is waited out, not taken for the run's end.
        """
        deadline = time.monotonic() + timeout
        seen: dict[str, str | None] = {}
        while time.monotonic() < deadline:
            if supervise is not None:
                supervise()
            try:
                tis = self.task_instances(dag_id, run_id)
                states = {ti["task_id"]: ti["state"] for ti in tis}
                if states != seen and on_change is not None:
                    on_change(tis)
                seen = states
                state = self.run_state(dag_id, run_id)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if supervise is None:
                    raise
                time.sleep(interval)
                continue
            if state in TERMINAL_RUN_STATES:
                if on_change is not None:
                    on_change(self.task_instances(dag_id, run_id))
                return state
            time.sleep(interval)
        raise TimeoutError(f"DAG run {run_id} did not finish within {timeout:.0f} s")
