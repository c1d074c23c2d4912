"""The MWAA bundle: its files, pins and startup script, and the DAG parsed from the bundle alone."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version
from tests.support import MODELS, shared_wheelhouse, skip_or_fail

from tickit_platform.data.formats import load_formats
from tickit_platform.dbt_project.manifest import DbtParseError
from tickit_platform.deploy.bundle import (
    BUNDLE_MANIFEST,
    DBT_REDSHIFT_FALLBACK_VERSION,
    MWAA_AIRFLOW_HOME,
    MWAA_AIRFLOW_WHEELS,
    MWAA_DBT_EXECUTABLE,
    MWAA_DBT_VENV,
    BundleError,
    BundleReport,
    build_bundle,
    bundle_airflow_version,
    check_cosmos_supports,
)
from tickit_platform.deploy.constraints import constraint_files
from tickit_platform.deploy.rehearsal import RehearsalError
from tickit_platform.deploy.rehearsal.runtime import find_python
from tickit_platform.deploy.versions import MWAA_DEFAULT_AIRFLOW_VERSION, MWAA_PYTHON_VERSION
from tickit_platform.deploy.wheelhouse import AIRFLOW_WHEELS_DIR, PLATFORMS, WHEELHOUSE_DIR, pip_command
from tickit_runtime.config import DAG_ID, REDSHIFT_ENV_TEMPLATES
from tickit_runtime.paths import DAGS_DIR, DBT_PROJECT_DIR, REPO_ROOT

SRC_DIR = REPO_ROOT / "src"
RUNTIME_DIR = SRC_DIR / "tickit_runtime"


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


@pytest.fixture(scope="module")
def parse_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_wheelhouse(tmp_path_factory.mktemp("parse-cache"), tmp_path_factory)


# Runs in a fresh interpreter that knows nothing of the repository: `-I` ignores PYTHON* variables and
# the user site, and the editable install's entry for src/ is dropped from sys.path. The bundle's dags/
# folder is not put on sys.path here either: Airflow's BundleDagBag adds it, as the DAG processor and
# the task runner do on MWAA, so `import tickit_runtime` can only come from the bundle. Airflow and
# Cosmos are imported first, while the bundle is still being built; the bundle's path arrives on stdin.
PROBE = """
import json, shutil, sys, tempfile
from pathlib import Path
src = sys.argv[1]
sys.path[:] = [p for p in sys.path if p.rstrip("/") != src.rstrip("/")]
from airflow.configuration import conf
from airflow.dag_processing.dagbag import BundleDagBag
from airflow.utils.file import find_dag_file_paths
import cosmos, cosmos.operators.watcher

dags = Path(sys.stdin.readline().strip())
bag = BundleDagBag(dag_folder=dags, bundle_path=dags)
import tickit_runtime
from tickit_runtime.paths import DBT_PROJECT_DIR

def discovered(folder):
    return sorted(str(Path(p).relative_to(folder)) for p in find_dag_file_paths(folder, safe_mode=True))

found = {}
for syntax in ("glob", "regexp"):
    conf.set("core", "dag_ignore_file_syntax", syntax)
    found[syntax] = discovered(dags)
unignored = Path(tempfile.mkdtemp()) / "dags"
shutil.copytree(dags, unignored)
(unignored / ".airflowignore").unlink()
found["without .airflowignore"] = discovered(unignored)

dag = bag.dags.get(sys.argv[2])
print(json.dumps({
    "package_file": tickit_runtime.__file__,
    "project_dir": str(DBT_PROJECT_DIR),
    "import_errors": {k: str(v)[-2000:] for k, v in bag.import_errors.items()},
    "dag_ids": sorted(bag.dags),
    "discovered": found,
    "task_ids": sorted(t.task_id for t in dag.tasks) if dag else [],
    "model_env": dag.get_task("silver_users").env if dag else {},
    "producer_invocation_mode": str(getattr(dag.get_task("dbt_producer_watcher"), "invocation_mode", None)),
    "producer_dbt": str(dag.get_task("dbt_producer_watcher").dbt_executable_path) if dag else "",
}))
"""


@pytest.fixture(scope="module")
def bundle_and_probe(
    tmp_path_factory: pytest.TempPathFactory, parse_cache: Path
) -> Iterator[tuple[BundleReport, subprocess.Popen[str]]]:
    """The bundle, and the DAG processor stand-in already importing Airflow while dbt parses."""
    out = tmp_path_factory.mktemp("mwaa") / "bundle"
    scratch = tmp_path_factory.mktemp("probe")
    env = {
        # Not the venv's bin/: like the scheduler on MWAA, this process has no dbt on its PATH.
        "PATH": "/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "LANG": "C.UTF-8",
        "AIRFLOW_HOME": str(scratch / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        # What startup.sh exports on MWAA, less TICKIT_DBT_MANIFEST: the DAG must find the manifest
        # inside the shipped project by itself. The dbt path does not exist on this machine.
        "TICKIT_TARGET": "dwh",
        "TICKIT_DBT_PROJECT_DIR": str(out / "dags" / "dbt_tickit"),
        "TICKIT_DBT_EXECUTABLE": MWAA_DBT_EXECUTABLE,
    }
    probe = subprocess.Popen(
        [sys.executable, "-I", "-c", PROBE, str(SRC_DIR), DAG_ID],
        env=env,
        cwd=scratch,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield build_bundle(out, cache_dir=parse_cache), probe
    finally:
        if probe.poll() is None:
            probe.kill()
            probe.communicate()


@pytest.fixture(scope="module")
def bundle(bundle_and_probe: tuple[BundleReport, subprocess.Popen[str]]) -> BundleReport:
    return bundle_and_probe[0]


@pytest.fixture(scope="module")
def parsed(bundle_and_probe: tuple[BundleReport, subprocess.Popen[str]]) -> dict[str, Any]:
    """The DAG as the scheduler's DAG processor on MWAA builds it from the bundle (no dbt installed)."""
    report, probe = bundle_and_probe
    stdout, stderr = probe.communicate(f"{report.out_dir / 'dags'}\n", timeout=120)
    assert probe.returncode == 0, stderr[-3000:]
    data: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return data


