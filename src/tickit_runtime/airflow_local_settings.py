"""Shipped at the root of plugins.zip: Airflow imports it as each of its processes starts, MWAA's included.

Airflow imports a module named `airflow_local_settings` from its path while `import airflow` runs, and puts
the plugins folder on that path; MWAA 3.3.1's image has its own `airflow_local_settings` and loads
`$AIRFLOW_HOME/plugins/airflow_local_settings.py` from it, so that customers' settings still apply (its
source: aws/amazon-mwaa-docker-images, images/airflow/3.3.1/airflow_local_settings.py).

In the triggerer and the DAG processor (`airflow triggerer`, `airflow dag-processor`, as MWAA starts them) it
calls the component's entry point for its changes to Airflow's internals, the one the local launcher calls
(tickit_runtime/internals): each change made only on the Airflow versions it was verified on, the component's
log saying which. Elsewhere it does nothing. Where the package is not importable (a bundle without
startup.sh's path), nothing changes, and the DAG, which cannot import it either, is not loaded at all.

It may run twice in one process (Airflow's plugin loader imports every file of the plugins folder too): the
changes are made once.
"""

from __future__ import annotations

import sys

# Airflow copies every name this module exports into `airflow.settings`: it exports none.
__all__: list[str] = []

if sys.argv[1:2] in (["triggerer"], ["dag-processor"]):
    try:
        from tickit_runtime.internals import component_starting
    except ImportError:
        pass
    else:
        component_starting(sys.argv[1])
