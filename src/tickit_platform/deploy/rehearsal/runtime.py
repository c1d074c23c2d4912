"""MWAA's runtime here: Python 3.12, the bundle's Airflow with Celery, then requirements.txt as MWAA installs it.

MWAA's image (aws/amazon-mwaa-docker-images) installs requirements.txt with
`pip install --constraint mwaa_essential_constraints.txt -r requirements.txt`, adding
`-c airflow_constraints.txt` (its local copy of Airflow's official file) only when requirements.txt
names no constraints itself (ours names none). requirements.txt installs from the wheels plugins.zip
puts under AIRFLOW_HOME/plugins (MWAA's /usr/local/airflow, the rehearsal's own folder here) with the
package index unreachable, within MWAA's 9 minutes (docs/decisions/030-mwaa-without-the-package-index.md).
A bundle from before that named Airflow's constraints URL; where that host cannot be reached the
rehearsal uses the local copy of the same file instead, and says so.

A runtime is cached by what it is made from (Python, Airflow, constraints, requirements.txt), so a
second rehearsal of an unchanged bundle installs nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tickit_platform.deploy.bundle import MWAA_AIRFLOW_HOME
from tickit_platform.deploy.constraints import AIRFLOW_CONSTRAINTS, CONSTRAINTS_DIR, ESSENTIAL_CONSTRAINTS
from tickit_platform.deploy.rehearsal import RehearsalError
from tickit_platform.deploy.rehearsal.startup import offline_pip_env

Say = Callable[[str], None]
# What MWAA's image has besides requirements.txt: Airflow with Celery, and PostgreSQL for its metadata.
AIRFLOW_EXTRAS = "celery,postgres"
# Bump when the recipe below changes, so cached runtimes made the old way are not reused.
RECIPE = "2"
# MWAA gives `pip3 install -r requirements.txt` 9 minutes on every container start.
REQUIREMENTS_TIMEOUT_SECONDS = 540
# pip's messages that only say an index location of this machine's pip configuration is absent.
_NOISE = re.compile(r"^WARNING: Location '.*' is ignored")
_CONSTRAINT_LINE = re.compile(r"^\s*#?\s*(-c|--constraint)[\s=]", re.MULTILINE)
_URL_CONSTRAINT = re.compile(r'^(?P<option>-c|--constraint)[\s=]+"?(?P<url>https?://[^"\s]+)"?\s*$', re.MULTILINE)


@dataclass(frozen=True)
class Constraints:
    """Airflow's constraints file and MWAA's essential pins (None where only Airflow's file is known)."""

    airflow: Path
    essential: Path | None

    @classmethod
    def for_airflow(cls, airflow_version: str, given: Path | None = None) -> Constraints:
        if given is not None:
            given = given.expanduser().resolve()
            if not given.is_file():
                raise RehearsalError(f"--constraints {given}: no such file")
            essential = given.with_name(ESSENTIAL_CONSTRAINTS)
            return cls(given, essential if essential.is_file() and essential != given else None)
        folder = CONSTRAINTS_DIR / airflow_version
        if not (folder / AIRFLOW_CONSTRAINTS).is_file():
            known = sorted(p.name for p in CONSTRAINTS_DIR.iterdir() if p.is_dir())
            raise RehearsalError(
                f"no constraints file for Airflow {airflow_version} is checked in (have: {', '.join(known)}); "
                f"pass --constraints FILE (Airflow's constraints-3.12.txt for {airflow_version}), or add it as "
                f"{CONSTRAINTS_DIR.name}/README.md describes"
            )
        essential = folder / ESSENTIAL_CONSTRAINTS
        return cls(folder / AIRFLOW_CONSTRAINTS, essential if essential.is_file() else None)


@dataclass(frozen=True)
class Runtime:
    venv: Path
    python_version: str
    airflow_version: str
    # How long MWAA's command took on requirements.txt, offline (None: the runtime came from the cache).
    requirements_seconds: float | None = None

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def bin_dir(self) -> Path:
        return self.venv / "bin"


def find_python(version: str = "3.12") -> Path:
    """An interpreter of exactly this minor version: on PATH, then pyenv's versions, else a clear error."""
    candidates: list[Path] = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(Path(on_path))
    roots = [os.environ.get("PYENV_ROOT"), str(Path.home() / ".pyenv")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        done = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False, timeout=20)
        roots.insert(0, done.stdout.strip() if done.returncode == 0 else None)
    for root in filter(None, roots):
        versions = Path(root) / "versions"
        if versions.is_dir():
            found = sorted(versions.glob(f"{version}.*/bin/python{version}"), reverse=True)
            candidates.extend(found)
    for candidate in candidates:
        # A pyenv shim exists on PATH even where that version is not installed: ask the interpreter itself.
        done = subprocess.run(
            [str(candidate), "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        if done.returncode == 0 and done.stdout.strip() == version:
            return candidate
    raise RehearsalError(
        f"no Python {version} found (MWAA's Airflow runs on Python {version}): looked for python{version} on PATH "
        f"and in pyenv's versions. Install it (e.g. `pyenv install {version}` or your system's python{version} "
        "and python{version}-venv packages) and rerun."
    )


def url_reachable(url: str, timeout: float = 5.0) -> bool:
    """Whether a HEAD request answers within `timeout` (name resolution included, hence the thread)."""
    answer: list[bool] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
                answer.append(True)
        except Exception:
            answer.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 1)
    return bool(answer and answer[0])


def effective_requirements(text: str, constraints: Constraints, say: Say, airflow_home: Path | None = None) -> str:
    """requirements.txt as pip will read it here: MWAA's AIRFLOW_HOME is the rehearsal's (the wheels of plugins.zip
    are there), and a constraints URL this machine cannot reach (an older bundle's) becomes the local copy."""
    mwaa_plugins = f"{MWAA_AIRFLOW_HOME}/plugins/"
    if airflow_home is not None and mwaa_plugins in text:
        say(f"requirements.txt: {mwaa_plugins} is {airflow_home}/plugins/ here (plugins.zip is extracted there)")
        text = text.replace(mwaa_plugins, f"{airflow_home}/plugins/")
    found = _URL_CONSTRAINT.search(text)
    if found is None or url_reachable(found["url"]):
        return text
    say(f"requirements.txt's constraints URL is unreachable from here ({found['url']}): using {constraints.airflow}")
    return text[: found.start()] + f"{found['option']} {constraints.airflow}" + text[found.end() :]


def requirements_install_args(requirements_file: Path, text: str, constraints: Constraints) -> list[str]:
    """MWAA's own command line for requirements.txt (the constraints added only if the file names none)."""
    args = ["-m", "pip", "install", "--disable-pip-version-check"]
    if constraints.essential is not None:
        args += ["--constraint", str(constraints.essential)]
    args += ["-r", str(requirements_file)]
    if not _CONSTRAINT_LINE.search(text):
        args += ["-c", str(constraints.airflow)]
    return args


def runtime_key(python_version: str, airflow_version: str, constraints: Constraints, requirements: str) -> str:
    digest = hashlib.sha256()
    parts = [RECIPE, python_version, airflow_version, AIRFLOW_EXTRAS, constraints.airflow.read_text()]
    parts += [constraints.essential.read_text() if constraints.essential else "", requirements]
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _pip_failure(step: str, log: Path, code: int) -> RehearsalError:
    lines = [line for line in log.read_text(errors="replace").splitlines() if not _NOISE.match(line)]
    errors = [line for line in lines if line.startswith("ERROR")] or lines[-15:]
    shown = "\n".join(f"  {line}" for line in errors[-15:])
    return RehearsalError(f"step '{step}' failed: pip exited with code {code}:\n{shown}\nfull log: {log}")


def _run_step(step: str, command: list[str], log: Path, say: Say, env: dict[str, str], timeout: float) -> float:
    """Run one install step, logged; its seconds, or a RehearsalError with pip's own error lines."""
    started = time.monotonic()
    say(f"{step}…")
    with log.open("ab") as handle:
        handle.write(f"$ {' '.join(command)}\n".encode())
        handle.flush()
        try:
            done = subprocess.run(
                command, stdout=handle, stderr=subprocess.STDOUT, env=env, check=False, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise RehearsalError(f"step '{step}' did not finish within {timeout:.0f} s; see {log}") from None
    if done.returncode != 0:
        raise _pip_failure(step, log, done.returncode)
    took = time.monotonic() - started
    say(f"{step}: done in {took:.0f} s")
    return took


def ensure_runtime(
    cache_root: Path,
    bundle_dir: Path,
    airflow_version: str,
    constraints: Constraints,
    say: Say,
    python_version: str = "3.12",
    timeout: float = 900.0,
    airflow_home: Path | None = None,
) -> Runtime:
    """The cached runtime for this bundle, built now if there is none (the install steps named as they run).

    airflow_home: where plugins.zip was extracted (its plugins/), MWAA's /usr/local/airflow.
    """
    requirements_file = bundle_dir / "requirements.txt"
    if not requirements_file.is_file():
        raise RehearsalError(f"{bundle_dir} holds no requirements.txt: is it a folder from `tickit deploy build`?")
    requirements = effective_requirements(requirements_file.read_text(), constraints, say, airflow_home)
    key = runtime_key(python_version, airflow_version, constraints, requirements)
    venv = cache_root / key
    ready = venv / ".tickit-runtime-ready"
    if ready.is_file():
        say(f"runtime: cached, Python {python_version} + Airflow {airflow_version} + requirements.txt ({venv})")
        return Runtime(venv, python_version, airflow_version)
    python = find_python(python_version)
    shutil.rmtree(venv, ignore_errors=True)
    venv.mkdir(parents=True)
    log = venv / "install.log"
    (venv / "requirements.txt").write_text(requirements)
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_USER", "PIP_CONSTRAINT", "PYTHONPATH", "VIRTUAL_ENV")}
    say(f"runtime: building {venv} with {python} (install log: {log})")
    _run_step("runtime: create the virtualenv", [str(python), "-m", "venv", str(venv)], log, say, env, timeout)
    runtime = Runtime(venv, python_version, airflow_version)
    airflow_args = ["-m", "pip", "install", "--disable-pip-version-check"]
    airflow_args += [f"apache-airflow[{AIRFLOW_EXTRAS}]=={airflow_version}", "-c", str(constraints.airflow)]
    if constraints.essential is not None:
        airflow_args += ["-c", str(constraints.essential)]
    _run_step(
        f"runtime: install apache-airflow[{AIRFLOW_EXTRAS}]=={airflow_version}",
        [str(runtime.python), *airflow_args],
        log,
        say,
        env,
        timeout,
    )
    args = requirements_install_args(venv / "requirements.txt", requirements, constraints)
    # As on an MWAA network without the internet: the index is a port where nothing listens, and no pip
    # configuration or PIP_* variable of this machine (its wheel folders, extra indexes) takes part.
    offline = offline_pip_env(env)
    say(
        f"install requirements.txt with the package index unreachable (PIP_INDEX_URL={offline['PIP_INDEX_URL']}, "
        "no extra index, no pip configuration file): every package must come from plugins.zip"
    )
    took = _run_step(
        "install requirements.txt (as MWAA does)",
        [str(runtime.python), *args],
        log,
        say,
        offline,
        min(timeout, REQUIREMENTS_TIMEOUT_SECONDS),
    )
    say(f"install requirements.txt: {took:.0f} s of MWAA's {REQUIREMENTS_TIMEOUT_SECONDS} s limit, no package index")
    ready.write_text(key)
    return Runtime(venv, python_version, airflow_version, requirements_seconds=took)