def _source_files(root: Path, skip: tuple[str, ...]) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not set(p.relative_to(root).parts) & set(skip) and p.suffix != ".pyc"
    }


def test_the_bundle_holds_exactly_the_mwaa_files(bundle: BundleReport) -> None:
    root = bundle.out_dir
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert bundle.files == on_disk

    project = {
        f"dags/dbt_tickit/{f}"
        for f in _source_files(DBT_PROJECT_DIR, ("target", "logs", "dbt_packages", ".user.yml", "__pycache__"))
    }
    # The runtime, whole (subpackages such as the alerts included), and nothing of the tool.
    package = {f"dags/tickit_runtime/{f}" for f in _source_files(RUNTIME_DIR, ("__pycache__",))}
    assert "dags/tickit_runtime/alerts/notifiers.py" in package
    assert "dags/tickit_runtime/py.typed" in package
    assert not [f for f in package if "tickit_platform" in f]
    expected = {
        BUNDLE_MANIFEST,
        "requirements.txt",
        "startup.sh",
        "plugins.zip",
        "dags/.airflowignore",
        "dags/dbt_tickit_medallion_dag.py",
        "dags/dbt_tickit/target/manifest.json",
        "dags/dbt_tickit/target/index.html",
        "dags/dbt_tickit/target/catalog.json",
        # Redshift's COPY reads each raw file through a manifest naming its exact key (decision 025).
        *(f"raw-manifests/{fmt.file}.manifest" for fmt in load_formats().values()),
        *project,
        *package,
    }
    assert set(on_disk) == expected
    # The dbt project came along without its build output or logs, apart from the manifest.
    assert "dags/dbt_tickit/dbt_project.yml" in on_disk
    assert "dags/dbt_tickit/profiles.yml" in on_disk
    assert not [f for f in on_disk if "/logs/" in f or f.endswith(".user.yml") or "__pycache__" in f]
    assert [f for f in on_disk if "/target/" in f] == [
        "dags/dbt_tickit/target/catalog.json",
        "dags/dbt_tickit/target/index.html",
        "dags/dbt_tickit/target/manifest.json",
    ]
    assert (root / "dags/dbt_tickit_medallion_dag.py").read_bytes() == (
        DAGS_DIR / "dbt_tickit_medallion_dag.py"
    ).read_bytes()
    assert (root / "dags/tickit_runtime/dag_factory.py").read_bytes() == (RUNTIME_DIR / "dag_factory.py").read_bytes()


def test_bundle_manifest_lists_every_file_with_its_sha256(bundle: BundleReport) -> None:
    root = bundle.out_dir
    lines = (root / BUNDLE_MANIFEST).read_text().splitlines()
    listed = dict(reversed(line.split("  ", 1)) for line in lines)
    assert sorted(listed) == [f for f in bundle.files if f != BUNDLE_MANIFEST]
    for name, digest in listed.items():
        assert hashlib.sha256((root / name).read_bytes()).hexdigest() == digest, name
    if shutil.which("sha256sum"):  # the reviewer's check before `aws s3 sync`
        check = subprocess.run(
            ["sha256sum", "--check", "--strict", "--quiet", BUNDLE_MANIFEST], cwd=root, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr


def _pins(lines: list[str]) -> dict[str, tuple[str, str]]:
    """name -> (version, sha256) of `name==version --hash=sha256:…` lines."""
    pins = {}
    for line in lines:
        requirement, _, digest = line.partition(" --hash=sha256:")
        name, _, version = requirement.partition("==")
        pins[str(canonicalize_name(name))] = (version, digest)
    return pins


def test_requirements_install_cosmos_from_plugins_zip_with_no_index(bundle: BundleReport) -> None:
    text = (bundle.out_dir / "requirements.txt").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    # AWS's documented way for a network without the internet: the wheels in plugins.zip, no index.
    assert lines[:2] == ["--no-index", f"--find-links {MWAA_AIRFLOW_WHEELS}"]
    assert MWAA_AIRFLOW_WHEELS == "/usr/local/airflow/plugins/tickit-airflow-wheels"
    # No constraints line, not even in a comment (MWAA looks for the option anywhere): MWAA then adds its own
    # local copy of Airflow's constraints; a URL would make every container start fetch it from the internet.
    assert "-c " not in text and "--constraint" not in text and "https://" not in text
    # MWAA's Airflow (Terraform's default environment), not the Airflow installed here.
    assert "# tickit: built for MWAA's Airflow 3.3.1 on Python 3.12\n" in text
    assert bundle.pins["apache-airflow"] == MWAA_DEFAULT_AIRFLOW_VERSION == "3.3.1"
    assert bundle_airflow_version(bundle.out_dir) == ("3.3.1", "3.12")
    # Every other line a wheel pinned by hash: Cosmos, and what it needs beyond MWAA's Airflow.
    pins = _pins(lines[2:])
    assert len(pins) == len(lines) - 2
    assert (
        pins["astronomer-cosmos"][0]
        == bundle.pins["astronomer-cosmos"]
        == importlib.metadata.version("astronomer-cosmos")
    )
    assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for _, digest in pins.values())
    # What MWAA's Airflow already has is left to it: never a second Airflow, nor a dependency of it.
    image = bundle.preinstalled
    assert image["apache-airflow"] == "3.3.1" and {"pydantic", "sqlalchemy", "jinja2"} <= set(image)
    assert not {name for name in pins if image.get(name) == pins[name][0]}
    # dbt stays out of Airflow's environment; the comment says why.
    assert "dbt-core" not in pins and "virtualenv" in text


