"""Run Airflow's own command line for one local component, prepared for this DAG.

- scheduler: LocalExecutor forks its workers from the scheduler and each task process from a worker, so
  modules imported here are inherited instead of imported again by every one of the DAG's tasks.
- DAG processor: it forks a process per parse, which inherits the same imports.
- DAG processor and triggerer: their changes to Airflow's internals (tickit_runtime/internals), through the
  same entry point as MWAA's `airflow_local_settings.py`.

Started by `tickit` itself, the components are forked from it rather than run as new interpreters
(`preload`, `fork_component`): Airflow's modules, its four commands', dbt's and Cosmos' are imported once,
under the components' environment, and every component inherits them. Each new interpreter imported them
again: a start cost 17.7 CPU seconds, forked 9.4 (3.4 of them the one import), and the API server answered
after 7.7 s instead of 10.8 s on an idle two-core machine. Where this process cannot (Airflow already
imported here, under another environment, or other threads running, whose locks a fork would copy held),
the components start as new interpreters, as before.

The API server is forked first, once Airflow is imported and before dbt and Cosmos are (which it does not
need): it starts, and builds its task-execution API, on the second core while this process imports them for
the other three (`preload_for_api_server`, then `preload`). Forked before Airflow was imported, it took longer:
both processes then imported Airflow at once.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tickit_runtime import internals

API_SERVER = "api-server"
# How long the API server's own thread waits for it to listen and build its task-execution API.
EXECUTION_API_WARM_TIMEOUT = 120.0


def _import_dbt_and_cosmos() -> None:
    import cosmos  # noqa: F401
    import dbt.adapters.duckdb
    import dbt.cli.main  # noqa: F401

    import tickit_runtime.dag_factory  # noqa: F401

    _ready_dbt_first_call()


# What a process's first dbt call imports on its way (its commands, its SQL and date helpers, the profile's plugin).
_FIRST_CALL_IMPORTS = (
    "dbt.compilation",
    "dbt.parser.manifest",
    "dbt.task.build",
    "dbt.task.freshness",
    "dbt.task.run_operation",
    "dbt.adapters.duckdb.impl",
    "agate",
    "babel.dates",
    "numpy",
    "sqlparse",
    "_strptime",
    "tickit_runtime.duckdb_plugin",
)


def _ready_dbt_first_call() -> None:
    """What the first dbt call of every task process would otherwise do again, done once here and inherited: the
    modules it imports on its way, and the JSON schemas of the configuration it validates (dbt caches each per
    process). 0.5-0.6 s off the first call of each task (the load's, the build's; decision 044). Imports and the
    schemas' cache only: no dbt call, no file, no thread, nothing a fork could inherit half-done."""
    import importlib

    for name in _FIRST_CALL_IMPORTS:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    with contextlib.suppress(ImportError, AttributeError):
        from dbt.adapters.duckdb.credentials import DuckDBCredentials
        from dbt.contracts import project
        from dbt.contracts.selection import SelectorFile

        for config in (
            DuckDBCredentials,
            project.Configuration,
            project.PackageConfig,
            project.ProfileConfig,
            project.Project,
            project.ProjectFlags,
            SelectorFile,
        ):
            config.json_schema()


def prepare(component: str) -> None:
    if component in ("scheduler", "dag-processor"):
        _import_dbt_and_cosmos()
    if component == API_SERVER:
        _warm_execution_api_when_up()
    # The component's changes to Airflow's internals, as MWAA's airflow_local_settings makes them.
    internals.component_starting(component)


def main() -> None:
    from airflow.__main__ import main as airflow_main

    prepare(sys.argv[1] if len(sys.argv) > 1 else "")
    airflow_main()  # type: ignore[no-untyped-call]


def _warm_execution_api_when_up() -> None:
    """The API server builds its task-execution API on the first request to it (Cadwyn's versioned routes,
    3 to 4 CPU seconds here), holding up every other request meanwhile: ask for it as soon as the server
    listens, from a thread of its own process, so that it is built while the other components start rather
    than in front of the run's first task. A plain request to its public health route: nothing of Airflow's
    own is called or changed."""
    url = f"{os.environ.get('AIRFLOW__API__BASE_URL', '').rstrip('/')}/execution/health"

    def warm() -> None:
        deadline = time.monotonic() + EXECUTION_API_WARM_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=EXECUTION_API_WARM_TIMEOUT):
                    return
            except (OSError, ValueError):  # not listening yet (or no URL configured: then nothing happens)
                time.sleep(0.2)

    if url.startswith("http"):
        threading.Thread(target=warm, name="warm-execution-api", daemon=True).start()


