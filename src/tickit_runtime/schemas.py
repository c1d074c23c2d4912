"""The schemas one deployment of the project owns in its warehouse, named once for every reader.

By default they are the seed's names: `raw` (the loaded files, the quarantine, the load audit and the load's
helper functions), `bronze`, `silver`, `gold`, and `<target schema>_audit` (`tickit_audit`, the stored test
failures). With a schema prefix (TICKIT_SCHEMA_PREFIX, `alice`) every one of them starts with it
(`alice_raw`, …, `alice_tickit_audit`), so two deployments, or two people, on one PostgreSQL or Redshift
database never drop, load or read each other's tables. dbt derives the same names itself
(macros/generate_schema_name.sql, the sources' YAML); the readers of the warehouse (its summary, the
quarantine, the report) and the DAG ask this object (docs/decisions/034-schema-prefix-and-every-engine.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from tickit_runtime import envvars
from tickit_runtime.errors import SettingsError

# The schema every profile names as the target's (profiles.yml): the stored test failures go to its _audit.
DEFAULT_TARGET_SCHEMA = "tickit"
LAYERS = ("raw", "bronze", "silver", "gold")
# The prefix is written into SQL unquoted, so it is held to a plain lower-case name, short enough that the
# longest schema (`<prefix>_tickit_audit`) stays within PostgreSQL's 63 bytes. The dbt macro checks the same.
PREFIX_RULE = re.compile(r"[a-z][a-z0-9_]{0,39}")


def check_prefix(prefix: str, source: str = envvars.SCHEMA_PREFIX) -> str:
    if prefix and not PREFIX_RULE.fullmatch(prefix):
        raise SettingsError(
            f"{source}={prefix!r} is not a schema prefix: use a lower-case letter followed by at most 39 "
            f"lower-case letters, digits or underscores (e.g. {source}=alice gives alice_raw, alice_gold, …)"
        )
    return prefix


def prefix_from_env(env: Mapping[str, str]) -> str:
    """Ours first, else the Airflow option MWAA exports from Terraform's airflow_configuration_options."""
    for name in (envvars.SCHEMA_PREFIX, envvars.AIRFLOW_SCHEMA_PREFIX):
        value = envvars.text(env, name)
        if value is not None:
            return check_prefix(value, name)
    return ""


@dataclass(frozen=True)
class WarehouseSchemas:
    prefix: str = ""
    target_schema: str = DEFAULT_TARGET_SCHEMA

    def __post_init__(self) -> None:
        check_prefix(self.prefix)

    def name(self, schema: str) -> str:
        """`schema` as this deployment names it."""
        return f"{self.prefix}_{schema}" if self.prefix else schema

    @property
    def raw(self) -> str:
        return self.name("raw")

    @property
    def gold(self) -> str:
        return self.name("gold")

    @property
    def audit(self) -> str:
        return self.name(f"{self.target_schema}_audit")

    @property
    def layers(self) -> dict[str, str]:
        """Layer (raw, bronze, silver, gold) -> this deployment's schema for it."""
        return {layer: self.name(layer) for layer in LAYERS}

    def describe(self) -> str:
        """The schemas as a person reads them in one line: `raw, bronze, silver, gold` or `alice_raw, …`."""
        return ", ".join(self.layers.values())
