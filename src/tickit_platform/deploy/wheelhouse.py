"""Wheelhouses for MWAA's platform, pinned by hash: the workers' dbt virtualenv's, and requirements.txt's.

MWAA's workers run Python 3.12 on Amazon Linux 2023 (glibc 2.34, x86_64; aws/amazon-mwaa-docker-images,
`images/airflow/<version>/Dockerfile.base.j2`). `pip download` resolves dbt-core and dbt-redshift, at the
versions the project uses, for that platform with wheels only (nothing is built on a worker), under the
versions installed here as constraints, so production runs the transitive dependencies the tests ran.
Each wheel's SHA-256 goes into a requirements file (`name==version --hash=sha256:…`), which startup.sh
installs with `--no-index --require-hashes`: a worker never asks a package index, and installs exactly
these files or nothing (docs/decisions/022-mwaa-331-offline-workers.md).

requirements.txt's wheels (Cosmos and what it needs beyond MWAA's Airflow) are resolved the same way, under
MWAA's own constraints files, and MWAA's own `pip3 install` reads them with `--no-index --find-links`: no
container start asks a package index (docs/decisions/030-mwaa-without-the-package-index.md).

The wheels are kept under the bundle cache, keyed by what they are resolved from, so a rebuild
downloads nothing.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

import tickit_runtime
from tickit_runtime.errors import TickitError

# Where plugins.zip puts the wheels on every MWAA container: it is extracted to AIRFLOW_HOME/plugins.
# A name with a hyphen: no Python module of that name can exist, so Airflow's plugin manager, which
# imports the .py files under plugins/, finds nothing to import here.
WHEELHOUSE_DIR = "tickit-dbt-wheels"
# requirements.txt's wheels, beside them; MWAA's `pip3 install -r requirements.txt` finds them there.
AIRFLOW_WHEELS_DIR = "tickit-airflow-wheels"
# Imported by every Airflow process from the plugins folder (MWAA's own local settings load it): it makes the
# triggerer's model-trigger workloads lean (the file says how).
# Named, not imported: importing it in a component would make its changes (tickit_runtime/airflow_local_settings.py).
LOCAL_SETTINGS = Path(tickit_runtime.__file__).with_name("airflow_local_settings.py")
LOCK_FILE = "requirements.txt"
# Under a bundle build's cache: one folder per cache key, each written whole then renamed into place.
CACHE_FOLDER = "wheelhouse"
# What the target already has installed (MWAA's Airflow), as resolved: kept beside the wheels in the cache,
# never shipped; tests stand the image in with it.
PREINSTALLED_FILE = "preinstalled.txt"
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
_UNWHEELED_PIN = re.compile(r"The user requested \(constraint\) ([A-Za-z0-9._-]+)==(\S+)")
# Dependency markers are evaluated for MWAA's interpreter, not for the one running pip here: pip takes
# --python-version for wheel tags and Requires-Python only, and evaluates `python_version < "3.12"` for itself.
_TARGET_MARKERS = {
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
}


class WheelhouseError(TickitError):
    """The wheels could not be downloaded or do not fit; the message says why and what to do."""


@dataclass(frozen=True)
class Wheelhouse:
    folder: Path  # the wheels and LOCK_FILE
    requirements: tuple[str, ...]  # what was asked for, e.g. ("dbt-core==1.11.16", "dbt-redshift==1.11.2")
    cached: bool

    @property
    def preinstalled(self) -> dict[str, str]:
        """name -> version of what the target already has and the wheelhouse leaves out (empty: nothing left out)."""
        path = self.folder / PREINSTALLED_FILE
        lines = path.read_text().splitlines() if path.is_file() else []
        return dict(line.split("==", 1) for line in lines if "==" in line)

    @property
    def pinned(self) -> list[str]:
        """The lock's `name==version --hash=sha256:…` lines."""
        return [line for line in self.lock.read_text().splitlines() if line and not line.startswith("#")]

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


def cache_key(
    requirements: Iterable[str], python_version: str, constraints: str, preinstalled: Iterable[str] = ()
) -> str:
    digest = hashlib.sha256()
    # What is left out only counts where something is (the dbt wheelhouses cached before it keep their key).
    excluded = [f"preinstalled:{name}" for name in sorted(preinstalled)]
    for part in (RECIPE, python_version, *PLATFORMS, *sorted(requirements), constraints, *excluded):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def pip_command() -> list[str]:
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


