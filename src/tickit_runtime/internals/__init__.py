"""Every change this project makes to Airflow's or Cosmos' internals, and the one entry point per component.

- triggerer (`in_triggerer()`, triggerer.py): workloads without the DAG, new triggers in bounded batches, messages
  measured, a trigger's end reported a grace after it ended, a brisk cadence around model triggers;
- DAG processor (`in_dag_processor()`, dag_processor.py): success callbacks dropped before a parse;
- worker, in the producer task (`in_producer()`, producer.py): needless pushes dropped, results read from Cosmos'
  copy.

The local launcher (local/warm_airflow.py) and MWAA's `airflow_local_settings.py` (beside this folder) call the same
entry points (`component_starting`). Each change is made only on the versions it was verified on and after a
check of its target's shape (gate.py); a component makes all its changes or none, and says which in its log.
Importing this package, the DAG or the trigger changes nothing.

Where the triggerer's changes cannot be made, the DAG does not start model tasks in the triggerer: an unchanged
triggerer hangs for good at a few hundred of them (docs/decisions/023). They wait in worker processes instead
(`model_task.WorkerModelTask`, as on Airflow 3.0/3.1), and `tickit run`'s summary and `tickit deploy build`
say so (docs/decisions/029).
"""

from __future__ import annotations

import sys
from typing import Any

from packaging.version import Version

from tickit_runtime.internals import dag_processor as _dag_processor
from tickit_runtime.internals import producer as _producer
from tickit_runtime.internals import triggerer as _triggerer
from tickit_runtime.internals.gate import Change, Plan, carry_out, installed_version, plan
from tickit_runtime.internals.when_loaded import when_loaded

TRIGGERER = "triggerer"
DAG_PROCESSOR = "dag-processor"
PRODUCER = "producer"
CHANGES: dict[str, tuple[Change, ...]] = {
    TRIGGERER: _triggerer.CHANGES,
    DAG_PROCESSOR: _dag_processor.CHANGES,
    PRODUCER: _producer.CHANGES,
}
# The module each component's changes target, imported by the component itself.
_TARGET_MODULES = {TRIGGERER: _triggerer.RUNNER_MODULE, DAG_PROCESSOR: _dag_processor.MANAGER_MODULE}
# Airflow starts a task in the triggerer (start_from_trigger) from this release on.
STARTS_IN_TRIGGERER_FROM = Version("3.2")

TRIGGERER_REFUSED = (
    "Model tasks wait in worker processes instead (the DAG decides the same): about 1.5 s of CPU more per task, "
    "never the hang an unchanged triggerer meets at a few hundred model tasks"
)
DAG_PROCESSOR_REFUSED = "The DAG file is parsed for every task success the triggerer reports: slower at scale"
PRODUCER_REFUSED = (
    "Every XCom Cosmos pushes is pushed, and the model tasks read their results from Cosmos' own keys once "
    "the build ended"
)


def in_triggerer() -> Plan:
    """The triggerer's entry point: in its supervisor process, once Airflow's triggerer module is imported."""
    return carry_out(plan(TRIGGERER, CHANGES[TRIGGERER]), TRIGGERER_REFUSED)


def in_dag_processor() -> Plan:
    """The DAG processor's entry point: once Airflow's DAG processing manager is imported."""
    return carry_out(plan(DAG_PROCESSOR, CHANGES[DAG_PROCESSOR]), DAG_PROCESSOR_REFUSED)


def in_producer(ti: Any, *, details_read_on_success: bool) -> bool:
    """The worker's entry point, in the producer task's `pre_execute`: its task instance pushes only what is
    read. Whether the producer may read Cosmos' copy of its pushes (and so publish the build's results)."""
    planned = plan(PRODUCER, CHANGES[PRODUCER])
    if planned.made:
        _producer.skip_needless_pushes(ti, details_read_on_success=details_read_on_success)
    else:
        carry_out(planned, PRODUCER_REFUSED)
    return planned.made


_ENTRY_POINTS = {TRIGGERER: in_triggerer, DAG_PROCESSOR: in_dag_processor}


def component_starting(component: str) -> None:
    """Where an Airflow component starts (`airflow <component>`): its changes, now if its target module is
    imported, else as it is first imported. Other components: nothing."""
    entry = _ENTRY_POINTS.get(component)
    if entry is not None:
        when_loaded(_TARGET_MODULES[component], entry)


def model_tasks_in_triggerer(*, make: str | None = None, airflow_version: str | None = None) -> tuple[bool, str]:
    """Whether the DAG starts its model tasks in the triggerer, and why (or why not).

    For the installed Airflow (the DAG, `tickit run`), or for `airflow_version` (a bundle's MWAA). The shapes are
    checked where Airflow's triggerer module is already imported (a local Airflow's components, `tickit`): a
    DAG parse on MWAA does not import it (half a second per parse) and judges by the version, which the
    triggerer, checking the shapes, decides the same on any released Airflow.
    """
    version = airflow_version or installed_version("airflow")
    if Version(Version(version).base_version) < STARTS_IN_TRIGGERER_FROM:
        return False, f"Airflow {version} cannot start a task in the triggerer (from {STARTS_IN_TRIGGERER_FROM} on)"
    planned = plan(
        TRIGGERER,
        CHANGES[TRIGGERER],
        make=make,
        version=airflow_version,
        shapes=_triggerer.RUNNER_MODULE in sys.modules,
    )
    if planned.made:
        verified = ", ".join(sorted(_triggerer.VERIFIED_ON))
        return True, f"the changes to Airflow's triggerer apply to Airflow {version} (verified on {verified})"
    return False, str(planned.refused)


def where_model_tasks_wait(*, make: str | None = None, airflow_version: str | None = None) -> str:
    """One line for a run's summary or a bundle's build: where the model tasks wait, and why."""
    in_triggerer, why = model_tasks_in_triggerer(make=make, airflow_version=airflow_version)
    if in_triggerer:
        return f"Model tasks wait in Airflow's triggerer: {why}."
    return f"Model tasks wait in worker processes (the safe path): {why}."