def test_plugins_zip_holds_requirements_txts_wheels_by_hash(bundle: BundleReport) -> None:
    text = (bundle.out_dir / "requirements.txt").read_text()
    pins = _pins([line for line in text.splitlines() if "--hash=" in line])
    with zipfile.ZipFile(bundle.out_dir / "plugins.zip") as archive:
        wheels = {
            name.removeprefix(f"{AIRFLOW_WHEELS_DIR}/"): archive.read(name)
            for name in archive.namelist()
            if name.startswith(f"{AIRFLOW_WHEELS_DIR}/") and name.endswith(".whl")
        }
    assert len(wheels) == len(pins) == bundle.airflow_wheels > 3
    supported = {*cpython_tags((3, 12), platforms=PLATFORMS), *compatible_tags((3, 12), "cp312", PLATFORMS)}
    for wheel, body in wheels.items():
        name, version, _, tags = parse_wheel_filename(wheel)
        assert pins[str(name)] == (str(version), hashlib.sha256(body).hexdigest()), wheel
        assert tags & supported, wheel  # a wheel for CPython 3.12 on manylinux x86_64, nothing to build


def _image_stand_in(python: Path, preinstalled: dict[str, str], venv: Path) -> Path:
    """A Python 3.12 environment that has MWAA's Airflow as far as pip can tell: each distribution of it
    installed as metadata only (pip's 'already satisfied' reads nothing else). No network, no pip inside."""
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next(venv.glob("lib/python3.12/site-packages"))
    for name, version in preinstalled.items():
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "INSTALLER").write_text("mwaa-image\n")
    return venv / "bin" / "python"


