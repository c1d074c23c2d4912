"""Build the MWAA bundle: the files to `aws s3 sync` into the environment's bucket.

The manifest shipped in `dags/dbt_tickit/target/manifest.json` is parsed with the `local` (DuckDB)
target by default, not with `dwh` (Redshift). `dbt parse --target dwh` needs the dbt-redshift adapter
installed where the bundle is built (parse loads the adapter named by the profile, even though it
never connects); this project's environment does not install it, and `dbt parse --target dwh` there
fails with "Could not find adapter type redshift". The manifest is target-independent for what Cosmos
reads from it (`cosmos.dbt.graph`, `LoadMode.DBT_MANIFEST`): unique ids, resource types, `depends_on`,
file paths, tags, fqn and the node config (materialization and the *custom* schema name, e.g.
`bronze`). None of these depend on the target here: no model, test or config branches on `target` or
`adapter`; only the macro bodies do (`load_raw_tables` dispatches per adapter), and macro bodies run
at execution time on the worker, against Redshift. What does differ (`relation_name`,
`database`/`schema` as resolved for DuckDB, `metadata.adapter_type`) Cosmos only uses to emit dataset
URIs, which this DAG turns off (`emit_datasets=False`). The tasks' `dbt build` re-parses the project
against the real target on the worker, so nothing target-specific from the build machine reaches
Redshift; dbt's `partial_parse.msgpack`, which *is* target-specific, is deliberately not shipped.
Pass `manifest_target="dwh"` where dbt-redshift is installed to parse against Redshift instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import re
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

import tickit_runtime
from tickit_platform.dbt_project.docs import DOCS_TITLE, docs_current, generate_docs
from tickit_platform.dbt_project.manifest import ensure_manifest
from tickit_platform.deploy.constraints import CONSTRAINTS_DIR, constraint_files, known_airflow_versions
from tickit_platform.deploy.raw_manifests import DEFAULT_SOURCE_URI, MANIFEST_FOLDER, raw_manifests
from tickit_platform.deploy.versions import MWAA_DEFAULT_AIRFLOW_VERSION, MWAA_PYTHON_VERSION
from tickit_platform.deploy.wheelhouse import (
    AIRFLOW_WHEELS_DIR,
    PLUGINS_ZIP,
    PLUGINS_ZIP_LIMIT_BYTES,
    WHEELHOUSE_DIR,
    Wheelhouse,
    ensure_wheelhouse,
    write_plugins_zip,
)
from tickit_runtime import envvars
from tickit_runtime.config import DagConfig
from tickit_runtime.errors import TickitError
from tickit_runtime.paths import DAGS_DIR, DBT_PROJECT_DIR

# What runs inside Airflow: shipped whole, beside the DAG file (docs/decisions/038-the-runtime-and-the-tool.md).
RUNTIME_DIR = Path(tickit_runtime.__file__).resolve().parent  # src/tickit_runtime
DAG_FILE = DAGS_DIR / "dbt_tickit_medallion_dag.py"
BUNDLE_MANIFEST = "bundle-manifest.txt"

# Where MWAA puts things: the bucket's dags/ is synced to AIRFLOW_HOME/dags on every container.
# startup.sh derives the same paths from AIRFLOW_HOME; these name them for requirements.txt and tests.
MWAA_AIRFLOW_HOME = "/usr/local/airflow"
MWAA_DAGS_DIR = f"{MWAA_AIRFLOW_HOME}/dags"
MWAA_PROJECT_DIR = f"{MWAA_DAGS_DIR}/{DBT_PROJECT_DIR.name}"
# The dbt virtualenv the article's startup script creates; dbt never shares Airflow's environment.
MWAA_DBT_VENV = f"{MWAA_AIRFLOW_HOME}/python3-virtualenv/dbt-env"
MWAA_DBT_EXECUTABLE = f"{MWAA_DBT_VENV}/bin/dbt"
# plugins.zip is extracted to AIRFLOW_HOME/plugins before MWAA installs requirements.txt, which finds its wheels here.
MWAA_AIRFLOW_WHEELS = f"{MWAA_AIRFLOW_HOME}/plugins/{AIRFLOW_WHEELS_DIR}"
# dbt's docs site ships beside the manifest it describes (project/target/); the manifest itself is the DAG's.
DOCS_SITE_FILES = ("index.html", "catalog.json")
# Cosmos' Airflow 3 plugin, which serves those docs in the UI, refuses to load before Airflow 3.1
# (docs/decisions/013-mwaa-airflow-version.md): older bundles ship no docs and configure none.
DOCS_MIN_AIRFLOW = Version("3.1")

# Used only when dbt-redshift is not installed where the bundle is built (this project's environment
# does not install it): the newest dbt-redshift release of the dbt 1.11 line at the time of writing.
# It requires dbt-core>=1.8,<2, so the startup script pins dbt-core too, or pip would take dbt-core 1.12.
DBT_REDSHIFT_FALLBACK_VERSION = "1.11.2"

# Never shipped from the dbt project: build output, local logs, packages, dbt's per-user file.
PROJECT_IGNORE = ("target", "logs", "dbt_packages", ".user.yml", "__pycache__", "*.pyc")

AIRFLOWIGNORE = """\
# The DAG processor opens every .py file here that mentions "airflow" and "dag" (safe mode); the
# package source and the dbt project are imported by the DAG file, they define no DAGs themselves.
# One pattern per line, valid in both dag_ignore_file_syntax modes (glob, the Airflow 3 default,
# and regexp).
tickit_runtime/
dbt_tickit/
"""


class BundleError(TickitError, ValueError):
    """The bundle cannot be written where asked, or from what is installed; the message says why."""


@dataclass(frozen=True)
class BundleReport:
    """What `build_bundle` wrote.

    files: POSIX paths relative to out_dir, sorted, bundle-manifest.txt included. pins: the versions
    written into requirements.txt and startup.sh (apache-airflow and python name the constraints file).
    manifest_target: the dbt target the shipped manifest was parsed with.
    """

    out_dir: Path
    files: list[str]
    pins: dict[str, str] = field(default_factory=dict)
    manifest_target: str = "local"
    # plugins.zip: the dbt wheels for MWAA's platform (docs/decisions/022-mwaa-331-offline-workers.md).
    plugins_zip_bytes: int = 0
    wheels: int = 0
    wheels_cached: bool = False
    # requirements.txt's wheels in plugins.zip (docs/decisions/030-mwaa-without-the-package-index.md), and what
    # MWAA's Airflow has already (name -> version, as resolved), which they leave out.
    airflow_wheels: int = 0
    preinstalled: dict[str, str] = field(default_factory=dict)
    # Whether the bundle ships dbt's docs and startup.sh points Cosmos' plugin at them (Airflow 3.1+).
    docs_in_ui: bool = True

    @property
    def manifest_file(self) -> Path:
        return self.out_dir / BUNDLE_MANIFEST


def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _required_version(distribution: str) -> str:
    found = installed_version(distribution)
    if found is None:
        raise BundleError(f"{distribution} is not installed here, so its version cannot be pinned in the bundle")
    return found


def dbt_redshift_version() -> str:
    """The dbt-redshift pin: the installed version, else the known release of the same dbt line."""
    return installed_version("dbt-redshift") or DBT_REDSHIFT_FALLBACK_VERSION


# The line of requirements.txt that names the Airflow and Python it was built for (read back by push and rehearse).
TARGET_LINE = "# tickit: built for MWAA's Airflow {airflow} on Python {python}"
_TARGET_LINE = re.compile(
    r"^# tickit: built for MWAA's Airflow (?P<airflow>\S+) on Python (?P<python>\S+)$", re.MULTILINE
)
# Bundles written before decision 030 named Airflow's constraints URL instead; push still reads them.
_CONSTRAINT_LINE = re.compile(
    r'^--constraint "https://raw\.githubusercontent\.com/apache/airflow/constraints-(?P<airflow>[^/]+)/'
    r'constraints-(?P<python>[^/]+)\.txt"$',
    re.MULTILINE,
)


def check_airflow_version(airflow_version: str, option: str = "--airflow-version") -> str:
    """An Airflow 3 release such as 3.0.6, or a BundleError that says what is expected."""
    if not re.fullmatch(r"\d+\.\d+\.\d+", airflow_version):
        raise BundleError(f"{option} {airflow_version!r} is not an Airflow release like {MWAA_DEFAULT_AIRFLOW_VERSION}")
    if not airflow_version.startswith("3."):
        raise BundleError(
            f"{option} {airflow_version}: the DAG is written for Airflow 3 (airflow.sdk), so the MWAA environment "
            "must run an Airflow 3 release; upgrade it (Terraform variable airflow_version) first."
        )
    return airflow_version


def check_cosmos_supports(airflow_version: str, requirements: list[str] | None) -> None:
    """Cosmos' own `apache-airflow` requirement (its package metadata) admits the target Airflow."""
    for line in requirements or []:
        requirement = Requirement(line)
        if requirement.name != "apache-airflow" or requirement.marker is not None:
            continue
        if not requirement.specifier.contains(airflow_version, prereleases=True):
            raise BundleError(
                f"the astronomer-cosmos installed here requires apache-airflow{requirement.specifier}, so it would "
                f"not install on Airflow {airflow_version}. Target a newer Airflow, or pin an older Cosmos."
            )


