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
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tickit_runtime import internals


def _import_dbt_and_cosmos() -> None:
    import cosmos  # noqa: F401
    import dbt.adapters.duckdb
    import dbt.cli.main  # noqa: F401

    import tickit_runtime.dag_factory  # noqa: F401


def prepare(component: str) -> None:
    if component in ("scheduler", "dag-processor"):
        _import_dbt_and_cosmos()
    # The component's changes to Airflow's internals, as MWAA's airflow_local_settings makes them.
    internals.component_starting(component)


def main() -> None:
    from airflow.__main__ import main as airflow_main

    prepare(sys.argv[1] if len(sys.argv) > 1 else "")
    airflow_main()  # type: ignore[no-untyped-call]


class _Preloaded:
    # The environment this process imported Airflow under (preload), if it did.
    env: dict[str, str] | None = None


def preload(env: Mapping[str, str], log: Path) -> bool:
    """Import what every component imports, under the components' environment `env` (Airflow reads its
    configuration as it is imported), so that forks of this process start warm. What the imports print goes
    to `log`, not to this process's output. Whether components may be forked from this process now."""
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
    saved = dict(os.environ)
    with _output_to(log):
        _become(env)
        try:
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

            _import_dbt_and_cosmos()
        finally:
            _become(saved)
    _Preloaded.env = dict(env)
    return True


def fork_component(name: str, env: Mapping[str, str], log_fd: int, cwd: Path | None = None) -> int:
    """Fork this (preloaded) process into the Airflow component `name`, in a session of its own, its output
    to `log_fd`, as `python -m tickit_platform.local.warm_airflow NAME` would run it; the child's PID."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
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