def _mwaas_install(python: Path, home: Path, bundle: BundleReport) -> subprocess.CompletedProcess[str]:
    """MWAA's own command on the bundle's requirements.txt, as a dry run, with the package index unreachable."""
    requirements = home / "requirements.txt"
    mwaa_home = f"{MWAA_AIRFLOW_HOME}/"
    requirements.write_text((bundle.out_dir / "requirements.txt").read_text().replace(mwaa_home, f"{home}/"))
    airflow, essential = constraint_files(bundle.pins["apache-airflow"])
    command = [*pip_command(), "--python", str(python), "install", "--dry-run", "--disable-pip-version-check"]
    command += ["--constraint", str(essential), "-r", str(requirements), "-c", str(airflow)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env |= {"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_CONFIG_FILE": os.devnull}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_mwaas_command_installs_requirements_from_plugins_zip_alone(bundle: BundleReport, tmp_path: Path) -> None:
    """Every requirement resolves from plugins.zip's wheels and what MWAA's Airflow has, the index unreachable:
    MWAA's `pip3 install --constraint mwaa_essential_constraints.txt -r requirements.txt -c airflow_constraints.txt`
    run by pip for a Python 3.12 that holds the image's distributions (their markers evaluated on 3.12)."""
    try:
        python = find_python("3.12")
    except RehearsalError as err:
        skip_or_fail(str(err))
    image = _image_stand_in(python, bundle.preinstalled, tmp_path / "image")
    home = _mwaa_home(bundle, tmp_path)

    done = _mwaas_install(image, home, bundle)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"Looking in links: {home}/plugins/{AIRFLOW_WHEELS_DIR}" in done.stdout
    would = done.stdout.strip().splitlines()[-1]
    shipped = [line for line in (bundle.out_dir / "requirements.txt").read_text().splitlines() if "--hash=" in line]
    assert would.startswith("Would install ") and f"astronomer-cosmos-{bundle.pins['astronomer-cosmos']}" in would
    assert len(would.split()) - 2 == len(shipped)  # every shipped wheel, nothing else
    # A wheel missing from plugins.zip fails the install loudly: no index is there to fall back on.
    cosmos = next((home / "plugins" / AIRFLOW_WHEELS_DIR).glob("astronomer_cosmos-*.whl"))
    cosmos.unlink()
    missing = _mwaas_install(image, home, bundle)
    assert missing.returncode != 0
    assert "No matching distribution found for astronomer-cosmos==" in missing.stderr, missing.stderr[-3000:]


def test_the_default_airflow_is_the_one_terraform_creates() -> None:
    """The bundle's default and the environment Terraform makes must not drift apart."""
    default = re.compile(r'variable "airflow_version" \{.*?default\s*=\s*"([^"]+)"', re.DOTALL)
    for tf in ("infra/modules/mwaa/variables.tf", "infra/examples/complete/variables.tf"):
        found = default.search((REPO_ROOT / tf).read_text())
        assert found and found[1] == MWAA_DEFAULT_AIRFLOW_VERSION, tf
    example = (REPO_ROOT / "infra/examples/complete/terraform.tfvars.example").read_text()
    assert f'airflow_version   = "{MWAA_DEFAULT_AIRFLOW_VERSION}"' in example
    assert MWAA_PYTHON_VERSION == "3.12"


def test_a_bundle_for_mwaas_306_resolves_under_its_constraints(tmp_path: Path, parse_cache: Path) -> None:
    report = build_bundle(tmp_path / "b", airflow_version="3.0.6", cache_dir=parse_cache)
    assert (
        "# tickit: built for MWAA's Airflow 3.0.6 on Python 3.12\n" in (report.out_dir / "requirements.txt").read_text()
    )
    assert bundle_airflow_version(report.out_dir) == ("3.0.6", "3.12")
    assert report.preinstalled["apache-airflow"] == "3.0.6" and report.airflow_wheels > 3
    # A bundle from before decision 030 named Airflow's constraints URL instead: push still reads it.
    old = tmp_path / "old"
    old.mkdir()
    url = "https://raw.githubusercontent.com/apache/airflow/constraints-3.0.6/constraints-3.12.txt"
    (old / "requirements.txt").write_text(f'--constraint "{url}"\nastronomer-cosmos==1.15.1\n')
    assert bundle_airflow_version(old) == ("3.0.6", "3.12")
    # No MWAA constraints checked in for a release: nothing to resolve the wheels under, said before any work.
    with pytest.raises(
        BundleError, match=r"no MWAA constraints files for Airflow 3\.1\.7 are checked in \(have: 3\.0\.6"
    ):
        build_bundle(tmp_path / "c", airflow_version="3.1.7")
    with pytest.raises(BundleError, match=r"--airflow-version '3\.0' is not an Airflow release like 3\.3\.1"):
        build_bundle(tmp_path / "c", airflow_version="3.0")
    with pytest.raises(BundleError, match=r"--airflow-version 2\.10\.3: the DAG is written for Airflow 3"):
        build_bundle(tmp_path / "c", airflow_version="2.10.3")
    with pytest.raises(BundleError, match="--python-version '3' is not a Python version"):
        build_bundle(tmp_path / "c", python_version="3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "old"]  # refused before anything was written


def test_cosmos_must_admit_the_target_airflow() -> None:
    cosmos = importlib.metadata.distribution("astronomer-cosmos").requires
    check_cosmos_supports(MWAA_DEFAULT_AIRFLOW_VERSION, cosmos)  # the installed Cosmos runs on MWAA's Airflow
    assert any(r.startswith("apache-airflow>=") for r in cosmos or [])
    with pytest.raises(BundleError, match=r"requires apache-airflow>=3\.1.*not install on Airflow 3\.0\.6"):
        check_cosmos_supports("3.0.6", ["aenum", "apache-airflow>=3.1", "dbt-redshift; extra == 'all'"])
    # A requirement behind an extra is not Cosmos' own.
    check_cosmos_supports("3.0.6", ["apache-airflow>=3.1; extra == 'future'", "packaging>=22"])


def test_deploy_build_command_takes_the_versions(tmp_path: Path, parse_cache: Path) -> None:
    home = tmp_path / "home"
    (home / "deploy").mkdir(parents=True)
    (home / "deploy" / "cache").symlink_to(parse_cache)  # the module's warm `dbt parse` cache
    out = tmp_path / "bundle"
    tickit = [sys.executable, "-m", "tickit_platform.cli", "--home", str(home), "deploy", "build", "--out", str(out)]

    done = subprocess.run([*tickit, "--airflow-version", "3.0.6"], capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr
    assert "constraints: Airflow 3.0.6 / Python 3.12 (must be the MWAA environment's)" in done.stdout
    assert "built for MWAA's Airflow 3.0.6 on Python 3.12" in (out / "requirements.txt").read_text()
    size = (out / "plugins.zip").stat().st_size
    assert f"plugins.zip: {size / 1024**2:.1f} MiB (" in done.stdout
    assert "% of the 1 GiB AWS recommends at most)" in done.stdout
    assert re.search(r"\d+ wheels for dbt and \d+ for requirements\.txt on MWAA's Python 3\.12", done.stdout)
    assert "MWAA and the workers install them with no package index" in done.stdout
    assert "dbt docs: not shipped" in done.stdout

    refused = subprocess.run([*tickit, "--airflow-version", "2.10.3"], capture_output=True, text=True, timeout=120)

    assert refused.returncode == 1
    assert refused.stderr.startswith("tickit: --airflow-version 2.10.3: the DAG is written for Airflow 3")
    assert "Traceback" not in refused.stderr
    assert "Airflow 3.0.6 on" in (out / "requirements.txt").read_text()  # the previous bundle is untouched


def test_startup_script_pins_dbt_in_its_own_venv(bundle: BundleReport, tmp_path: Path) -> None:
    script = bundle.out_dir / "startup.sh"
    text = script.read_text()
    syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert "unset PIP_USER" in text
    assert MWAA_DBT_VENV == "/usr/local/airflow/python3-virtualenv/dbt-env"
    # On MWAA (AIRFLOW_HOME=/usr/local/airflow, no override) the DAG runs the venv's dbt.
    env = _source_startup(script, tmp_path, "scheduler", TICKIT_DBT_VENV="", AIRFLOW_HOME=MWAA_AIRFLOW_HOME)
    assert env["TICKIT_DBT_EXECUTABLE"] == MWAA_DBT_EXECUTABLE
    dbt_core = importlib.metadata.version("dbt-core")
    dbt_redshift = _version("dbt-redshift") or DBT_REDSHIFT_FALLBACK_VERSION
    assert f"dbt-core=={dbt_core}" in text
    assert f"dbt-redshift=={dbt_redshift}" in text
    # The adapter must come from the same dbt line as the pinned dbt-core.
    assert dbt_redshift.split(".")[:2] == dbt_core.split(".")[:2]
    assert bundle.pins["dbt-core"] == dbt_core and bundle.pins["dbt-redshift"] == dbt_redshift
    assert "export TICKIT_TARGET=dwh\n" in text
    assert "export AIRFLOW__COSMOS__ENABLE_TELEMETRY=False\n" in text
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        skip_or_fail("shellcheck is not installed (apt-get install shellcheck)")
    checked = subprocess.run([str(shellcheck), str(script)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout
    # With TICKIT_HOME set the DAG would look for its manifest under it, not in the shipped project.
    assert "export TICKIT_HOME" not in text
    assert os.access(script, os.X_OK)


FAKE_PYTHON3 = """#!/usr/bin/env bash
# Stands in for MWAA's python3: `python3 -m venv DIR` makes a venv whose python fakes `pip install`.
echo "python3 $* PIP_USER=${PIP_USER-unset}" >> "$FAKE_LOG"
if [[ "$1" == "-m" && "$2" == "venv" ]]; then
    mkdir -p "$3/bin"
    cat > "$3/bin/python" <<'EOF'
#!/usr/bin/env bash
echo "venv-python $* PIP_USER=${PIP_USER-unset} PYTHONPATH=${PYTHONPATH-unset}" \\
    "PIP_CONFIG_FILE=${PIP_CONFIG_FILE-unset} PIP_FIND_LINKS=${PIP_FIND_LINKS-unset}" \\
    "PIP_NO_INDEX=${PIP_NO_INDEX-unset}" >> "$FAKE_LOG"
if [[ "$1 $2 $3" == "-m pip install" ]]; then
    printf '#!/bin/sh\\necho fake-dbt "$@"\\n' > "$(dirname "$0")/dbt"
    chmod +x "$(dirname "$0")/dbt"
fi
EOF
    chmod +x "$3/bin/python"
fi
"""


def _run_startup(script: Path, tmp: Path, component: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Source the script the way MWAA does (bash, then the environment is collected), with a fake python3.

    The script's own output goes to stderr, as MWAA collects the environment apart from it (a file). Sourced
    as a command of its own, as MWAA does: the script's `set -e` then ends the shell at a failing command."""
    fake_bin = tmp / "fake-bin"
    fake_bin.mkdir(exist_ok=True)
    (fake_bin / "python3").write_text(FAKE_PYTHON3)
    (fake_bin / "python3").chmod(0o755)
    env = {
        "PATH": f"{fake_bin}:/usr/bin:/bin",
        "HOME": str(tmp),
        "PIP_USER": "true",
        "PYTHONPATH": "/mwaa/python",
        "FAKE_LOG": str(tmp / "calls.log"),
        "TICKIT_DBT_VENV": str(tmp / "python3-virtualenv" / "dbt-env"),
        "MWAA_AIRFLOW_COMPONENT": component,
        **extra,
    }
    return subprocess.run(
        ["bash", "-c", 'source "$1" >&2; env -0', "mwaa", str(script)], env=env, capture_output=True, text=True
    )


def _source_startup(script: Path, tmp: Path, component: str, **extra: str) -> dict[str, str]:
    result = _run_startup(script, tmp, component, **extra)
    assert result.returncode == 0, result.stdout + result.stderr
    exported = dict(item.split("=", 1) for item in result.stdout.split("\0") if "=" in item)
    return exported


def test_the_dbt_docs_ship_beside_the_manifest_and_the_ui_serves_them(bundle: BundleReport, tmp_path: Path) -> None:
    # The API server (MWAA's "webserver" component) reads the docs folder startup.sh names.
    env = _source_startup(bundle.out_dir / "startup.sh", tmp_path, "webserver")
    projects = json.loads(env["AIRFLOW__COSMOS__DBT_DOCS_PROJECTS"])
    assert projects["dbt_tickit"]["dir"] == "/usr/local/airflow/dags/dbt_tickit/target"
    shipped = bundle.out_dir / "dags" / projects["dbt_tickit"]["dir"].removeprefix("/usr/local/airflow/dags/")
    assert "dbt" in (shipped / projects["dbt_tickit"]["index"]).read_text()[:5000].lower()
    # No warehouse where the bundle is built: an empty catalog, and docs of the very manifest the DAG reads.
    assert json.loads((shipped / "catalog.json").read_text())["nodes"] == {}
    manifest = json.loads((shipped / "manifest.json").read_text())
    assert {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"} == set(MODELS)


def _calls(tmp: Path) -> list[str]:
    log = tmp / "calls.log"
    calls = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return calls


def _mwaa_home(bundle: BundleReport, tmp: Path) -> Path:
    """An AIRFLOW_HOME with the bundle's plugins.zip extracted to plugins/, as MWAA does on every container."""
    home = tmp / "home"
    with zipfile.ZipFile(bundle.out_dir / "plugins.zip") as archive:
        archive.extractall(home / "plugins")
    return home


def test_startup_script_sourced_like_mwaa(bundle: BundleReport, tmp_path: Path) -> None:
    script = bundle.out_dir / "startup.sh"
    venv = tmp_path / "python3-virtualenv" / "dbt-env"
    pins = f"dbt-core=={bundle.pins['dbt-core']} dbt-redshift=={bundle.pins['dbt-redshift']}"
    home = _mwaa_home(bundle, tmp_path)
    wheels = home / "plugins" / WHEELHOUSE_DIR
    lock_sha256 = hashlib.sha256((wheels / "requirements.txt").read_bytes()).hexdigest()

    # The scheduler only parses the DAG from the manifest: no venv, but the same environment.
    env = _source_startup(script, tmp_path, "scheduler")
    assert _calls(tmp_path) == []
    assert not venv.exists()
    assert env["TICKIT_TARGET"] == "dwh"
    assert env["TICKIT_DBT_EXECUTABLE"] == f"{venv}/bin/dbt"
    # Every path derives from AIRFLOW_HOME, which MWAA sets to /usr/local/airflow (default when unset).
    assert env["TICKIT_DBT_PROJECT_DIR"] == env["DBT_PROFILES_DIR"] == "/usr/local/airflow/dags/dbt_tickit"
    assert env["TICKIT_DBT_MANIFEST"] == "/usr/local/airflow/dags/dbt_tickit/target/manifest.json"
    moved = _source_startup(script, tmp_path, "scheduler", AIRFLOW_HOME=str(tmp_path / "home"))
    assert moved["TICKIT_DBT_PROJECT_DIR"] == f"{tmp_path}/home/dags/dbt_tickit"
    assert env["PIP_USER"] == "true"  # MWAA's own pip install of requirements.txt still needs it

    # A worker builds the venv with pip outside PIP_USER's reach, from the wheels of plugins.zip only:
    # no index (whatever the environment says), no other wheel folder, no pip configuration, every hash checked.
    offline = {"PIP_FIND_LINKS": "/elsewhere", "PIP_NO_INDEX": "false", "PIP_INDEX_URL": "http://127.0.0.1:9/simple"}
    env = _source_startup(script, tmp_path, "worker", AIRFLOW_HOME=str(home), **offline)
    calls = _calls(tmp_path)
    assert calls[0] == f"python3 -m venv {venv} PIP_USER=unset"
    assert calls[1] == (
        f"venv-python -m pip install --no-index --find-links {wheels} --require-hashes --only-binary=:all: "
        f"--no-cache-dir --disable-pip-version-check --quiet -r {wheels}/requirements.txt PIP_USER=unset "
        "PYTHONPATH=unset PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS=unset PIP_NO_INDEX=unset"
    )
    assert calls[2].startswith("venv-python -c import dbt.adapters.redshift")  # not `dbt --version`: it asks PyPI
    assert len(calls) == 3
    assert (venv / ".tickit-requirements").read_text() == f"{pins} {lock_sha256}"
    assert (tmp_path / "python3-virtualenv" / "bin" / "dbt").resolve() == venv / "bin" / "dbt"
    assert env["PATH"].endswith(f":{tmp_path}/python3-virtualenv/bin")
    # MWAA's own path kept, after a folder holding only tickit_runtime (from the dags folder): the triggerer
    # imports the model trigger from there, and dbt finds no `dbt_*` module (the DAG file) to load as a plugin.
    assert env["PIP_USER"] == "true" and env["PYTHONPATH"] == f"{home}/tickit-python:/mwaa/python"
    assert [p.name for p in (home / "tickit-python").iterdir()] == ["tickit_runtime"]
    assert (home / "tickit-python" / "tickit_runtime").readlink() == home / "dags" / "tickit_runtime"
    assert "PIP_CONFIG_FILE" not in env  # set inside the install's subshell only

    # Idempotent: a venv that already has the pinned versions is left alone.
    _source_startup(script, tmp_path, "worker", AIRFLOW_HOME=str(home))
    assert _calls(tmp_path) == []

    # Different pins (an older bundle's venv, installed from the index) are rebuilt from scratch.
    (venv / ".tickit-requirements").write_text("dbt-core==1.10.0 dbt-redshift==1.10.0")
    (venv / "stale-file").write_text("from the old venv")
    _source_startup(script, tmp_path, "hybrid", AIRFLOW_HOME=str(home))
    assert _calls(tmp_path)[0] == f"python3 -m venv {venv} PIP_USER=unset"
    assert (venv / ".tickit-requirements").read_text() == f"{pins} {lock_sha256}"
    assert not (venv / "stale-file").exists()


def test_a_worker_without_this_bundles_wheels_does_not_start(bundle: BundleReport, tmp_path: Path) -> None:
    script = bundle.out_dir / "startup.sh"
    # No plugins.zip on the environment (or an older environment that never had one).
    done = _run_startup(script, tmp_path, "worker", AIRFLOW_HOME=str(tmp_path / "bare"))
    assert done.returncode != 0
    assert "plugins/tickit-dbt-wheels/requirements.txt is missing" in done.stderr
    assert "Push the whole bundle" in done.stderr
    # plugins.zip of another bundle: its lock is not the one this startup.sh names.
    home = _mwaa_home(bundle, tmp_path)
    with (home / "plugins" / WHEELHOUSE_DIR / "requirements.txt").open("a") as lock:
        lock.write("six==1.0 --hash=sha256:" + "0" * 64 + "\n")
    done = _run_startup(script, tmp_path, "worker", AIRFLOW_HOME=str(home))
    assert done.returncode != 0
    assert "is not the wheelhouse this startup.sh was built with" in done.stderr
    assert _calls(tmp_path) == []  # nothing was installed


def test_plugins_zip_holds_every_dbt_wheel_for_mwaas_platform_pinned_by_hash(bundle: BundleReport) -> None:
    with zipfile.ZipFile(bundle.out_dir / "plugins.zip") as archive:
        names = archive.namelist()
        contents = {
            name.removeprefix(f"{WHEELHOUSE_DIR}/"): archive.read(name)
            for name in names
            if name.startswith(f"{WHEELHOUSE_DIR}/")
        }
    # dbt's wheels, requirements.txt's, and the one Python file Airflow imports from the plugins folder (next test).
    assert {name.split("/")[0] for name in names} == {WHEELHOUSE_DIR, AIRFLOW_WHEELS_DIR, "airflow_local_settings.py"}
    lock = contents.pop("requirements.txt").decode()
    pinned = [line for line in lock.splitlines() if line and not line.startswith("#")]
    by_hash = {hashlib.sha256(body).hexdigest(): name for name, body in contents.items()}
    assert len(pinned) == len(contents) == bundle.wheels > 20
    versions: dict[str, str] = {}
    for line in pinned:
        requirement, _, digest = line.partition(" --hash=sha256:")
        name, _, version = requirement.partition("==")
        wheel = by_hash[digest]  # every line names a shipped file by its hash
        assert parse_wheel_filename(wheel)[:2] == (canonicalize_name(name), Version(version)), line
        versions[str(canonicalize_name(name))] = version
    # Exactly the project's dbt, and what dbt-redshift needs (the rehearsal's PostgreSQL target uses dbt-postgres).
    assert versions["dbt-core"] == bundle.pins["dbt-core"] and versions["dbt-redshift"] == bundle.pins["dbt-redshift"]
    assert {"dbt-postgres", "redshift-connector", "psycopg2-binary", "boto3"} <= set(versions)
    # Every dependency at the version the tests here ran with, where it is installed here.
    installed = {name: _version(name) for name in versions}
    assert {n: v for n, v in versions.items() if installed[n]} == {n: v for n, v in installed.items() if v}
    # Wheels only, each installable on CPython 3.12, manylinux x86_64 (MWAA's Amazon Linux 2023).
    supported = {*cpython_tags((3, 12), platforms=PLATFORMS), *compatible_tags((3, 12), "cp312", PLATFORMS)}
    for wheel in contents:
        assert parse_wheel_filename(wheel)[3] & supported, wheel


# What `import airflow` runs in the triggerer on MWAA: Airflow's settings import `airflow_local_settings`;
# MWAA 3.3.1's own (in AIRFLOW_HOME/config, first on the path) loads the plugins folder's copy by file
# (aws/amazon-mwaa-docker-images, images/airflow/3.3.1/airflow_local_settings.py), plain Airflow finds it
# on its path (the rehearsal). Then the triggerer imports its code, and the change is made.
_IMPORT_AIRFLOW_AS_A_COMPONENT = """
import airflow
from airflow.jobs import triggerer_job_runner
from tickit_runtime.internals.triggerer import workloads_carry_no_dag
print(workloads_carry_no_dag())
"""
_MWAAS_OWN_LOCAL_SETTINGS = """
import importlib.util, os
path = os.path.join(os.environ["AIRFLOW_HOME"], "plugins", "airflow_local_settings.py")
spec = importlib.util.spec_from_file_location("customer_plugins_airflow_local_settings", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
__all__ = []
"""


@pytest.mark.parametrize("mwaas_own_settings", [False, True], ids=["plain-airflow", "mwaa-3.3.1"])
def test_the_triggerer_builds_model_trigger_workloads_without_the_dag_from_plugins_zip(
    bundle: BundleReport, tmp_path: Path, mwaas_own_settings: bool
) -> None:
    home = _mwaa_home(bundle, tmp_path)
    if mwaas_own_settings:
        (home / "config").mkdir()
        (home / "config" / "airflow_local_settings.py").write_text(_MWAAS_OWN_LOCAL_SETTINGS)
    # startup.sh puts the package on every component's path (tickit-python); here the bundle's copy of it.
    env = {**os.environ, "AIRFLOW_HOME": str(home), "PYTHONPATH": str(bundle.out_dir / "dags")}
    env.pop("AIRFLOW__CORE__PLUGINS_FOLDER", None)

    def component(name: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", _IMPORT_AIRFLOW_AS_A_COMPONENT, name],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip().splitlines()[-1]

    assert component("triggerer") == "True"
    assert component("scheduler") == "False"  # nothing changed elsewhere


def test_the_dbt_docs_follow_the_airflow_the_bundle_targets(tmp_path: Path, parse_cache: Path) -> None:
    """Cosmos' plugin loads on Airflow 3.1+ only: a 3.0.6 bundle ships no docs and configures none."""
    old = build_bundle(tmp_path / "old", airflow_version="3.0.6", cache_dir=parse_cache)
    assert not old.docs_in_ui
    assert not [f for f in old.files if f.endswith(("index.html", "catalog.json"))]
    env = _source_startup(old.out_dir / "startup.sh", tmp_path, "webserver")
    assert "AIRFLOW__COSMOS__DBT_DOCS_PROJECTS" not in env
    assert env["TICKIT_TARGET"] == "dwh"  # the rest of the environment is the same
    # The same dbt wheels whatever the Airflow: dbt lives apart from it. requirements.txt's follow the Airflow.
    new = build_bundle(tmp_path / "new", cache_dir=parse_cache)
    assert new.docs_in_ui and "dags/dbt_tickit/target/index.html" in new.files

    def dbt_wheels(bundle: BundleReport) -> dict[str, bytes]:
        with zipfile.ZipFile(bundle.out_dir / "plugins.zip") as archive:
            return {n: archive.read(n) for n in archive.namelist() if n.startswith(f"{WHEELHOUSE_DIR}/")}

    assert dbt_wheels(old) == dbt_wheels(new)


def test_manifest_is_shipped_with_the_17_models(bundle: BundleReport) -> None:
    manifest = json.loads((bundle.out_dir / "dags/dbt_tickit/target/manifest.json").read_text())
    models = {key for key in manifest["nodes"] if key.startswith("model.")}
    assert models == {f"model.dbt_tickit.{name}" for name in MODELS}
    assert len(models) == 17
    assert bundle.manifest_target == "local"


def test_dag_parses_from_the_bundle_alone(bundle: BundleReport, parsed: dict[str, Any]) -> None:
    dags = bundle.out_dir / "dags"
    assert parsed["import_errors"] == {}
    assert Path(parsed["package_file"]) == dags / "tickit_runtime" / "__init__.py"
    # paths.py finds the shipped project from the bundle's layout too.
    assert Path(parsed["project_dir"]) == dags / "dbt_tickit"
    assert parsed["dag_ids"] == [DAG_ID]
    assert len(parsed["task_ids"]) == 20
    assert set(MODELS) < set(parsed["task_ids"])
    # The dbt binary is only named at parse time; it does not exist on this machine.
    assert parsed["producer_dbt"] == MWAA_DBT_EXECUTABLE
    assert not Path(MWAA_DBT_EXECUTABLE).exists()


def test_redshift_settings_stay_unrendered_variable_templates(parsed: dict[str, Any], bundle: BundleReport) -> None:
    env = parsed["model_env"]
    assert env["DBT_TARGET"] == "dwh"
    assert env["DBT_REDSHIFT_HOST"] == "{{ var.value.get('redshift_host', '') }}"
    for name, template in REDSHIFT_ENV_TEMPLATES.items():
        assert env[name] == template
    assert env["DBT_PROFILES_DIR"] == str(bundle.out_dir / "dags" / "dbt_tickit")


def test_airflowignore_keeps_the_dag_processor_to_the_dag_file(parsed: dict[str, Any]) -> None:
    assert parsed["discovered"]["glob"] == ["dbt_tickit_medallion_dag.py"]
    assert parsed["discovered"]["regexp"] == ["dbt_tickit_medallion_dag.py"]
    # Without it, the package's modules would be opened as DAG files.
    assert "tickit_runtime/dag_factory.py" in parsed["discovered"]["without .airflowignore"]


def test_on_mwaa_the_dbt_build_runs_the_venvs_dbt(parsed: dict[str, Any]) -> None:
    assert parsed["producer_invocation_mode"] != "InvocationMode.DBT_RUNNER"


def test_refuses_a_folder_that_is_not_a_bundle(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(BundleError, match="not a previous bundle"):
        build_bundle(precious)
    assert [p.name for p in precious.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious"]  # no staging folder left behind

    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(BundleError, match="not a folder"):
        build_bundle(a_file)
    with pytest.raises(BundleError, match="inside"):
        build_bundle(DAGS_DIR / "bundle")
    assert isinstance(BundleError("x"), ValueError)


def test_rebuilding_replaces_a_previous_bundle(tmp_path: Path, parse_cache: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()  # an empty folder is fine
    first = build_bundle(out, cache_dir=parse_cache)
    first_zip = (out / "plugins.zip").read_bytes()
    (out / "dags" / "left-over.py").write_text("# from an older bundle\n")
    second = build_bundle(out, cache_dir=parse_cache)
    assert second.out_dir == first.out_dir == out.resolve()
    assert not (out / "dags" / "left-over.py").exists()
    assert (out / BUNDLE_MANIFEST).is_file()
    assert second.files == first.files
    # The wheels come from the cache, and the same wheels make the same plugins.zip: push uploads it once.
    assert second.wheels_cached and second.wheels == first.wheels
    assert (out / "plugins.zip").read_bytes() == first_zip
    # Built beside it, then swapped in: no temporary sibling survives.
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_failed_build_leaves_the_previous_bundle_as_it_was(
    tmp_path: Path, parse_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    build_bundle(out, cache_dir=parse_cache)
    before = (out / BUNDLE_MANIFEST).read_text()

    def broken_project(config: object) -> Path:
        raise DbtParseError("`dbt parse` failed: a broken model")

    monkeypatch.setattr("tickit_platform.deploy.bundle.ensure_manifest", broken_project)
    with pytest.raises(DbtParseError):
        build_bundle(out, cache_dir=parse_cache)
    assert (out / BUNDLE_MANIFEST).read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