def bundle_airflow_version(bundle_dir: Path) -> tuple[str, str] | None:
    """(Airflow, Python) named by the constraints line of a bundle's requirements.txt; None if it has none."""
    requirements = bundle_dir / "requirements.txt"
    if not requirements.is_file():
        return None
    text = requirements.read_text()
    found = _TARGET_LINE.search(text) or _CONSTRAINT_LINE.search(text)
    return (found["airflow"], found["python"]) if found else None


def render_requirements(airflow_version: str, python_version: str, wheelhouse: Wheelhouse) -> str:
    """requirements.txt: every wheel MWAA's Airflow lacks, by hash, from plugins.zip; never a package index.

    MWAA runs `pip3 install` on it with its essential pins, and adds its local copy of Airflow's constraints
    because no line here names constraints (MWAA looks for the option anywhere in the file, comments included,
    so not even a comment here spells it).
    """
    return f"""\
# MWAA requirements.txt for the tickit medallion DAG, written by `tickit deploy build`.
{TARGET_LINE.format(airflow=airflow_version, python=python_version)}
# Installed into Airflow's own environment on every MWAA container from the wheels plugins.zip puts in
# {MWAA_AIRFLOW_WHEELS}, never from a package index: MWAA starts the same with or
# without a route to the internet. Resolved under MWAA's own constraints files for this Airflow, which MWAA
# applies itself (this file names none, so MWAA adds its local copy of Airflow's). Each wheel is pinned by
# SHA-256; what MWAA's Airflow already has is not listed and stays as it is.
# Cosmos renders the DAG from the shipped dbt manifest and starts dbt on the workers. No dbt-core or
# dbt-redshift here on purpose: dbt's own pins clash with Airflow's, so dbt lives in its own virtualenv,
# {MWAA_DBT_VENV} (made by startup.sh on the workers), and Cosmos runs that
# venv's dbt binary ({envvars.DBT_EXECUTABLE}).
--no-index
--find-links {MWAA_AIRFLOW_WHEELS}
""" + "".join(f"{line}\n" for line in wheelhouse.pinned)


