"""Where a folder of tickit files came from, kept beside the files so every output can say it.

A folder counts as complete only once its `provenance.json` exists: it is written last, atomically,
so an interrupted download or generation is never mistaken for a finished one.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROVENANCE_FILE = "provenance.json"


@dataclass(frozen=True)
class Provenance:
    kind: str  # "official", "given" or "synthetic"
    source: str  # the URL, path, or generator that produced the files
    rows: dict[str, int] = field(default_factory=dict)
    sha256: str | None = None  # of the downloaded zip, when there was one
    scale: float | None = None
    seed: int | None = None
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


def write_provenance(folder: Path, provenance: Provenance) -> Path:
    path = folder / PROVENANCE_FILE
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(asdict(provenance), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_provenance(folder: Path) -> Provenance:
    raw: dict[str, Any] = json.loads((folder / PROVENANCE_FILE).read_text(encoding="utf-8"))
    return Provenance(**raw)


def is_complete(folder: Path) -> bool:
    return (folder / PROVENANCE_FILE).is_file()


def describe(provenance: Provenance) -> str:
    """One phrase naming the data, printed by every command that uses it."""
    if provenance.kind == "synthetic":
        return f"synthetic tickit data (scale {provenance.scale:g}, seed {provenance.seed})"
    digest = f", sha256 {provenance.sha256[:12]}" if provenance.sha256 else ""
    if provenance.kind == "official":
        return f"official tickit data ({provenance.source}{digest})"
    return f"given tickit files ({provenance.source}{digest})"
