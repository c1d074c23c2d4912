"""Airflow as MWAA runs it: CeleryExecutor, PostgreSQL metadata, and several workers with distinct host names.

Built on LocalAirflow (free ports, process groups, polite-then-firm stop); what differs is the
interpreter (the rehearsal's runtime, not this one), the environment each component starts from (what
startup.sh left, per MWAA component), and the executor. Every worker is its own process group, so one
can be killed alone, with its own log server port, temporary folder and working directory, as a
separate host would have.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tickit_platform.local.airflow import LocalAirflow, free_port

HOSTNAME_MODULE = Path(__file__).with_name("worker_hostname.py")
# MWAA's container kind for each component (MWAA_AIRFLOW_COMPONENT, which startup.sh branches on).
MWAA_COMPONENT = {
    "api-server": "webserver",
    "scheduler": "scheduler",
    "dag-processor": "scheduler",
    "triggerer": "scheduler",
}
WORKER_PREFIX = "worker-"

# How long a task may go without a heartbeat before the scheduler fails it (a worker that died) and
# how often it looks. Airflow's defaults (300 s, 10 s) leave a dead worker's tasks hanging for five
# minutes. The same values are set on MWAA (infra/modules/mwaa, airflow_configuration_options).
TASK_HEARTBEAT_TIMEOUT_SECONDS = 60
TASK_HEARTBEAT_DETECTION_SECONDS = 10


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
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(TASK_HEARTBEAT_TIMEOUT_SECONDS),
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": str(
                    TASK_HEARTBEAT_DETECTION_SECONDS
                ),
                # Only the host-name function: nothing of this project reaches Airflow's import path.
                "PYTHONPATH": str(support),
            }
        )
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
        merged.update(
            {k: v for k, v in env.items() if k.startswith("AIRFLOW__") or k in ("AIRFLOW_HOME", "PYTHONPATH")}
        )
        merged.update(self.dag_env)
        merged["TICKIT_REHEARSAL_HOSTNAME"] = name
        merged["TMPDIR"] = str(self._host_dir(name) / "tmp")
        if name.startswith(WORKER_PREFIX):
            merged["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(free_port())
        return merged

    def component_cwd(self, name: str) -> Path | None:
        return self._host_dir(name)
