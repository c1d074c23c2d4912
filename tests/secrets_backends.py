"""An Airflow secrets backend that denies every lookup, as a secrets store whose policy refuses this role
does: Airflow passes that refusal on to the caller instead of falling through to another backend.

Named by AIRFLOW__SECRETS__BACKEND in a process of its own (Airflow imports it while importing itself, so
it imports nothing of Airflow's until it is asked for something)."""

from __future__ import annotations

from typing import Any


class DenyingBackend:
    def _set_connection_class(self, connection_class: Any) -> None:
        pass

    def get_variable(self, key: str) -> str | None:
        from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied

        raise AirflowSecretsBackendAccessDenied(f"the secrets store's policy denies reading {key}")

    def get_connection(self, conn_id: str) -> Any:
        from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied

        raise AirflowSecretsBackendAccessDenied(f"the secrets store's policy denies reading {conn_id}")

    def get_conn_value(self, conn_id: str) -> str | None:
        return self.get_connection(conn_id)  # type: ignore[no-any-return]
