"""The dbt wheelhouse: every wheel the workers' dbt virtualenv needs, for MWAA's platform, pinned by hash.

MWAA's workers run Python 3.12 on Amazon Linux 2023 (glibc 2.34, x86_64; aws/amazon-mwaa-docker-images,
`images/airflow/<version>/Dockerfile.base.j2`). `pip download` resolves dbt-core and dbt-redshift, at the
versions the project uses, for that platform with wheels only (nothing is built on a worker), under the
versions installed here as constraints, so production runs the transitive dependencies the tests ran.
Each wheel's SHA-256 goes into a requirements file (`name==version --hash=sha256:…`), which startup.sh
installs with `--no-index --require-hashes`: a worker never asks a package index, and installs exactly
these files or nothing (docs/decisions/022-mwaa-331-offline-workers.md).

The wheels are kept under the bundle cache, keyed by what they are resolved from, so a rebuild
downloads nothing.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from tickit_platform.errors import TickitError

# Where plugins.zip puts the wheels on every MWAA container: it is extracted to AIRFLOW_HOME/plugins.
# A name with a hyphen: no Python module of that name can exist, so Airflow's plugin manager, which
# imports the .py files under plugins/, finds nothing to import here.
WHEELHOUSE_DIR = "tickit-dbt-wheels"
# Imported by every Airflow process from the plugins folder (MWAA's own local settings load it): it makes the
# triggerer's model-trigger workloads lean (the file says how).
LOCAL_SETTINGS = Path(__file__).with_name("airflow_local_settings.py")
LOCK_FILE = "requirements.txt"
PLUGINS_ZIP = "plugins.zip"
# MWAA's platform. Amazon Linux 2023 has glibc 2.34, so every manylinux up to 2_34 runs there; pip
# takes each platform tag literally, hence the list.
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64")
# AWS recommends a plugins.zip under 1 GB (larger ones slow every container's start); it sets no hard limit.
PLUGINS_ZIP_LIMIT_BYTES = 1024**3
# Bump when the recipe below changes, so wheelhouses made the old way are not reused.
RECIPE = "1"
# The timestamp every zip entry gets: the same wheels give a byte-identical plugins.zip, which
# `tickit deploy push` then recognises as unchanged and does not upload again.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_ERROR_LINE = re.compile(r"^(ERROR|error):")


class WheelhouseError(TickitError):
    """The wheels could not be downloaded or do not fit; the message says why and what to do."""


@dataclass(frozen=True)
class Wheelhouse:
    folder: Path  # the wheels and LOCK_FILE
    requirements: tuple[str, ...]  # what was asked for, e.g. ("dbt-core==1.11.16", "dbt-redshift==1.11.2")
    cached: bool

    @property
    def lock(self) -> Path:
        return self.folder / LOCK_FILE

    @property
    def wheels(self) -> list[Path]:
        return sorted(self.folder.glob("*.whl"))

    @property
    def digest(self) -> str:
        """SHA-256 of the lock file: it names every wheel by hash, so it stands for the whole wheelhouse."""
        return hashlib.sha256(self.lock.read_bytes()).hexdigest()


def installed_constraints(exclude: Iterable[str] = ()) -> str:
    """`name==version` for every distribution installed here: the versions the project's tests ran."""
    skip = {canonicalize_name(n) for n in exclude}
    pins: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        # A local version (+cpu) or an editable install of this project is nothing an index serves.
        if not name or canonicalize_name(name) in skip or "+" in dist.version:
            continue
        pins[str(canonicalize_name(name))] = dist.version
    return "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))


def cache_key(requirements: Iterable[str], python_version: str, constraints: str) -> str:
    digest = hashlib.sha256()
    for part in (RECIPE, python_version, *PLATFORMS, *sorted(requirements), constraints):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _pip() -> list[str]:
    """A pip to run: this interpreter's, else one from a virtualenv made with Python's own bundled pip."""
    found = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, check=False, timeout=60)
    if found.returncode == 0:
        return [sys.executable, "-m", "pip"]
    # uv's environments have no pip; `python -m venv` installs the one the standard library bundles (ensurepip),
    # without any network. Made once per machine user, in the temporary folder.
    venv = Path(tempfile.gettempdir()) / f"tickit-pip-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    python = venv / "bin" / "python"
    if not python.exists():
        # Made beside it and renamed into place: two builds at once (parallel tests) never share a half-made one.
        staging = Path(tempfile.mkdtemp(prefix=f"{venv.name}.tmp-", dir=venv.parent))
        made = subprocess.run([sys.executable, "-m", "venv", str(staging)], capture_output=True, text=True, check=False)
        if made.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise WheelhouseError(
                f"no pip here to download the dbt wheels with, and `python -m venv` could not make one: "
                f"{made.stderr.strip()[-500:]}"
            )
        try:
            staging.rename(venv)
        except OSError:  # another build made it meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    return [str(python), "-m", "pip"]