def render_lock(folder: Path, requirements: Iterable[str], python_version: str, preinstalled: bool = False) -> str:
    if preinstalled:
        header = (
            f"# requirements.txt's wheels, written by `tickit deploy build`: {' '.join(requirements)} and every\n"
            f"# dependency MWAA's Airflow lacks, as wheels for CPython {python_version} on manylinux x86_64.\n"
        )
    else:
        header = (
            f"# The dbt virtualenv of the MWAA workers, written by `tickit deploy build`: {' '.join(requirements)}\n"
            f"# and every dependency, as wheels for CPython {python_version} on manylinux x86_64 (MWAA's platform).\n"
            "# startup.sh installs it with `pip install --no-index --find-links <this folder> --require-hashes`.\n"
        )
    return header + "".join(f"{line}\n" for line in _lock_lines(folder))


def _platform_args(python_version: str) -> list[str]:
    """MWAA's interpreter and platform for pip, wheels only: nothing is built on a container."""
    return [
        "--only-binary=:all:",
        *(f"--platform={platform}" for platform in PLATFORMS),
        f"--python-version={python_version}",
        "--implementation=cp",
    ]


def _run_pip(command: list[str], what: str, python_version: str) -> None:
    """One pip call; its failure as a WheelhouseError with pip's own error lines and what to do."""
    done = subprocess.run(command, capture_output=True, text=True, env=_pip_env(), check=False, timeout=900)
    if done.returncode == 0:
        return
    raise _pip_failure(what, python_version, done)


def _pip_failure(what: str, python_version: str, done: subprocess.CompletedProcess[str]) -> WheelhouseError:
    output = (done.stdout + done.stderr).splitlines()
    errors = [line for line in output if _ERROR_LINE.match(line) or "(constraint)" in line] or output[-10:]
    shown = "\n".join(f"  {line}" for line in errors[-10:])
    return WheelhouseError(
        f"{what} for MWAA's platform (Python {python_version}, manylinux x86_64) failed: "
        f"pip exited with code {done.returncode}:\n{shown}\n"
        "`tickit deploy build` needs the package index (or a mirror set with PIP_INDEX_URL) the first "
        "time; the wheels are then kept and reused."
    )


def _stub_wheel(folder: Path, name: str, version: str) -> None:
    """A wheel holding only metadata, for pip to resolve a pin of the target's own that PyPI has as source only.

    MWAA's image built it from source (Airflow 3.0.6 pins dill 0.3.1.1, which has no wheel); pip, resolving for
    another platform, takes wheels only. The stub stands for the installed package during the resolution and is
    never shipped (_plan refuses to).
    """
    folder.mkdir(exist_ok=True)
    stem = f"{canonicalize_name(name).replace('-', '_')}-{version}"
    with zipfile.ZipFile(folder / f"{stem}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{stem}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        wheel.writestr(f"{stem}.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"{stem}.dist-info/RECORD", "")


def _resolved(report: Path) -> dict[str, tuple[str, list[Requirement]]]:
    """name -> (version, its dependencies) for everything pip chose, from its installation report."""
    chosen: dict[str, tuple[str, list[Requirement]]] = {}
    for item in json.loads(report.read_text())["install"]:
        metadata = item["metadata"]
        requires = [Requirement(line) for line in metadata.get("requires_dist") or []]
        chosen[str(canonicalize_name(metadata["name"]))] = (metadata["version"], requires)
    return chosen


def _closure(
    roots: Iterable[str], chosen: Mapping[str, tuple[str, list[Requirement]]], python_version: str
) -> dict[str, str]:
    """name -> version of everything `roots` need on MWAA's interpreter, each dependency's markers evaluated there."""
    env = {**_TARGET_MARKERS, "python_version": python_version, "python_full_version": f"{python_version}.0"}
    needed: dict[str, str] = {}
    done: set[tuple[str, str]] = set()
    stack = [Requirement(root) for root in roots]
    while stack:
        requirement = stack.pop()
        name = str(canonicalize_name(requirement.name))
        if name not in chosen:
            raise WheelhouseError(
                f"{name} is needed on MWAA's Python {python_version} but pip, running on Python "
                f"{sys.version_info.major}.{sys.version_info.minor} here, did not resolve it (a dependency marker that "
                f"differs between the two): run `tickit deploy build` with Python {python_version}."
            )
        version, requires = chosen[name]
        needed[name] = version
        for extra in ("", *sorted(requirement.extras)):
            if (name, extra) in done:
                continue
            done.add((name, extra))
            for dependency in requires:
                if dependency.marker is None or dependency.marker.evaluate({**env, "extra": extra}):
                    stack.append(dependency)
    return needed


