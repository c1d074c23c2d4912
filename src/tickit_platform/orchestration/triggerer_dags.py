"""One deserialized DAG per triggerer for the model tasks, not one per waiting task.

Airflow 3.2-3.3's triggerer starts a task that begins in the triggerer (`start_from_trigger`) by
deserializing the task's whole DAG twice: once in the triggerer's supervisor to look the task up, and once in
its trigger-runner process to build the task's template context, a copy it keeps for as long as the trigger
waits. For a DAG of N model tasks that is 2N deserializations of an N-task DAG, quadratic in the project's
size: at 1,017 models each took 0.25 s and each kept copy about 6 MB (the runner neared 6 GB, its event loop
blocked for most of a second at a time; benchmarks/README.md).

`ModelTrigger` renders no templates and reads only the task instance's identity, so it needs neither copy:
- in the supervisor, its workload is built as for a trigger that a worker deferred to, without the DAG. The
  local triggerer installs it before Airflow's command line runs (`local/warm_airflow.py`); MWAA's triggerer,
  which we do not start, through the bundle's `airflow_local_settings.py` (deploy/airflow_local_settings.py),
  which Airflow imports as each of its processes starts, before its triggerer code is imported
  (`install_in_triggerer_when_loaded`);
- in the runner, wherever a `ModelTrigger` runs (MWAA's triggerer included, which we do not start): importing
  this module's trigger makes the runner keep one deserialized DAG per DAG id and reuse it while the
  serialized DAG it is given equals the one it came from. Equality is exact, so a changed DAG is deserialized
  again; it costs 10 ms at 1,017 models against 250 ms for the deserialization.

Both replace a private part of Airflow (docs/decisions/017 lists them; tests/unit/test_triggerer_dags.py
fails when the names they rely on move). Where the names are missing, nothing is replaced and Airflow's own
behaviour stays: slower at scale, never wrong.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
from collections import OrderedDict
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

RUNNER_MODULE = "airflow.jobs.triggerer_job_runner"
# model_trigger.ModelTrigger's class path, spelled out: this module must be importable before Airflow is
# (tests/unit/test_triggerer_dags.py checks that the trigger serializes under it).
MODEL_TRIGGER_CLASSPATH = "tickit_platform.orchestration.model_trigger.ModelTrigger"
# Serialized DAGs kept per runner: one per DAG whose model tasks wait in it, a few DAGs at most.
DAGS_KEPT = 8
_INSTALLED = "_tickit_platform_shares_model_dags"

log = logging.getLogger(__name__)
# Said once in the triggerer's log where the change is made (tests look for it in the rehearsal's).
WORKLOADS_WITHOUT_DAG_NOTE = "tickit_platform: the triggerer builds the workloads of %s without their DAG"


class _SharedDagSerialization:
    """Airflow's `DagSerialization`, whose `from_dict` reuses the last DAG deserialized from equal data."""

    def __init__(self, serialization: Any) -> None:
        self._serialization = serialization
        self._kept: OrderedDict[str, tuple[dict[str, Any], Any]] = OrderedDict()

    def from_dict(self, encoded: dict[str, Any]) -> Any:
        dag_id = (encoded.get("dag") or {}).get("dag_id") if isinstance(encoded, dict) else None
        if not isinstance(dag_id, str):
            return self._serialization.from_dict(encoded)
        kept = self._kept.get(dag_id)
        if kept is not None and kept[0] == encoded:
            self._kept.move_to_end(dag_id)
            return kept[1]
        dag = self._serialization.from_dict(encoded)
        self._kept[dag_id] = (encoded, dag)
        self._kept.move_to_end(dag_id)
        while len(self._kept) > DAGS_KEPT:
            self._kept.popitem(last=False)
        return dag

    def __getattr__(self, name: str) -> Any:
        return getattr(self._serialization, name)