def mwaa_constraints(airflow_version: str) -> str:
    """MWAA's two constraints files for the release, as one text: the wheels are resolved under both."""
    files = constraint_files(airflow_version)
    if not files:
        raise BundleError(
            f"no MWAA constraints files for Airflow {airflow_version} are checked in (have: "
            f"{', '.join(known_airflow_versions())}); requirements.txt's wheels are resolved under them. Target one of "
            f"those, or add the release's two files as {CONSTRAINTS_DIR}/README.md describes."
        )
    return "".join(f.read_text() + "\n" for f in files)


STARTUP_TEMPLATE = Path(__file__).with_name("startup.sh")
_VALUES_BLOCK = re.compile(r"(?ms)^(# >>> values[^\n]*\n)(.*?)(^# <<< values\n)")


def docs_in_ui(airflow_version: str) -> bool:
    """Whether Cosmos' plugin can serve dbt's docs in this Airflow's UI."""
    return Version(airflow_version) >= DOCS_MIN_AIRFLOW


def render_startup(dbt_core_version: str, dbt_redshift_version: str, lock_sha256: str, docs: bool = True) -> str:
    """startup.sh: the checked-in shell file (shellcheck reads it) with its values block filled in.

    Only the assignments between the `# >>> values` and `# <<< values` lines change; every path in
    the script derives from AIRFLOW_HOME, which MWAA sets, so the same file runs in a rehearsal.
    lock_sha256: the wheelhouse's requirements file in plugins.zip, which the script checks before installing.
    """
    values = {
        envvars.STARTUP_DBT_REQUIREMENTS: f"dbt-core=={dbt_core_version} dbt-redshift=={dbt_redshift_version}",
        envvars.STARTUP_DBT_LOCK_SHA256: lock_sha256,
        envvars.STARTUP_DBT_DOCS: "true" if docs else "false",
        envvars.STARTUP_DOCS_TITLE: DOCS_TITLE,
    }
    block = "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items())
    template = STARTUP_TEMPLATE.read_text()
    rendered, found = _VALUES_BLOCK.subn(lambda m: m[1] + block + m[3], template, count=1)
    if found != 1:
        raise BundleError(f"{STARTUP_TEMPLATE} has lost its '# >>> values' block; restore it from git")
    return rendered


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise BundleError(f"{out_dir} exists and is not a folder; choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / BUNDLE_MANIFEST).is_file():
        raise BundleError(
            f"{out_dir} is not empty and holds no {BUNDLE_MANIFEST}, so it is not a previous bundle; "
            "refusing to replace it. Choose an empty or new folder."
        )
    for source, why in (
        (DAGS_DIR, "the local Airflow would parse the bundle's copy of the DAG"),
        (RUNTIME_DIR, "the bundle would be copied into itself"),
    ):
        if out_dir == source or source in out_dir.parents:
            raise BundleError(f"{out_dir} is inside {source}: {why}. Choose a folder outside it.")


def _copy_project(source: Path, dest: Path) -> None:
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(*PROJECT_IGNORE))


