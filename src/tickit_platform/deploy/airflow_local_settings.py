"""Shipped at the root of plugins.zip: Airflow imports it as each of its processes starts, MWAA's included.

Airflow imports a module named `airflow_local_settings` from its path while `import airflow` runs, and puts
the plugins folder on that path; MWAA 3.3.1's image has its own `airflow_local_settings` and loads
`$AIRFLOW_HOME/plugins/airflow_local_settings.py` from it, so that customers' settings still apply (its
source: aws/amazon-mwaa-docker-images, images/airflow/3.3.1/airflow_local_settings.py).

In the triggerer only (`airflow triggerer`, as MWAA starts it), it makes the supervisor build a model
trigger's workload without the whole DAG, as the local triggerer does (orchestration/triggerer_dags.py,
docs/decisions/023). Elsewhere it does nothing. Where the package is not importable (a bundle without
startup.sh's path), nothing changes: Airflow's own behaviour, slower at scale and, from a few hundred model
tasks, open to the triggerer hang decision 023 describes.

It may run twice in one process (Airflow's plugin loader imports every file of the plugins folder too): the
change is made once.
"""

from __future__ import annotations

import sys

# Airflow copies every name this module exports into `airflow.settings`: it exports none.
__all__: list[str] = []

if sys.argv[1:2] == ["triggerer"]:
    try:
        from tickit_platform.orchestration.triggerer_dags import install_in_triggerer_when_loaded
    except ImportError:
        pass
    else:
        install_in_triggerer_when_loaded()
