"""The S3 manifests Redshift's COPY reads the raw files through: one per file, naming its exact key.

COPY from 's3://…/sales_tab.txt' reads every key that starts so (sales_tab.txt.bak too); COPY from a
manifest reads the keys it lists, and fails when a mandatory one is missing. `tickit deploy build` writes
them into the bundle under `raw-manifests/`, so `tickit deploy push` uploads them to the environment's
bucket, where the DAG's load finds them (the Airflow Variable tickit_source_manifest_uri,
DBT_TICKIT_S3_MANIFEST_URI to dbt; docs/decisions/025-sql-hardening.md).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from tickit_platform.data.formats import load_formats
from tickit_runtime.errors import TickitError

MANIFEST_FOLDER = "raw-manifests"
# Where the load reads the files from unless told otherwise: the public bucket of AWS's sample data.
DEFAULT_SOURCE_URI = "s3://redshift-downloads/tickit/"


class ManifestError(TickitError, ValueError):
    """A source location no manifest can name."""


def raw_manifests(source_uri: str = DEFAULT_SOURCE_URI) -> dict[str, bytes]:
    """`<file>.manifest` -> its JSON, for each raw file in the S3 folder source_uri."""
    parts = urlsplit(source_uri)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ManifestError(f"--source-uri {source_uri!r} is not an S3 folder like s3://bucket/tickit/")
    folder = source_uri.rstrip("/")
    manifests = {}
    for fmt in load_formats().values():
        entries = [{"url": f"{folder}/{fmt.file}", "mandatory": True}]
        manifests[f"{fmt.file}.manifest"] = (json.dumps({"entries": entries}, indent=2) + "\n").encode()
    return manifests