def _copy_runtime(dest: Path) -> None:
    shutil.copytree(RUNTIME_DIR, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _write_manifest(project: Path, cache_dir: Path, target: str, docs: bool) -> None:
    """`dbt parse` the shipped copy of the project; only manifest.json goes into the bundle."""
    dbt = Path(sys.executable).parent / "dbt"
    if not dbt.exists():
        raise BundleError(f"dbt is not installed beside {sys.executable}; it is needed to parse the dbt project")
    config = DagConfig(
        target=target,
        project_dir=project,
        home=cache_dir,
        dbt_executable=dbt,
    )
    manifest = ensure_manifest(config)
    (project / "target").mkdir()
    shutil.copy2(manifest, project / "target" / "manifest.json")
    # The dbt docs site beside it, served from there by Cosmos' plugin in MWAA's UI (startup.sh). Its
    # catalog is empty: there is no warehouse here to read column types from (docs/decisions/011-dbt-docs.md).
    site = config.layout.docs
    if docs and not docs_current(config, site, catalog=False):  # kept in the cache like the manifest
        generate_docs(config, site, catalog=False)
    for name in DOCS_SITE_FILES if docs else ():
        shutil.copy2(site / name, project / "target" / name)
    # Whatever dbt may have left in the project itself is not part of the bundle.
    for leftover in ("logs", ".user.yml"):
        path = project / leftover
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _list_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def write_bundle_manifest(root: Path) -> list[str]:
    """(Re)write root/bundle-manifest.txt for every other file under root; returns the files listed."""
    listed = [f for f in _list_files(root) if f != BUNDLE_MANIFEST]
    (root / BUNDLE_MANIFEST).write_text("".join(f"{_sha256(root / f)}  {f}\n" for f in listed))
    return listed


def _replace(staging: Path, out_dir: Path) -> None:
    """Put the finished bundle at out_dir; a previous bundle there is swapped out, then deleted.

    Both renames stay on one filesystem (staging is out_dir's sibling), so out_dir never holds a
    half-written bundle: it holds the old one, for an instant nothing, then the new one.
    """
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    old.rmdir()
    out_dir.rename(old)
    try:
        staging.rename(out_dir)
    except BaseException:
        old.rename(out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def build_bundle(
    out_dir: Path,
    *,
    airflow_version: str = MWAA_DEFAULT_AIRFLOW_VERSION,
    python_version: str = MWAA_PYTHON_VERSION,
    cache_dir: Path | None = None,
    manifest_target: str = "local",
    project_dir: Path = DBT_PROJECT_DIR,
    source_uri: str = DEFAULT_SOURCE_URI,
) -> BundleReport:
    """Write the MWAA bundle to out_dir (a new folder, an empty one, or a previous bundle to replace).

    airflow_version/python_version pick Airflow's constraints file: they must be the MWAA
    environment's (MWAA's Airflow 3 images run Python 3.12). cache_dir keeps `dbt parse`'s output
    between builds (re-parsed only when the project changed); None parses in a throwaway folder.
    project_dir: the dbt project to ship (a copy of the repository's, e.g. for a rehearsal of a change).
    source_uri: the S3 folder of the seven raw files, named key by key in `raw-manifests/` for COPY.
    """
    check_airflow_version(airflow_version)
    manifests = raw_manifests(source_uri)
    if not re.fullmatch(r"3\.\d+", python_version):
        raise BundleError(f"--python-version {python_version!r} is not a Python version like {MWAA_PYTHON_VERSION}")
    if manifest_target not in ("local", "postgres", "dwh"):
        raise BundleError(f"manifest_target={manifest_target!r} is not one of local, postgres, dwh")
    out_dir = out_dir.expanduser().resolve()
    _check_out_dir(out_dir)
    docs = docs_in_ui(airflow_version)
    cosmos = importlib.metadata.distribution("astronomer-cosmos") if installed_version("astronomer-cosmos") else None
    check_cosmos_supports(airflow_version, cosmos.requires if cosmos else None)
    constraints = mwaa_constraints(airflow_version)
    pins = {
        "apache-airflow": airflow_version,
        "python": python_version,
        "astronomer-cosmos": _required_version("astronomer-cosmos"),
        "dbt-core": _required_version("dbt-core"),
        "dbt-redshift": dbt_redshift_version(),
    }

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        dags = staging / "dags"
        dags.mkdir()
        shutil.copy2(DAG_FILE, dags / DAG_FILE.name)
        (dags / ".airflowignore").write_text(AIRFLOWIGNORE)
        _copy_project(project_dir, dags / DBT_PROJECT_DIR.name)
        _copy_runtime(dags / RUNTIME_DIR.name)
        dbt_requirements = (f"dbt-core=={pins['dbt-core']}", f"dbt-redshift=={pins['dbt-redshift']}")
        with contextlib.ExitStack() as stack:
            cache = (
                Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tickit-bundle-cache-")))
                if cache_dir is None
                else cache_dir.expanduser().resolve()
            )
            _write_manifest(dags / DBT_PROJECT_DIR.name, cache, manifest_target, docs)
            wheelhouse = ensure_wheelhouse(dbt_requirements, cache, python_version=python_version)
            # Cosmos and what it needs beyond MWAA's Airflow (the image's), resolved under MWAA's constraints.
            airflow_wheels = ensure_wheelhouse(
                (f"astronomer-cosmos=={pins['astronomer-cosmos']}",),
                cache,
                python_version=python_version,
                constraints=constraints,
                preinstalled=(f"apache-airflow=={airflow_version}",),
            )
            plugins_zip_bytes = write_plugins_zip(
                {WHEELHOUSE_DIR: wheelhouse, AIRFLOW_WHEELS_DIR: airflow_wheels}, staging / PLUGINS_ZIP
            )
            wheels = len(wheelhouse.wheels)
            lock_sha256 = wheelhouse.digest
            (staging / "requirements.txt").write_text(
                render_requirements(airflow_version, python_version, airflow_wheels)
            )
            airflow_wheel_count, preinstalled = len(airflow_wheels.wheels), airflow_wheels.preinstalled
        startup = staging / "startup.sh"
        startup.write_text(render_startup(pins["dbt-core"], pins["dbt-redshift"], lock_sha256, docs))
        startup.chmod(0o755)
        (staging / MANIFEST_FOLDER).mkdir()
        for name, content in manifests.items():
            (staging / MANIFEST_FOLDER / name).write_bytes(content)
        listed = write_bundle_manifest(staging)
        staging.chmod(0o755)  # mkdtemp makes it 0700; the bundle is an ordinary folder
        _replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BundleReport(
        out_dir=out_dir,
        files=sorted([*listed, BUNDLE_MANIFEST]),
        pins=pins,
        manifest_target=manifest_target,
        plugins_zip_bytes=plugins_zip_bytes,
        wheels=wheels,
        wheels_cached=wheelhouse.cached and airflow_wheels.cached,
        docs_in_ui=docs,
        airflow_wheels=airflow_wheel_count,
        preinstalled=preinstalled,
    )


def _mib(size: int) -> str:
    return f"{size / 1024**2:.1f} MiB"


def bundle_summary(report: BundleReport) -> list[str]:
    """What a reviewer checks before pushing: the wheelhouse against MWAA's plugins.zip limit, the docs."""
    root = report.out_dir
    dags = sum(p.stat().st_size for p in (root / "dags").rglob("*") if p.is_file())
    share = 100 * report.plugins_zip_bytes / PLUGINS_ZIP_LIMIT_BYTES
    lines = [
        f"plugins.zip: {_mib(report.plugins_zip_bytes)} ({share:.1f}% of the 1 GiB AWS recommends at most), "
        f"{report.wheels} wheels for dbt and {report.airflow_wheels} for requirements.txt on MWAA's "
        f"Python {report.pins['python']} / manylinux x86_64, pinned by sha256 "
        f"({'from the cache' if report.wheels_cached else 'downloaded now'}); MWAA and the workers install them "
        "with no package index",
        f"dags/: {_mib(dags)}",
    ]
    if report.docs_in_ui:
        lines.append("dbt docs: shipped, served by Cosmos' plugin under Browse > dbt Docs")
    else:
        lines.append(
            f"dbt docs: not shipped (Cosmos' plugin needs Airflow {DOCS_MIN_AIRFLOW}+, the bundle targets "
            f"{report.pins['apache-airflow']})"
        )
    return lines