def share_deserialized_dags_in_runner() -> bool:
    """In a triggerer's runner process: reuse one deserialized DAG per DAG. Elsewhere: nothing. Idempotent."""
    runner = sys.modules.get(RUNNER_MODULE)
    if runner is None or getattr(runner, _INSTALLED, False):
        return bool(runner is not None)
    serialization = getattr(runner, "DagSerialization", None)
    trigger_runner = getattr(runner, "TriggerRunner", None)
    if serialization is None or not hasattr(trigger_runner, "create_runtime_ti"):
        return False
    runner.DagSerialization = _SharedDagSerialization(serialization)  # type: ignore[attr-defined]
    setattr(runner, _INSTALLED, True)
    return True


class _NoDag:
    """The triggerer supervisor's DAG bag, for a trigger whose workload needs no DAG: it finds none."""

    def get_serialized_dag_model_for_run(self, *args: Any, **kwargs: Any) -> None:
        return None

    def get_serialized_dag_model(self, *args: Any, **kwargs: Any) -> None:
        return None


def build_model_trigger_workloads_without_the_dag(model_trigger_classpath: str) -> bool:
    """In the triggerer's supervisor (before it starts): a model trigger's workload carries no DAG."""
    import importlib

    supervisor = getattr(importlib.import_module(RUNNER_MODULE), "TriggerRunnerSupervisor", None)
    original = getattr(supervisor, "_create_workload", None)
    if original is None or getattr(original, _INSTALLED, False):
        return original is not None

    def _create_workload(self: Any, *, trigger: Any, dag_bag: Any, **kwargs: Any) -> Any:
        if trigger.classpath == model_trigger_classpath:
            dag_bag = _NoDag()
        return original(self, trigger=trigger, dag_bag=dag_bag, **kwargs)

    setattr(_create_workload, _INSTALLED, True)
    supervisor._create_workload = _create_workload  # type: ignore[union-attr]
    log.info(WORKLOADS_WITHOUT_DAG_NOTE, model_trigger_classpath)
    return True


def workloads_carry_no_dag() -> bool:
    """Whether this triggerer's supervisor builds model-trigger workloads without the DAG (its runner, forked
    from it, sees the same). What the tests ask of a process after `import airflow`."""
    import importlib

    supervisor = getattr(importlib.import_module(RUNNER_MODULE), "TriggerRunnerSupervisor", None)
    return bool(getattr(getattr(supervisor, "_create_workload", None), _INSTALLED, False))


class _LoaderThen(importlib.abc.Loader):
    """A module's own loader, then `then()` once the module ran."""

    def __init__(self, loader: Any, then: Callable[[], object]) -> None:
        self._loader = loader
        self._then = then

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        try:
            self._then()
        # Whatever goes wrong here must not stop the triggerer: Airflow's own behaviour stays.
        except Exception:
            log.warning("Could not change how the triggerer builds model-trigger workloads", exc_info=True)

    def __getattr__(self, name: str) -> Any:  # get_source and the rest, for tracebacks
        return getattr(self._loader, name)


class _WhenLoaded(importlib.abc.MetaPathFinder):
    """Finds Airflow's triggerer module as Python would, and has `then()` run once it is loaded."""

    def __init__(self, name: str, then: Callable[[], object]) -> None:
        self.name = name
        self._then = then

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once is enough
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _LoaderThen(spec.loader, self._then)
        return spec


def install_in_triggerer_when_loaded() -> None:
    """In a triggerer before Airflow's triggerer code is imported: model-trigger workloads without the DAG.

    Called from `airflow_local_settings`, which Airflow imports while `import airflow` itself runs, when its
    triggerer module cannot be imported yet; so the change is made as that module is first imported.
    """

    def install() -> bool:
        return build_model_trigger_workloads_without_the_dag(MODEL_TRIGGER_CLASSPATH)

    if RUNNER_MODULE in sys.modules:
        install()
    elif not any(isinstance(finder, _WhenLoaded) for finder in sys.meta_path):
        sys.meta_path.insert(0, _WhenLoaded(RUNNER_MODULE, install))