def _plan(
    requirements: tuple[str, ...], preinstalled: tuple[str, ...], constraints_file: Path, python_version: str
) -> tuple[dict[str, str], dict[str, str]]:
    """(what to ship, what the target has): one resolution of both together, so their versions agree."""
    report = constraints_file.with_name(".report.json")
    stubs = constraints_file.with_name(".stubs")
    command = [
        *pip_command(),
        "install",
        "--dry-run",
        "--ignore-installed",
        # Not --quiet: pip names the pin behind a conflict only at its default verbosity.
        "--disable-pip-version-check",
        *_platform_args(python_version),
        # A target folder lets pip resolve for another platform; nothing is written there (a dry run).
        "--target",
        str(constraints_file.parent / ".target"),
        "--report",
        str(report),
        "--find-links",
        str(stubs),
        "--constraint",
        str(constraints_file),
        *requirements,
        *preinstalled,
    ]
    stubbed: dict[str, str] = {}
    while True:
        done = subprocess.run(command, capture_output=True, text=True, env=_pip_env(), check=False, timeout=900)
        if done.returncode == 0:
            break
        # "The user requested (constraint) dill==0.3.1.1": a pin with no wheel for the platform, the first time.
        pin = _UNWHEELED_PIN.search(done.stdout + done.stderr)
        if pin is None or canonicalize_name(pin[1]) in stubbed:
            raise _pip_failure("resolving the wheels", python_version, done)
        stubbed[str(canonicalize_name(pin[1]))] = pin[2]
        _stub_wheel(stubs, pin[1], pin[2])
    chosen = _resolved(report)
    report.unlink()
    shutil.rmtree(stubs, ignore_errors=True)
    present = _closure(preinstalled, chosen, python_version)
    ship = {n: v for n, v in _closure(requirements, chosen, python_version).items() if present.get(n) != v}
    unwheeled = sorted(set(ship) & set(stubbed))
    if unwheeled:
        raise WheelhouseError(
            f"{', '.join(f'{n}=={stubbed[n]}' for n in unwheeled)}: needed by requirements.txt, pinned by MWAA's "
            "constraints and published as source only, so no wheel can ship in plugins.zip. Pin another "
            "version of what needs it, or build its wheel for manylinux x86_64 and Python 3.12."
        )
    return ship, present


def ensure_wheelhouse(
    requirements: tuple[str, ...],
    cache_root: Path | None,
    *,
    python_version: str,
    constraints: str | None = None,
    preinstalled: tuple[str, ...] = (),
) -> Wheelhouse:
    """The wheels for `requirements` on MWAA's platform, from the cache or downloaded now.

    preinstalled: what the target already has (MWAA's `apache-airflow==X`): resolved together with
    `requirements`, and left out with all it needs, at the versions resolved. Empty: every dependency ships.
    """
    constraints = installed_constraints() if constraints is None else constraints
    key = cache_key(requirements, python_version, constraints, preinstalled)
    if cache_root is None:
        cache_root = Path(tempfile.mkdtemp(prefix="tickit-wheels-"))
    folder = cache_root / CACHE_FOLDER / key
    if (folder / LOCK_FILE).is_file():
        return Wheelhouse(folder, requirements, cached=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}.tmp-", dir=folder.parent))
    try:
        constraints_file = staging / ".constraints.txt"
        constraints_file.write_text(constraints)
        download = [*pip_command(), "download", "--disable-pip-version-check", *_platform_args(python_version)]
        download += ["--dest", str(staging), "--constraint", str(constraints_file)]
        if preinstalled:
            ship, present = _plan(requirements, preinstalled, constraints_file, python_version)
            (staging / PREINSTALLED_FILE).write_text("".join(f"{n}=={v}\n" for n, v in sorted(present.items())))
            # Exactly the versions resolved above; their dependencies are in the list or on the target.
            download += ["--no-deps", *(f"{name}=={version}" for name, version in sorted(ship.items()))]
        else:
            download += list(requirements)
        _run_pip(download, "downloading the wheels", python_version)
        constraints_file.unlink()
        shutil.rmtree(staging / ".target", ignore_errors=True)
        (staging / LOCK_FILE).write_text(render_lock(staging, requirements, python_version, bool(preinstalled)))
        try:
            staging.rename(folder)
        except OSError:  # another build of the same key finished first: its wheels are the same
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Wheelhouse(folder, requirements, cached=False)


def write_plugins_zip(wheelhouses: Mapping[str, Wheelhouse], target: Path) -> int:
    """plugins.zip with each wheelhouse under its folder (e.g. WHEELHOUSE_DIR/) and our `airflow_local_settings.py`
    at its root, byte-identical for the same wheels; its size."""
    entries = [
        (f"{folder}/{path.name}", path)
        for folder, wheelhouse in wheelhouses.items()
        for path in (wheelhouse.lock, *wheelhouse.wheels)
    ]
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
