"""Airflow as MWAA runs it: CeleryExecutor, PostgreSQL metadata, and several workers with distinct host names.

Built on LocalAirflow (free ports, process groups, polite-then-firm stop); what differs is the
interpreter (the rehearsal's runtime, not this one), the environment each component starts from (what
startup.sh left, per MWAA component), and the executor. Every worker is its own process group, so one
can be killed alone, with its own log server port, temporary folder and working directory, as a
separate host would have.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tickit_platform.local.airflow import LocalAirflow
from tickit_platform.local.processes import free_port
from tickit_runtime import envvars

HOSTNAME_MODULE = Path(__file__).with_name("worker_hostname.py")
# MWAA's container kind for each component (MWAA_AIRFLOW_COMPONENT, which startup.sh branches on).
MWAA_COMPONENT = {
    "api-server": "webserver",
    "scheduler": "scheduler",
    "dag-processor": "scheduler",
    "triggerer": "scheduler",
}
WORKER_PREFIX = "worker-"

# Airflow's [scheduler] timeouts for lost tasks, the same here and on MWAA (infra/modules/mwaa sets
# them as airflow_configuration_options; a unit test keeps the two equal).
SCHEDULER_TIMEOUTS = {
    # A task without a heartbeat (its worker died) is failed and retried after 60 s, checked every
    # 10 s, instead of Airflow's 300 s.
    "task_instance_heartbeat_timeout": 60,
    "task_instance_heartbeat_timeout_detection_interval": 10,
    # A worker killed between taking a task from the broker and starting it leaves the task "queued"
    # in Airflow and unacknowledged in the broker, which redelivers it only after its visibility
    # timeout (hours). Airflow requeues a task stuck in queued after this timeout (default 600 s,
    # checked every 120 s). 150 s is longer than a task waits for a free worker slot at the scales the
    # rehearsal runs (the producer's build is the longest task), and a task is failed only after
    # three such waits.
    "task_queued_timeout": 150,
    "task_queued_timeout_check_interval": 15,
}


@dataclass
class CeleryAirflow(LocalAirflow):
    # What startup.sh exported, per MWAA component ("worker", "scheduler", "webserver").
    component_envs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    broker_url: str = "redis://127.0.0.1:6379/1"
    result_backend: str = ""
    workers: int = 2
    # MWAA's mw1.small runs 5 tasks at a time per worker (celery.worker_autoscale 5,0).
    worker_concurrency: int = 5
    hosts_dir: Path = Path("hosts")
    # Each component runs MWAA's command line with the environment startup.sh gave it, as MWAA's do.
    fork_components: bool = False

    def components(self) -> tuple[str, ...]:
        workers = tuple(f"{WORKER_PREFIX}{n}" for n in range(1, self.workers + 1))
        return ("api-server", "scheduler", "dag-processor", "triggerer", *workers)

    def env(self) -> dict[str, str]:
        env = super().env()
        support = self.airflow_home / "rehearsal-support"
        support.mkdir(parents=True, exist_ok=True)
        shutil.copy2(HOSTNAME_MODULE, support / "tickit_rehearsal_hostname.py")
        env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
                "AIRFLOW__CELERY__RESULT_BACKEND": self.result_backend,
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tickit_rehearsal_hostname.hostname",
                # MWAA runs one triggerer for every queue (its image forces this; the option exists from 3.2).
                "AIRFLOW__TRIGGERER__QUEUES_ENABLED": "False",
                # Only the host-name function: nothing of this project reaches Airflow's import path.
                "PYTHONPATH": str(support),
            }
        )
        env.update({f"AIRFLOW__SCHEDULER__{name.upper()}": str(value) for name, value in SCHEDULER_TIMEOUTS.items()})
        # MWAA leaves Cosmos' cache to its default (the temporary folder, one per host), as each worker here.
        env.pop("AIRFLOW__COSMOS__CACHE_DIR", None)
        return env

    def _host_dir(self, name: str) -> Path:
        host = self.hosts_dir / name
        (host / "tmp").mkdir(parents=True, exist_ok=True)
        return host

    def command(self, name: str) -> list[str]:
        if name.startswith(WORKER_PREFIX):
            return [self.python, "-m", "airflow", "celery", "worker", "--celery-hostname", f"{name}@%h"]
        return [self.python, "-m", "airflow", *name.split()]

    def component_env(self, name: str, env: dict[str, str]) -> dict[str, str]:
        kind = "worker" if name.startswith(WORKER_PREFIX) else MWAA_COMPONENT[name]
        # startup.sh's exports win over the defaults above, as on MWAA; Airflow's own settings win over both.
        merged = {**env, **self.component_envs.get(kind, {})}
        merged.update({k: v for k, v in env.items() if k.startswith("AIRFLOW__") or k == "AIRFLOW_HOME"})
        # The rehearsal's host-name module joins the path startup.sh exported (the dags folder, for the triggerer).
        merged["PYTHONPATH"] = os.pathsep.join(
            p for p in (self.component_envs.get(kind, {}).get("PYTHONPATH"), env.get("PYTHONPATH")) if p
        )
        merged.update(self.dag_env)
        merged[envvars.REHEARSAL_HOSTNAME] = name
        merged["TMPDIR"] = str(self._host_dir(name) / "tmp")
        if name.startswith(WORKER_PREFIX):
            merged["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(free_port())
        return merged

    def component_cwd(self, name: str) -> Path | None:
        return self._host_dir(name)
