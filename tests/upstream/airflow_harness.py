"""Reproductions of three defects of Airflow 3.3's triggerer, each run in a process of its own.

`python -m tests.upstream.airflow_harness <case> <result.json>` with `AIRFLOW_HOME` set to an empty folder:
the case writes what it saw to `result.json` for tests/upstream/test_airflow_defects.py to judge. A process
of its own because a reproduction may hang for good (the triggerer's supervisor blocked), because Airflow
reads its configuration once per process, and so that none of this project's code is loaded.
"""

from __future__ import annotations

import asyncio
import faulthandler
import json
import os
import signal
import sys
import threading
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

# One burst between two awaits is more than a socket buffer holds (~208 KiB on Linux), as the lines of a few
# hundred triggers that each log a little are together.
CHATTER = "chatter " + "x" * 400
LINES_PER_BURST = 1000
# A response bigger than a socket buffer, as the workloads of a few start-from-trigger tasks of a DAG of a
# few hundred tasks are (each carries the serialized DAG).
BIG_PAYLOAD_BYTES = 2 * 1024 * 1024
MARKER = "the line this trigger logged before it fired"
# How long the supervisor may sit in one send before the reproduction calls it hung: a send of a few MB to
# a live reader takes milliseconds.
HUNG_AFTER = 6.0
# Longer than the runner's one-second turn, so that the runner reports the trigger finished while the
# supervisor is not reading.
BUSY_FOR = 2.5
# More than the supervisor reads from the log socket at a time (4 KiB), so that the trigger's last line is
# still unread after one read, whichever of its sockets the supervisor's selector reports first.
LINES_BEFORE_MARKER = 20
# The smaller of the two DAGs; the other has ten times as many tasks.
TASKS = 100


