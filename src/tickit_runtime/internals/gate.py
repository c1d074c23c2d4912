"""How a change to Airflow's or Cosmos' internals is checked before it is made, and said once.

A change names its target, the released versions it was verified on, and a check of the target's shape (the
signature and the names it relies on). It is made only when the installed version is one of those and the
shape is the one expected, and only as a whole component's set: one refused change leaves every change of its
component unmade, so a component runs either as verified or exactly as Airflow ships it, never half-changed.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tickit_runtime import envvars

# TICKIT_AIRFLOW_CHANGES: `verified` (the default) makes the changes where verified; `none` refuses them all,
# as an Airflow they were never verified on would (the safe path, docs/decisions/029).
MAKE_VERIFIED = "verified"
MAKE_NONE = "none"

log = logging.getLogger("tickit_runtime.internals")
# What each component's changes change, as its log says it.
NAMES = {"triggerer": "Airflow's triggerer", "dag-processor": "Airflow's DAG processor", "producer": "Cosmos' producer"}


@dataclass(frozen=True)
class Change:
    """One change to a private part of Airflow or Cosmos."""

    name: str
    target: str
    package: str  # "airflow" or "cosmos": whose version `verified_on` lists
    verified_on: frozenset[str]
    shape: Callable[[], str | None]  # None when the target is as verified; else what differs
    make: Callable[[], None]
    # The upstream report whose fix retires the change (docs/upstream/), if it works around a defect.
    report: str | None = None


@dataclass(frozen=True)
class Plan:
    """What a component does about its changes: make them all, or none and why."""

    component: str
    changes: tuple[Change, ...]
    refused: str | None  # None: every change is made

    @property
    def made(self) -> bool:
        return self.refused is None

    def describe(self) -> str:
        names = ", ".join(change.name for change in self.changes)
        what = NAMES.get(self.component, self.component)
        if self.refused is None:
            return f"tickit_runtime: changes made to {what}: {names}"
        return f"tickit_runtime: no change made to {what} ({names}): {self.refused}"


def setting(environ: Any = None) -> str:
    """TICKIT_AIRFLOW_CHANGES, read where an Airflow component starts (and by `tickit` for its summary)."""
    value = (os.environ if environ is None else environ).get(envvars.AIRFLOW_CHANGES, MAKE_VERIFIED).strip().lower()
    return value if value in (MAKE_VERIFIED, MAKE_NONE) else MAKE_VERIFIED


# The distribution each package of a change is installed from.
DISTRIBUTIONS = {"airflow": "apache-airflow", "cosmos": "astronomer-cosmos"}


def installed_version(package: str) -> str:
    """The version of `package` (airflow, cosmos): the imported module's where it is imported (what runs), else
    its distribution's metadata. Importing Airflow only to read it took `tickit run`'s summary 2 s where `tickit`
    had not imported it (with a resident Airflow)."""
    module = sys.modules.get(package)
    if module is not None and hasattr(module, "__version__"):
        return str(module.__version__)
    return importlib.metadata.version(DISTRIBUTIONS[package])


def refusal(change: Change, *, version: str | None = None, shapes: bool = True) -> str | None:
    """Why `change` may not be made here (None: it may). `version`: the version to judge instead of the
    installed one (a bundle's MWAA Airflow), whose shape cannot be checked here."""
    judged = version if version is not None else installed_version(change.package)
    if judged not in change.verified_on:
        verified = ", ".join(sorted(change.verified_on))
        return f"{change.package.capitalize()} {judged} is not a version {change.name} was verified on ({verified})"
    if shapes and version is None:
        try:
            differs = change.shape()
        # A target that cannot even be looked at is a target that moved.
        except Exception as error:
            differs = f"could not be checked ({type(error).__name__}: {error})"
        if differs:
            return f"{change.target} is not as verified: {differs}"
    return None


def plan(
    component: str,
    changes: Sequence[Change],
    *,
    make: str | None = None,
    version: str | None = None,
    shapes: bool = True,
) -> Plan:
    """Whether a component's changes are all made (`make`: the setting, read from the environment if None)."""
    if (make if make is not None else setting()) == MAKE_NONE:
        return Plan(component, tuple(changes), f"refused by {envvars.AIRFLOW_CHANGES}={MAKE_NONE}")
    for change in changes:
        if why := refusal(change, version=version, shapes=shapes):
            return Plan(component, tuple(changes), why)
    return Plan(component, tuple(changes), None)


def carry_out(planned: Plan, consequence: str) -> Plan:
    """Make a plan's changes (or none), and say so once in the component's log."""
    if planned.made:
        for change in planned.changes:
            change.make()
        log.info(planned.describe())
    else:
        log.warning("%s. %s", planned.describe(), consequence)
    return planned


# A change's wrapper carries its name and Airflow's own function behind it.
_MADE = "_tickit_runtime_change"


def mark(function: Any, name: str, original: Any) -> Any:
    setattr(function, _MADE, name)
    function.__wrapped__ = original  # what the shape checks look at once the change is made
    return function


def is_made(function: Any) -> bool:
    return getattr(function, _MADE, None) is not None


def unchanged(function: Any) -> Any:
    """Airflow's own function behind a change of ours (itself when unchanged)."""
    return function.__wrapped__ if is_made(function) else function


# Shape checks: what a change reads of its target, looked at without changing or running it.


def parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def expect_parameters(function: Any, expected: Sequence[str]) -> str | None:
    found = parameters(function)
    return None if found == list(expected) else f"its parameters are {found}, verified with {list(expected)}"


def expect_names(function: Any, names: Iterable[str]) -> str | None:
    """The attribute and global names `function`'s own code uses (not its callees')."""
    used = set(getattr(function, "__code__", None).co_names)  # type: ignore[union-attr]
    missing = sorted(set(names) - used)
    return None if not missing else f"its code no longer uses {missing}"


def first_problem(*problems: str | None) -> str | None:
    return next((problem for problem in problems if problem), None)
