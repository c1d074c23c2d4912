"""Run a function once a module is first imported: how MWAA's components get their changes.

Airflow imports `airflow_local_settings` while `import airflow` itself runs, before the modules a change targets
can be imported; so the change is made as its module is first imported, by Python's own finder and loader, and
the hook removes itself.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

log = logging.getLogger("tickit_runtime.internals")


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
        # Whatever goes wrong here must not stop the component: Airflow's own behaviour stays.
        except Exception:
            log.warning("tickit_runtime: could not make its changes to %s", module.__name__, exc_info=True)

    def __getattr__(self, name: str) -> Any:  # get_source and the rest, for tracebacks
        return getattr(self._loader, name)


class WhenLoaded(importlib.abc.MetaPathFinder):
    """Finds a module as Python would, and has `then()` run once it is loaded."""

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


def when_loaded(module: str, then: Callable[[], object]) -> None:
    """`then()` now if `module` is imported, else once it is (registered once per module)."""
    if module in sys.modules:
        then()
    elif not any(isinstance(finder, WhenLoaded) and finder.name == module for finder in sys.meta_path):
        sys.meta_path.insert(0, WhenLoaded(module, then))