class ChattyTrigger(BaseTrigger):
    """Logs bursts of lines from the event loop, as many triggers logging a few lines each do together."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__qualname__}", {}

    async def run(self) -> Any:
        while True:
            for _ in range(LINES_PER_BURST):
                self.log.info(CHATTER)
            await asyncio.sleep(0)
        yield TriggerEvent("never")  # pragma: no cover - makes this an async generator


class FiresAtOnceTrigger(BaseTrigger):
    """Fires at once, logging its lines, `MARKER` last; its kwargs can be made as big as a serialized DAG."""

    def __init__(self, payload: str = "", lines_before: int = 0) -> None:
        super().__init__()
        self.payload = payload
        self.lines_before = lines_before

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = {"payload": self.payload, "lines_before": self.lines_before}
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    async def run(self) -> Any:
        for i in range(self.lines_before):
            self.log.info("line %d of what this trigger logs first %s", i, "." * 200)
        self.log.info(MARKER)
        yield TriggerEvent("fired")


def _write(result: Path, seen: dict[Any, Any]) -> None:
    seen["project_loaded"] = any(name.split(".")[0] == "tickit_platform" for name in sys.modules)
    result.write_text(json.dumps(seen))


def _supervisor_class() -> type:
    from airflow.jobs.triggerer_job_runner import TriggerRunnerSupervisor

    class Supervisor(TriggerRunnerSupervisor):  # type: ignore[misc]
        """Airflow's triggerer supervisor without a triggerer Job (its docstring names the methods such a
        subclass overrides): it is handed its triggers instead of claiming them, and records events."""

        def setup(self) -> None:
            self.trigger_ids: set[int] = set()
            self.to_hand_out: list[Any] = []
            self.fired: list[int] = []
            self.stop_when_fired: int | None = None
            self.before_turn: Any = None

        def load_triggers(self) -> None:
            if self.before_turn is not None:
                self.before_turn(self)
            while self.to_hand_out:
                workload = self.to_hand_out.pop(0)
                self.running_triggers.add(workload.id)
                self.creating_triggers.append(workload)
            if self.trigger_ids:
                self.update_triggers(set(self.trigger_ids))

        def heartbeat(self) -> None:
            pass

        def metric_tags(self) -> dict[str, str]:
            return {"hostname": "reproduction"}

        def clean_unused(self) -> None:
            pass

        def on_trigger_event(self, trigger_id: int, event: Any) -> None:
            self.fired.append(trigger_id)
            if trigger_id == self.stop_when_fired:
                self.stop = True

        def on_trigger_failure(self, trigger_id: int, exc: Any) -> None:
            raise RuntimeError(f"trigger {trigger_id} failed: {exc}")

    return Supervisor


def _start_supervisor() -> Any:
    supervisor = _supervisor_class().start(job=None, capacity=100)
    supervisor.setup()
    return supervisor


def _plain_workload(trigger_id: int, trigger: BaseTrigger) -> Any:
    from airflow.executors import workloads
    from airflow.models.trigger import Trigger

    classpath, kwargs = trigger.serialize()
    return workloads.RunTrigger(id=trigger_id, classpath=classpath, encrypted_kwargs=Trigger.encrypt_kwargs(kwargs))


def _main_thread_stack() -> str:
    frame = sys._current_frames()[threading.main_thread().ident]  # type: ignore[index]
    return "".join(traceback.format_stack(frame))


def _unread_bytes(supervisor: Any, kind: str) -> int | None:
    import fcntl
    import termios

    for sock, name in list(supervisor._open_sockets.items()):
        if name == kind:
            return int.from_bytes(fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"), "little")
    return None


def _runner_threads_waiting(pid: int) -> dict[str, str]:
    """What the kernel says each thread of the runner waits in (its event loop is the thread numbered pid)."""
    waits = {}
    for task in sorted(Path(f"/proc/{pid}/task").iterdir()):
        try:
            waits[task.name] = (task / "wchan").read_text() or "running"
        except OSError:
            continue
    return waits


def blocking_send(result: Path) -> None:
    """A trigger logs busily; the supervisor then sends the runner a response bigger than a socket buffer."""
    supervisor = _start_supervisor()
    supervisor.to_hand_out.append(_plain_workload(1, ChattyTrigger()))
    big = _plain_workload(2, FiresAtOnceTrigger(payload="p" * BIG_PAYLOAD_BYTES))
    supervisor.stop_when_fired = 2
    started = time.monotonic()

    later = [big]

    def hand_out_big_once_chatty_runs(sup: Any) -> None:
        if later and time.monotonic() - started > 1.0:
            sup.to_hand_out.append(later.pop())

    supervisor.before_turn = hand_out_big_once_chatty_runs

    def watchdog() -> None:
        # A hang is told from the main thread staying in send_msg; then the evidence is written and the
        # process ends, as nothing else would end it.
        in_send_since: float | None = None
        while True:
            time.sleep(0.25)
            stack = _main_thread_stack()
            if "in send_msg" not in stack:
                in_send_since = None
                continue
            in_send_since = in_send_since or time.monotonic()
            if time.monotonic() - in_send_since >= HUNG_AFTER:
                _write(
                    result,
                    {
                        "hung_in_send": True,
                        "seconds_in_send": time.monotonic() - in_send_since,
                        "supervisor_stack": stack,
                        "unread_log_bytes": _unread_bytes(supervisor, "logs"),
                        "runner_pid": supervisor.pid,
                        "runner_threads_waiting_in": _runner_threads_waiting(supervisor.pid),
                        "big_response_bytes": BIG_PAYLOAD_BYTES,
                        "fired": supervisor.fired,
                    },
                )
                os.kill(supervisor.pid, signal.SIGKILL)
                os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()
    supervisor.run()
    supervisor.kill(escalation_delay=2.0, force=True)
    _write(result, {"hung_in_send": False, "fired": supervisor.fired})


def _metadata_db() -> None:
    from airflow.models.dagbundle import DagBundleModel
    from airflow.utils import db
    from airflow.utils.session import create_session

    db.initdb()
    with create_session() as session:
        session.add(DagBundleModel(name="reproduction"))


def _task_started_in_triggerer(dag_id: str, tasks: int, trigger: BaseTrigger) -> int:
    """A DAG of `tasks` tasks, one of them starting in the triggerer with `trigger`, is parsed into the
    metadata DB and run; the scheduler's own code creates the trigger. Returns the trigger's id."""
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.models.dagbag import DBDagBag
    from airflow.sdk import DAG
    from airflow.sdk.bases.operator import BaseOperator
    from airflow.triggers.base import StartTriggerArgs
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    classpath, kwargs = trigger.serialize()

    class StartsInTriggerer(BaseOperator):  # type: ignore[misc]
        start_from_trigger = True
        start_trigger_args = StartTriggerArgs(trigger_cls=classpath, trigger_kwargs=kwargs, next_method="done")

        def done(self, context: Any, event: Any = None) -> None:
            pass

    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        StartsInTriggerer(task_id="starts_in_triggerer")
        for i in range(tasks - 1):
            BaseOperator(task_id=f"task_{i}")
    bag = DagBag(dag_folder=os.devnull, collect_dags=False)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "reproduction", None)
    with create_session() as session:
        scheduler_dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
        run = scheduler_dag.create_dagrun(
            run_id="run",
            run_type=DagRunType.MANUAL,
            triggered_by=DagRunTriggeredByType.TEST,
            state=DagRunState.RUNNING,
            run_after=datetime.now(UTC),
            session=session,
        )
        ti = run.get_task_instance("starts_in_triggerer", session=session)
        ti.task = scheduler_dag.get_task("starts_in_triggerer")
        run.schedule_tis([ti], session=session)
        session.flush()
        return int(ti.trigger_id)


def log_closed(result: Path) -> None:
    """A trigger logs a line and fires at once while the supervisor is busy for a little over a turn."""
    _metadata_db()
    trigger = FiresAtOnceTrigger(lines_before=LINES_BEFORE_MARKER)
    trigger_id = _task_started_in_triggerer("logs_then_fires", 1, trigger)
    supervisor = _start_supervisor()
    supervisor.trigger_ids = {trigger_id}
    # The supervisor's turn outlasts the runner's one-second turn once: a sleep where Airflow's own
    # load_triggers queries the DB and builds new triggers' workloads, which take that long when busy.
    busy = [BUSY_FOR]

    def busy_once_handed_out(sup: Any) -> None:
        if busy and trigger_id in sup.running_triggers and not sup.creating_triggers:
            time.sleep(busy.pop())

    supervisor.before_turn = busy_once_handed_out
    log_path = None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and trigger_id not in supervisor.fired:
        if log_path is None and trigger_id in supervisor.logger_cache:
            log_path = supervisor.logger_cache[trigger_id].log_path
        supervisor.run_once()
    # Whatever the runner sent is read before the file is looked at.
    drained_by = time.monotonic() + 1.0
    while time.monotonic() < drained_by:
        supervisor._service_subprocess(0.1)
    supervisor.kill(escalation_delay=2.0, force=True)
    _write(result, {"fired": supervisor.fired, "log_path": log_path})


def workload_size(result: Path) -> None:
    """The workload the supervisor sends its runner for one task starting in the triggerer, by DAG size."""
    from uuid import uuid4

    from airflow.jobs.triggerer_job_runner import TriggerRunner, messages
    from airflow.sdk.execution_time.comms import _ResponseFrame

    _metadata_db()
    sizes = {}
    for tasks in (TASKS, 10 * TASKS):
        trigger_id = _task_started_in_triggerer(f"dag_of_{tasks}_tasks", tasks, FiresAtOnceTrigger())
        # Only the workload-building half of the supervisor is used: no runner process is needed.
        supervisor = _supervisor_class()(id=uuid4(), pid=0, stdin=None, process=None, process_log=None, capacity=1)
        [workload] = supervisor.build_trigger_workloads({trigger_id})
        sync = messages.TriggerStateSync(to_create=[workload], to_cancel=set())
        began = time.perf_counter()
        if workload.dag_data:
            TriggerRunner.create_runtime_ti(workload.ti, workload.dag_data, workload.dag_run_data)
        sizes[tasks] = {
            "response_bytes": len(_ResponseFrame(id=1, body=sync.model_dump()).as_bytes()),
            "carries_dag": bool(workload.dag_data),
            "runner_deserializes_s": time.perf_counter() - began,
        }
    _write(result, sizes)


def main() -> None:
    faulthandler.enable()
    case, result = sys.argv[1], Path(sys.argv[2])
    {"blocking-send": blocking_send, "log-closed": log_closed, "workload-size": workload_size}[case](result)


if __name__ == "__main__":
    main()
