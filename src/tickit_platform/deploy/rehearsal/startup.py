"""startup.sh as MWAA runs it: sourced by bash with `exit` aliased to a handler that saves the environment.

MWAA's image sources the customer's script, then writes `env` to a file that every Airflow process of
the container starts from; a script that ends the shell before the handler (`set -e` and a failing
command) leaves no file, and the container does not start. MWAA allows 5 minutes.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tickit_platform.deploy.rehearsal import RehearsalError
from tickit_platform.local.processes import free_port
from tickit_runtime import envvars

# Run with `bash -c WRAPPER mwaa SCRIPT ENV_FILE`: the shape of MWAA's execute-user-startup-script.
# The dump holds every variable the script exported, passwords included: created owner-only (a subshell's
# umask, so the script's own stays as it set it), and removed as soon as it was read (source_startup).
WRAPPER = rf"""
tickit_startup_done() {{
    ( umask 077 && env -0 > "${envvars.STARTUP_ENV_FILE}" )
    builtin exit "${{1:-0}}"
}}
shopt -s expand_aliases
alias exit=tickit_startup_done
{envvars.STARTUP_ENV_FILE}="$2"
# shellcheck disable=SC1090
source "$1"
tickit_startup_done 0
"""
# The wrapper's own variables are not the script's exports.
_WRAPPER_NAMES = {envvars.STARTUP_ENV_FILE, "_", "SHLVL", "PWD", "OLDPWD"}
TIMEOUT_SECONDS = 300


def mwaa_env(base: Mapping[str, str], component: str, airflow_home: Path, runtime_bin: Path) -> dict[str, str]:
    """The variables MWAA sets before it sources the script (those that matter to it), over `base`."""
    env = dict(base)
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "MWAA_AIRFLOW_COMPONENT": component,
            # MWAA's python3 and pip are Airflow's.
            "PATH": f"{runtime_bin}:{base.get('PATH', '/usr/bin:/bin')}",
            # MWAA installs requirements.txt with `pip install --user`; the script must cope with it.
            "PIP_USER": "true",
        }
    )
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    return env


def offline_pip_env(base: Mapping[str, str]) -> dict[str, str]:
    """`base` with no way for pip to reach a package index: a worker on a network without the internet.

    The index is a loopback port nothing listens on (a use of it fails at once, as on MWAA it would hang),
    and this machine's pip configuration and wheel folders are dropped: MWAA's image has none.
    """
    env = {k: v for k, v in base.items() if not k.startswith("PIP_")}
    env["PIP_INDEX_URL"] = f"http://127.0.0.1:{free_port()}/simple"
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def source_startup(script: Path, env: Mapping[str, str], log: Path, timeout: float = TIMEOUT_SECONDS) -> dict[str, str]:
    """Source the script as MWAA does; the environment it leaves (what Airflow's processes start from)."""
    env_file = log.with_suffix(".env")
    env_file.unlink(missing_ok=True)
    with log.open("wb") as handle:
        try:
            done = subprocess.run(
                ["bash", "-c", WRAPPER, "mwaa", str(script), str(env_file)],
                env=dict(env),
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=env.get("AIRFLOW_HOME"),
                check=False,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            env_file.unlink(missing_ok=True)
            raise RehearsalError(
                f"step 'startup.sh' did not finish within MWAA's {timeout:.0f} s limit; see {log}"
            ) from None
    try:
        return _read_env(env_file, done.returncode, log)
    finally:
        env_file.unlink(missing_ok=True)


def _read_env(env_file: Path, returncode: int, log: Path) -> dict[str, str]:
    """The environment the script left, from the wrapper's dump; the script's failure if it left none."""
    tail = "\n".join(f"  {line}" for line in log.read_text(errors="replace").splitlines()[-15:])
    if not env_file.is_file():
        raise RehearsalError(
            f"step 'startup.sh' failed: the script ended the shell (exit code {returncode}) before MWAA could "
            f"collect its environment, so MWAA would not start this container:\n{tail}\nfull log: {log}"
        )
    if returncode != 0:
        raise RehearsalError(f"step 'startup.sh' failed: it exited with code {returncode}:\n{tail}\nfull log: {log}")
    captured = dict(item.split("=", 1) for item in env_file.read_text().split("\0") if "=" in item)
    return {k: v for k, v in captured.items() if k not in _WRAPPER_NAMES}
