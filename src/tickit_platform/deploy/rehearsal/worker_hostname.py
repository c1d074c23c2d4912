"""Airflow's `[core] hostname_callable` for a rehearsal: each Celery worker reports its own name.

Copied beside the rehearsal's Airflow (not imported from tickit_platform, which the runtime does not
have). On MWAA each worker is its own container with its own host name; here all run on one machine,
where `socket.getfqdn()` would be the same for all of them.
"""

import os
import socket


def hostname() -> str:
    return os.environ.get("TICKIT_REHEARSAL_HOSTNAME") or socket.getfqdn()
