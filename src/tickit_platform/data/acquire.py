"""Choose the data a run uses: the official download, given files, or synthetic data as a fallback."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tickit_platform.data.fetch import FetchError, fetch
from tickit_platform.data.provenance import describe, read_provenance
from tickit_platform.data.synth import generate
from tickit_platform.settings import Settings


@dataclass(frozen=True)
class Dataset:
    folder: Path
    description: str
    fell_back: str | None = None  # why the official download was not used, when it was not


def synthetic(settings: Settings) -> Path:
    """Generate once per scale and seed; the files are deterministic, so a cached set is as good."""
    folder = settings.synthetic_dir
    if (folder / "provenance.json").exists():
        return folder
    return generate(folder, scale=settings.scale, seed=settings.seed)


def acquire(settings: Settings, *, say: Callable[[str], None] = print) -> Dataset:
    if settings.synthetic:
        folder = synthetic(settings)
        return Dataset(folder, describe(read_provenance(folder)))
    if settings.source is not None:
        # A given source that fails is an error: the user asked for those files specifically.
        key = hashlib.sha256(settings.source.encode()).hexdigest()[:12]
        folder = fetch(settings.downloads_dir / f"given-{key}", settings.source)
        return Dataset(folder, describe(read_provenance(folder)))
    try:
        folder = fetch(settings.downloads_dir / "official", official_url=settings.data_url)
    except FetchError as err:
        reason = str(err).splitlines()[0]
        say(
            f"Official tickit data unavailable ({reason}); running on synthetic data "
            f"(scale {settings.scale:g}, seed {settings.seed}) instead."
        )
        folder = synthetic(settings)
        return Dataset(folder, describe(read_provenance(folder)), fell_back=reason)
    return Dataset(folder, describe(read_provenance(folder)))