class _Preloaded:
    # The environment this process imported Airflow under (preload), if it did.
    env: dict[str, str] | None = None


def preload_for_api_server(env: Mapping[str, str], log: Path) -> bool:
    """Import Airflow and its four commands (not dbt nor Cosmos), under the components' environment `env`
    (Airflow reads its configuration as it is imported), so that forks of this process start warm. What the
    imports print goes to `log`, not to this process's output. Whether components may be forked now."""
    if threading.active_count() > 1:
        return False
    if _Preloaded.env is not None:
        return _Preloaded.env == dict(env)
    if "airflow" in sys.modules:  # imported under an environment that is not known to be theirs
        return False
    # Before the environment is replaced: setproctitle (with which the components, their workers and task
    # processes name themselves) needs the original environment's memory beside the command line's.
    with contextlib.suppress(ImportError):
        import setproctitle

        setproctitle.getproctitle()
    with _output_to(log), _environment(env):
        import airflow.__main__
        import airflow.api_fastapi.app
        import airflow.cli.cli_parser
        import airflow.cli.commands.api_server_command
        import airflow.cli.commands.dag_processor_command
        import airflow.cli.commands.scheduler_command
        import airflow.cli.commands.triggerer_command
        import airflow.dag_processing.manager
        import airflow.jobs.scheduler_job_runner
        import airflow.jobs.triggerer_job_runner  # noqa: F401
    _Preloaded.env = dict(env)
    return True


def preload(env: Mapping[str, str], log: Path) -> bool:
    """`preload_for_api_server`, and dbt and Cosmos too (the scheduler's and the DAG processor's forks use them;
    imported once, a no-op after)."""
    if not preload_for_api_server(env, log):
        return False
    with _output_to(log), _environment(env):
        _import_dbt_and_cosmos()
    return True


def fork_component(name: str, env: Mapping[str, str], log_fd: int, cwd: Path | None = None) -> int:
    """Fork this (preloaded) process into the Airflow component `name`, in a session of its own, its output
    to `log_fd`, as `python -m tickit_platform.local.warm_airflow NAME` would run it; the child's PID."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    # What this process imported stays shared with every fork only while nothing writes to its pages: Python's
    # collector writes to every object it visits, so a component's first full collection used to copy all it
    # inherited (the triggerer's share of memory grew from 54 to 208 MiB over one run). Frozen, the collector
    # leaves them alone, here and in the forks (decision 043: 180 MiB off a run's peak).
    gc.freeze()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.setsid()
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, ValueError):
                stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        # As a new interpreter starts: tickit's own Ctrl-C and SIGTERM handling is not the component's.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with contextlib.suppress(ImportError):  # Airflow's own dependency; `ps` then shows what Popen would
            from setproctitle import setproctitle

            setproctitle(" ".join([sys.executable, "-m", __spec__.name if __spec__ else __name__, *name.split()]))
        if cwd is not None:
            os.chdir(cwd)
        _become(env)
        from airflow import settings

        if settings.engine is not None:
            settings.engine.dispose(close=False)  # no pooled connection of the parent is used here
        sys.argv = ["airflow", *name.split()]
        main()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)  # never back into tickit's code, nor its exit handlers


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """This process's environment is exactly `env` inside, and what it was before after."""
    saved = dict(os.environ)
    _become(env)
    try:
        yield
    finally:
        _become(saved)


def _become(env: Mapping[str, str]) -> None:
    """This process's environment becomes exactly `env`."""
    environ = os.environ
    environ.clear()
    environ.update(env)


@contextlib.contextmanager
def _output_to(log: Path) -> Any:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    saved = os.dup(1), os.dup(2)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for each in (fd, *saved):
            os.close(each)


if __name__ == "__main__":
    sys.argv[0] = "airflow"
    main()
