"""The Airflow and Python versions an MWAA bundle targets when nobody names them.

Kept apart from bundle.py so that `tickit --help` can show them without importing the bundle
machinery (docs/decisions/013-mwaa-airflow-version.md).
"""

from __future__ import annotations

# The Airflow of the environment Terraform creates by default (infra/modules/mwaa and
# infra/examples/complete, variable airflow_version). Not the Airflow installed here: requirements.txt
# is installed into MWAA's own Airflow, and another Airflow's constraints would make pip try to change it.
MWAA_DEFAULT_AIRFLOW_VERSION = "3.3.1"

# The Python of MWAA's Airflow 3 images (Airflow 3.0.6 runs Python 3.12); it names the constraints file.
MWAA_PYTHON_VERSION = "3.12"
