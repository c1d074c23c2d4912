"""`tickit deploy rehearse`: the MWAA bundle run as MWAA runs it, on a distributed Airflow here.

runtime: MWAA's Python and Airflow in a cached virtualenv, requirements.txt installed as MWAA does.
startup: startup.sh sourced as MWAA sources it, its environment captured.
services: the PostgreSQL databases and the Redis database the rehearsal uses.
cluster: Airflow on CeleryExecutor, each component (and each worker) a process group of its own.
rehearse: the steps in order, and what the run did (docs/decisions/016-rehearsal.md).
"""

from __future__ import annotations

from tickit_runtime.errors import TickitError


class RehearsalError(TickitError):
    """A step of the rehearsal failed; the message names the step, what went wrong and where the log is."""
