"""A real, local Airflow under TICKIT_HOME: API server, scheduler, DAG processor and triggerer as children.

`tickit run` and `tickit ui` both start the same components Airflow's `standalone` would, but with
free ports, telemetry off, a small LocalExecutor and everything kept under TICKIT_HOME. They run in
their own process group so that stopping (or Ctrl-C) ends exactly what was started, nothing else.

The components' processes (sessions, the state file, strays left by a killed `tickit`) are handled by
local/processes.py; the REST API they serve is called through local/api_client.py.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tickit_platform.dbt_project.docs import cosmos_docs_projects
from tickit_platform.local.api_client import AirflowApi
from tickit_platform.local.liveness import HEARTBEAT_FIELDS, HeartbeatWatch, latest_heartbeat, session_activity
from tickit_platform.local.processes import (
    GONE,
    STATE_FILE,
    AirflowStartError,
    ComponentDiedError,
    ForkedProcess,
    Process,
    free_port,
    kill_sessions,
    process_start,
    signal_group,
    stop_strays,
)
from tickit_platform.local.warm_airflow import API_SERVER, fork_component, preload, preload_for_api_server
from tickit_runtime.alerts.settings import sensitive_variable_names
from tickit_runtime.paths import DAGS_DIR

ADMIN_USER = "admin"

# Every component is restarted once (docs/decisions/018-supervision.md): Airflow is built for it (the
# scheduler adopts or fails by heartbeat what its predecessor left, the API server is stateless), and a
# second death in one run means something a restart will not fix.
RESTARTS_PER_COMPONENT = 1
LOG_TAIL_LINES = 15
# Where SimpleAuthManager keeps the admin's generated password (in AIRFLOW_HOME).
AUTH_MANAGER_FILE = "simple_auth_manager_passwords.json.generated"
# How long `stop` waits for killed processes to end.
STOP_KILL_TIMEOUT = 10.0
# How long `stop` lets the components end on their own before it kills what is left. They take 0.1 to 0.4 s,
# except the triggerer, which now and then waits 10 s more for nothing: once its trigger runner has closed every
# pipe but not yet exited, Airflow's supervisor sleeps out its whole escalation delay (`WatchedSubprocess.kill`
# selects on no pipe left). Killing it then loses nothing: its runner has ended.
STOP_GRACE = 2.0
# Airflow's option naming the Variables (and connection extras) whose values its UI, REST API and logs hide.
SENSITIVE_NAMES_OPTION = "AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES"

# What a run writes may hold secrets (a task's log quotes its environment's errors; the metadata database holds
# the serialized DAG and the Variables): the user's only. Airflow creates task logs group-writable (0o664, its
# folders 0o775) and chmods nothing back, so its own options say otherwise; airflow.db is created by us first.
PRIVATE_FILE_SETTINGS = {
    "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS": "0o600",
    "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS": "0o700",
}


TRIGGERER_HEARTBEAT_SEC = 2
# A live triggerer whose heartbeat stopped is stuck (a stopped or deadlocked process): killed and restarted
# like a dead one (docs/decisions/018). Eight missed heartbeats: past Airflow's own verdict (8 s, when its
# triggers may move), with room for a loaded machine (six, 12 s, restarted a busy but healthy triggerer on a
# two-core machine running five Airflows), and still named within half a minute.
TRIGGERER_STUCK_AFTER = 8.0 * TRIGGERER_HEARTBEAT_SEC
# A triggerer silent that long is spared while its processes keep running or waiting for a CPU (liveness.py):
# on a two-core machine running a 1,000-model DAG beside it, a healthy resident triggerer went 16 s without a
# heartbeat and was killed. Past this many times the bound, a loop that never ends is stuck all the same.
BUSY_LIMIT_TIMES_STUCK_AFTER = 4
# A new process is starting until its heartbeat first moves on (liveness.py): a restarted triggerer's first
# turn, which takes over every waiting trigger, took over 12 s on a busy machine; a start never near this.
HEARTBEAT_STARTUP_GRACE = 120.0
# The heartbeat is read from the API server at most this often (supervision runs twice a second).
HEARTBEAT_CHECK_EVERY = float(TRIGGERER_HEARTBEAT_SEC)

# The triggerer holds every model task while it waits (docs/decisions/023): one trigger per waiting task,
# so 1,000 models need room for 1,000 at once (Airflow's default, written down so it is not lowered by
# accident). A killed triggerer is restarted by supervision at once; its triggers move to the new one when
# the old one misses its heartbeats, so those are short here: a few seconds rather than half a minute.
TRIGGERER_SETTINGS = {
    "AIRFLOW__TRIGGERER__CAPACITY": "1000",
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": str(TRIGGERER_HEARTBEAT_SEC),
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "8",
    # The triggerer stops heartbeating once its trigger runner (a child process) has said nothing this long
    # (Airflow 3.2.2+; 30 s by default): a stuck runner then shows as a stuck triggerer to supervision. 8 s
    # took a runner starved of CPU on a loaded machine (silent 26 s while taking over every trigger) for stuck.
    "AIRFLOW__TRIGGERER__RUNNER_HEALTH_CHECK_THRESHOLD": "12",
    # Cosmos 1.15 otherwise rewrites a Variable holding every result so far after each result the shared
    # build publishes: quadratic in the project's size. Without it the buffer is still saved once when the
    # build fails (its failure callbacks); a build killed outright leaves its models to their own tasks.
    "AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY": "False",
}

# A task whose supervisor died (a worker lost, out of memory) is noticed only when its heartbeat is this old:
# Airflow's 300 s kept a killed shared build's retry waiting five minutes. MWAA is given the same
# (infra/modules/mwaa/main.tf).
LOST_TASK_SETTINGS = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "10",
}


@dataclass
class LocalAirflow:
    """Configuration and lifecycle of one local Airflow installation."""

    airflow_home: Path
    # The DAG's configuration (DagConfig.to_env): secrets among it, so kept out of the repr, as is the
    # metadata database's URL (a password in it) and the environment handed on.
    dag_env: Mapping[str, str] = field(repr=False)
    parallelism: int = 24
    dags_folder: Path = DAGS_DIR
    sql_alchemy_conn: str | None = field(default=None, repr=False)
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
    base_env: Mapping[str, str] | None = field(default=None, repr=False)
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
    # Whether the components may be forked from this process (local/warm_airflow.py) when it runs the same
    # Python; a cluster whose components each have an environment of their own starts them as commands.
    fork_components: bool = True
    # The heartbeats of the components that could be stuck while alive, and when to read them next.
    stuck_after: float = TRIGGERER_STUCK_AFTER
    heartbeat_every: float = HEARTBEAT_CHECK_EVERY
    watches: dict[str, HeartbeatWatch] = field(default_factory=dict, init=False, repr=False)
    next_heartbeat_check: float = field(default=0.0, init=False, repr=False)
    # When the components were asked to end (begin_stop), until `stop` has waited for them.
    stop_asked: float | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def logs_dir(self) -> Path:
        return self.airflow_home / "logs"

    def env(self) -> dict[str, str]:
        home = self.airflow_home
        jwt_secret_file = home / "jwt_secret"
        private_dir(home)
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
                # A changed DAG is stored at the parse that saw it, not only once 30 s passed since the
                # last one was: `tickit run` on a resident Airflow asks for that parse and then runs the DAG
                # (local/resident.py). One DAG: the writes this limit saves are none to speak of.
                "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "0",
                "AIRFLOW__WEBSERVER__EXPOSE_CONFIG": "False",
                SENSITIVE_NAMES_OPTION: sensitive_names(env.get(SENSITIVE_NAMES_OPTION)),
                **PRIVATE_FILE_SETTINGS,
                **TRIGGERER_SETTINGS,
                **LOST_TASK_SETTINGS,
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
        private_dir(self.airflow_home)
        stamp = self.airflow_home / "migrated.stamp"
        database = self.airflow_home / "airflow.db"
        done_for = f"{self.python}: apache-airflow {importlib.metadata.version('apache-airflow')}"
        migrated = database.exists() and stamp.exists() and stamp.read_text() == done_for
        if self.sql_alchemy_conn is None:
            # Created empty (SQLite takes an empty file as a new database, and gives its journals the
            # database's mode) before Airflow creates it at the umask's mode; an older one is narrowed.
            private_file(database, str)
            if migrated:
                return
        result = self._airflow("db", "migrate", check=False)
        if result.returncode != 0:
            log = self.airflow_home / "db-migrate.log"
            log.write_text(result.stdout + result.stderr)
            raise AirflowStartError(f"`airflow db migrate` failed; see {log}")
        if self.sql_alchemy_conn is None:
            stamp.write_text(done_for)

    def components(self) -> tuple[str, ...]:
        # The triggerer is where the model tasks wait and end (tickit_runtime/model_trigger.py).
        return (API_SERVER, "scheduler", "dag-processor", "triggerer")

    def command(self, name: str) -> list[str]:
        # Started through a module that prepares the process first (local/warm_airflow.py): the scheduler's
        # and DAG processor's forks inherit dbt and Cosmos warm; the triggerer and DAG processor skip work
        # Airflow does per model task and then throws away.
        module = "airflow" if name == API_SERVER else "tickit_platform.local.warm_airflow"
        return [self.python, "-m", module, *name.split()]

    def component_env(self, name: str, env: dict[str, str]) -> dict[str, str]:
        """The environment of one component, from the shared one; every component shares it here."""
        return env

    def component_cwd(self, name: str) -> Path | None:
        return None

    def start(self, components: tuple[str, ...] | None = None) -> None:
        self.stop_strays()
        self.migrate()
        private_dir(self.logs_dir)
        env = self.env()
        names = components or self.components()
        # Forked from this process, warm, where it can (local/warm_airflow.py); else new interpreters. The API
        # server first, before dbt and Cosmos are imported here: it starts while they are.
        can_fork = self.fork_components and self.python == sys.executable
        log = self.component_log("preload")
        first = [name for name in names if name == API_SERVER]
        fork = can_fork and bool(first) and preload_for_api_server(env, log)
        for name in first:
            self._spawn(name, env, fork=fork)
        fork = can_fork and preload(env, log)
        for name in names:
            if name not in first:
                self._spawn(name, env, fork=fork)
        self.record()
        self.wait_healthy()

    def _spawn(self, name: str, env: dict[str, str], *, fork: bool = False) -> None:
        # The API server prints the admin's password into its log: the logs are the user's only.
        fd = os.open(self.component_log(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if fork:
            try:
                pid = fork_component(name, self.component_env(name, env), fd, self.component_cwd(name))
            finally:
                os.close(fd)
            self.processes[name] = ForkedProcess(pid)
        else:
            with os.fdopen(fd, "ab") as log:
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
        if name in HEARTBEAT_FIELDS:
            self.watches[name] = self._watch(since=time.time())
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
        """Notice a component that exited, or that lives but is stuck: restart it once, or stop the run saying
        why.

        Called on every poll of a run (twice a second), so a death is noticed within a second; a stuck
        triggerer within its stale heartbeat's bound (`stuck_after`) and a reading.
        """
        for name, proc in list(self.processes.items()):
            code = proc.poll()
            if code is None:
                continue
            what = f"Airflow {name} (PID {proc.pid}) {_exit_reason(code)}"
            self._restart_once(name, first=f"{what}; restarting it", again=f"{what} again, after a restart")
        for name, silence in self._stuck():
            proc = self.processes[name]
            what = f"Airflow {name} (PID {proc.pid}) is alive but has sent no heartbeat for {silence:.0f} s: stuck"
            if still := [pid for pid in self.watches[name].still if pid]:
                what += f" (process {', '.join(map(str, still))} did not run for {self.stuck_after / 2:g} s)"
            # SIGKILL ends a stopped process too; every process of its session goes (the trigger runner).
            kill_sessions({proc.pid})
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_KILL_TIMEOUT)
            self._restart_once(
                name, first=f"{what}; killed it, restarting it", again=f"{what} again, after a restart; killed it"
            )

    def _restart_once(self, name: str, *, first: str, again: str) -> None:
        """Start a component anew after its process failed, or stop the run if it failed once already."""
        tail = _tail(self.component_log(name), LOG_TAIL_LINES)
        if self.restarts.get(name, 0) >= RESTARTS_PER_COMPONENT:
            raise ComponentDiedError(
                f"{again}, so the run was stopped. Last lines of {self.component_log(name)}:\n{tail}"
            )
        self.say(f"{first}. Last lines of {self.component_log(name)}:\n{tail}")
        self.restarts[name] = self.restarts.get(name, 0) + 1
        self._spawn(name, self.env())
        self.record()

    def _watch(self, since: float | None) -> HeartbeatWatch:
        return HeartbeatWatch(
            stale_after=self.stuck_after,
            startup_grace=HEARTBEAT_STARTUP_GRACE,
            since=since,
            busy_limit=BUSY_LIMIT_TIMES_STUCK_AFTER * self.stuck_after,
        )

    def _stuck(self) -> list[tuple[str, float]]:
        """The watched components alive but silent too long, with how long; read at most every few seconds."""
        if time.monotonic() < self.next_heartbeat_check:
            return []
        self.next_heartbeat_check = time.monotonic() + self.heartbeat_every
        stuck = []
        for name in HEARTBEAT_FIELDS.keys() & self.processes.keys():
            # A component this command adopted (a resident one) is watched from now, any heartbeat its own.
            watch = self.watches.setdefault(name, self._watch(since=None))
            try:
                heartbeat = self.heartbeat(name)
            except (OSError, ValueError):
                continue  # the API server is restarting or busy: no reading, no verdict
            proc = self.processes[name]
            if (silence := watch.silence(heartbeat, activity=session_activity(proc.pid))) is not None:
                stuck.append((name, silence))
            elif watch.spared is not None and not watch.spared_said:
                watch.spared_said = True
                self.say(
                    f"Airflow {name} (PID {proc.pid}) has sent no heartbeat for {watch.spared:.0f} s, but it keeps "
                    f"running on a busy machine: left running unless it stays silent past {watch.busy_limit:.0f} s."
                )
        return stuck

    def heartbeat(self, name: str) -> datetime | None:
        """The latest heartbeat Airflow records for this component (None: none yet)."""
        return latest_heartbeat(self.url, name)

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

    def begin_stop(self) -> None:
        """Ask every component and its children (their own process groups) to end, without waiting for them:
        `stop` then waits, and ends firmly what is left. The components shut down while the caller goes on."""
        if self.stop_asked is None:
            for proc in self.spawned:
                signal_group(proc, signal.SIGTERM)
            self.stop_asked = time.monotonic()

    def stop(self, grace: float = STOP_GRACE, kill_timeout: float = STOP_KILL_TIMEOUT) -> None:
        """Stop every component and its children (their own process groups), politely then firmly.

        Returns within about `grace` + `kill_timeout` seconds of `begin_stop` (which it calls if nobody did): a
        process that SIGKILL does not end by then (stuck in the kernel, on a hung disk) is named, and stays
        recorded for the next start to stop.
        """
        self.begin_stop()
        assert self.stop_asked is not None
        deadline, self.stop_asked = self.stop_asked + grace, None
        for proc in self.spawned:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
        # Also after a leader exited: what it started may still run in its session.
        kill_sessions({proc.pid for proc in self.spawned})
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


def sensitive_names(given: str | None) -> str:
    """`[core] sensitive_var_conn_names` with the alerts' secret Variables added to what the user set."""
    names = [name.strip() for name in (given or "").split(",") if name.strip()]
    return ",".join(dict.fromkeys([*names, *sensitive_variable_names().split(",")]))


def private_dir(path: Path) -> None:
    """Make sure the folder `path` exists and only its owner can enter it (so whatever Airflow writes inside,
    at whatever mode, is the owner's only); created so, or narrowed if an older version left it open."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)


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