def _pip_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_USER", "PIP_REQUIRE_VIRTUALENV", "PYTHONPATH")}
    # The constraints are ours alone: an empty value overrides any constraint from pip's configuration files.
    env["PIP_CONSTRAINT"] = ""
    return env


def _lock_lines(folder: Path) -> list[str]:
    lines = []
    for wheel in sorted(folder.glob("*.whl")):
        name, version, _, _ = parse_wheel_filename(wheel.name)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        lines.append(f"{name}=={version} --hash=sha256:{digest}")
    return sorted(lines)


def render_lock(folder: Path, requirements: Iterable[str], python_version: str) -> str:
    header = (
        f"# The dbt virtualenv of the MWAA workers, written by `tickit deploy build`: {' '.join(requirements)}\n"
        f"# and every dependency, as wheels for CPython {python_version} on manylinux x86_64 (MWAA's platform).\n"
        "# startup.sh installs it with `pip install --no-index --find-links <this folder> --require-hashes`.\n"
    )
    return header + "".join(f"{line}\n" for line in _lock_lines(folder))


def ensure_wheelhouse(
    requirements: tuple[str, ...],
    cache_root: Path | None,
    *,
    python_version: str,
    constraints: str | None = None,
) -> Wheelhouse:
    """The wheels for `requirements` on MWAA's platform, from the cache or downloaded now (one pip call)."""
    constraints = installed_constraints() if constraints is None else constraints
    key = cache_key(requirements, python_version, constraints)
    if cache_root is None:
        cache_root = Path(tempfile.mkdtemp(prefix="tickit-wheels-"))
    folder = cache_root / "wheelhouse" / key
    if (folder / LOCK_FILE).is_file():
        return Wheelhouse(folder, requirements, cached=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}.tmp-", dir=folder.parent))
    try:
        (staging / ".constraints.txt").write_text(constraints)
        command = [
            *_pip(),
            "download",
            "--disable-pip-version-check",
            "--only-binary=:all:",
            *(f"--platform={platform}" for platform in PLATFORMS),
            f"--python-version={python_version}",
            "--implementation=cp",
            "--dest",
            str(staging),
            "--constraint",
            str(staging / ".constraints.txt"),
            *requirements,
        ]
        done = subprocess.run(command, capture_output=True, text=True, env=_pip_env(), check=False, timeout=900)
        if done.returncode != 0:
            output = (done.stdout + done.stderr).splitlines()
            errors = [line for line in output if _ERROR_LINE.match(line)] or output[-10:]
            shown = "\n".join(f"  {line}" for line in errors[-10:])
            raise WheelhouseError(
                f"downloading the dbt wheels for MWAA's platform (Python {python_version}, manylinux x86_64) failed: "
                f"pip exited with code {done.returncode}:\n{shown}\n"
                "`tickit deploy build` needs the package index (or a mirror set with PIP_INDEX_URL) the first "
                "time; the wheels are then kept and reused."
            )
        (staging / ".constraints.txt").unlink()
        (staging / LOCK_FILE).write_text(render_lock(staging, requirements, python_version))
        try:
            staging.rename(folder)
        except OSError:  # another build of the same key finished first: its wheels are the same
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Wheelhouse(folder, requirements, cached=False)


def write_plugins_zip(wheelhouse: Wheelhouse, target: Path) -> int:
    """plugins.zip with the wheelhouse under WHEELHOUSE_DIR/ and our `airflow_local_settings.py` at its root,
    byte-identical for the same wheels; its size."""
    entries = [(f"{WHEELHOUSE_DIR}/{path.name}", path) for path in (wheelhouse.lock, *wheelhouse.wheels)]
    entries.append((LOCAL_SETTINGS.name, LOCAL_SETTINGS))
    # Stored, not deflated: wheels are zip files already, and storing keeps the build fast.
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, path in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, so the permissions above are read as such
            archive.writestr(info, path.read_bytes())
    return target.stat().st_size


def extract_plugins_zip(archive: Path, plugins_dir: Path) -> None:
    """What MWAA does with plugins.zip on every container: its content at AIRFLOW_HOME/plugins, replacing the old."""
    shutil.rmtree(plugins_dir, ignore_errors=True)
    plugins_dir.mkdir(parents=True)
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(plugins_dir)
