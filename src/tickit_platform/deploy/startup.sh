#!/usr/bin/env bash
# MWAA startup script for the tickit medallion DAG, written by `tickit deploy build`.
#
# MWAA *sources* this file with bash on every Airflow container (MWAA_AIRFLOW_COMPONENT says which)
# before it installs requirements.txt and starts Airflow, and hands what it exports to every Airflow
# process. Because it is sourced, there is no top-level `exit` here (it would end MWAA's wrapper
# before the exports are collected), and a failure stops the container's start, loudly, instead of
# leaving a worker that cannot run dbt. MWAA allows it 5 minutes.
#
# dbt is installed from the wheels the bundle's plugins.zip ships (MWAA extracts it to
# AIRFLOW_HOME/plugins before this script runs), never from a package index: a worker starts the same
# with or without a route to the internet, and installs exactly the files the bundle was built with.
set -euo pipefail

# >>> values written by `tickit deploy build` (this block only; the rest of the file is as in the repository)
TICKIT_DBT_REQUIREMENTS="dbt-core dbt-redshift"
TICKIT_DBT_LOCK_SHA256=""
TICKIT_DBT_DOCS=true
TICKIT_DOCS_TITLE="dbt Docs"
# <<< values

# MWAA sets AIRFLOW_HOME=/usr/local/airflow and syncs the bucket's dags/ to AIRFLOW_HOME/dags. Paths
# derive from it, not from a copy of that string, so `tickit deploy rehearse` runs this very file
# with AIRFLOW_HOME under TICKIT_HOME.
TICKIT_AIRFLOW_HOME="${AIRFLOW_HOME:-/usr/local/airflow}"
TICKIT_PROJECT_DIR="${TICKIT_AIRFLOW_HOME}/dags/dbt_tickit"
TICKIT_WHEELHOUSE="${TICKIT_AIRFLOW_HOME}/plugins/tickit-dbt-wheels"
# Overridable only to test this script outside MWAA.
TICKIT_DBT_VENV="${TICKIT_DBT_VENV:-${TICKIT_AIRFLOW_HOME}/python3-virtualenv/dbt-env}"

# Read by the DAG (tickit_runtime.config.DagConfig.from_env) wherever it is parsed or
# run. TICKIT_HOME stays unset: the DAG then takes the manifest shipped inside the dbt project.
export TICKIT_TARGET=dwh
export TICKIT_DBT_PROJECT_DIR="${TICKIT_PROJECT_DIR}"
export TICKIT_DBT_MANIFEST="${TICKIT_PROJECT_DIR}/target/manifest.json"
export TICKIT_DBT_EXECUTABLE="${TICKIT_DBT_VENV}/bin/dbt"
# For dbt run by hand on a worker; the DAG passes its profiles.yml to dbt itself.
export DBT_PROFILES_DIR="${TICKIT_PROJECT_DIR}"
export DBT_SEND_ANONYMOUS_USAGE_STATS=False
# Cosmos would send usage telemetry on every task and DAG run.
export AIRFLOW__COSMOS__ENABLE_TELEMETRY=False
# Cosmos' plugin serves the shipped dbt docs in the Airflow UI (Browse > dbt Docs); the same JSON as
# tickit_platform.dbt_project.docs.cosmos_docs_projects. Only on Airflow 3.1+, where the plugin loads:
# bundles for older releases ship no docs.
if [[ "${TICKIT_DBT_DOCS}" == true ]]; then
    AIRFLOW__COSMOS__DBT_DOCS_PROJECTS="$(printf '{"dbt_tickit": {"dir": "%s", "index": "index.html", "name": "%s"}}' \
        "${TICKIT_PROJECT_DIR}/target" "${TICKIT_DOCS_TITLE}")"
    export AIRFLOW__COSMOS__DBT_DOCS_PROJECTS
fi
# A folder holding only a link to the venv's dbt, *appended* to PATH: operators that look for `dbt` on
# PATH find this one, and the venv's python and pip never shadow Airflow's.
export PATH="${PATH}:${TICKIT_DBT_VENV%/*}/bin"
# The model tasks start in the triggerer (Airflow 3.2+), which imports their trigger by class path
# (tickit_runtime.model_trigger). A worker finds tickit_runtime beside the DAG file it
# parses; the triggerer does not look in the dags folder. So a folder holding only a link to the package
# goes on every component's path; not the dags folder itself: dbt imports every `dbt_*` module on the path
# as a plugin, and the DAG file (dbt_tickit_medallion_dag.py) would be one.
TICKIT_PYTHON_DIR="${TICKIT_AIRFLOW_HOME}/tickit-python"
mkdir -p "${TICKIT_PYTHON_DIR}"
ln -sfn "${TICKIT_AIRFLOW_HOME}/dags/tickit_runtime" "${TICKIT_PYTHON_DIR}/tickit_runtime"
export PYTHONPATH="${TICKIT_PYTHON_DIR}${PYTHONPATH:+:${PYTHONPATH}}"

tickit_install_dbt() (
    # A subshell: nothing unset here leaks into Airflow's environment.
    # MWAA sets PIP_USER=true for its own `pip install --user`; inside a virtualenv that makes pip fail
    # ("Can not perform a '--user' install. User site-packages are not visible in this virtualenv").
    unset PIP_USER
    # Airflow's constraints and Python path are Airflow's business, not the dbt venv's; extra wheel
    # folders and the index switch come from the command line below, never from the environment.
    unset PIP_CONSTRAINT PYTHONPATH PIP_FIND_LINKS PIP_NO_INDEX
    # No pip configuration file either (a constraint or find-links there would change what is installed).
    export PIP_CONFIG_FILE=/dev/null
    local stamp="${TICKIT_DBT_VENV}/.tickit-requirements"
    local lock="${TICKIT_WHEELHOUSE}/requirements.txt"
    local wanted="${TICKIT_DBT_REQUIREMENTS} ${TICKIT_DBT_LOCK_SHA256}"
    if [[ -x "${TICKIT_DBT_VENV}/bin/dbt" && -f "${stamp}" ]] && [[ "$(cat "${stamp}")" == "${wanted}" ]]; then
        echo "tickit: ${TICKIT_DBT_VENV} already has ${TICKIT_DBT_REQUIREMENTS} (wheelhouse ${TICKIT_DBT_LOCK_SHA256:0:12})"
        return 0
    fi
    if [[ ! -f "${lock}" ]]; then
        echo "tickit: ${lock} is missing: the environment runs no plugins.zip of this bundle. Push the whole bundle" \
            "(tickit deploy push pins plugins.zip with startup.sh)." >&2
        return 1
    fi
    local found
    found="$(sha256sum "${lock}")"
    if [[ "${found%% *}" != "${TICKIT_DBT_LOCK_SHA256}" ]]; then
        echo "tickit: ${lock} is not the wheelhouse this startup.sh was built with (sha256 ${found%% *}," \
            "expected ${TICKIT_DBT_LOCK_SHA256}): plugins.zip and startup.sh come from different bundles." \
            "Push the whole bundle again." >&2
        return 1
    fi
    echo "tickit: installing ${TICKIT_DBT_REQUIREMENTS} into ${TICKIT_DBT_VENV} from ${TICKIT_WHEELHOUSE} (no package index)"
    rm -rf "${TICKIT_DBT_VENV}"
    mkdir -p "${TICKIT_DBT_VENV%/*}"
    # The standard library's venv brings its own pip (ensurepip): no network here either.
    python3 -m venv "${TICKIT_DBT_VENV}"
    # Every wheel is named with its SHA-256 in the lock file: pip installs exactly those or fails.
    "${TICKIT_DBT_VENV}/bin/python" -m pip install --no-index --find-links "${TICKIT_WHEELHOUSE}" \
        --require-hashes --only-binary=:all: --no-cache-dir --disable-pip-version-check --quiet -r "${lock}"
    # Not `dbt --version`: it asks PyPI for the latest release, which a worker without internet may wait on.
    "${TICKIT_DBT_VENV}/bin/python" -c 'import dbt.adapters.redshift, dbt.version; print("tickit: dbt", dbt.version.__version__, "installed")'
    # Written last: a venv whose install failed halfway is rebuilt on the next start.
    printf '%s' "${wanted}" > "${stamp}"
)

# The MWAA containers that run dbt. Workers run every task; "hybrid" is MWAA's combined
# scheduler+worker container; "test-startup-script" is MWAA's own dry run of this script (and an
# empty value is a local runner outside MWAA), where the install should be exercised too. The
# scheduler, its DAG processor and the webserver/API server only *parse* the DAG, which Cosmos does
# from the shipped manifest (LoadMode.DBT_MANIFEST) without ever calling dbt: installing dbt there
# would only spend their 5-minute startup budget.
case "${MWAA_AIRFLOW_COMPONENT:-}" in
    worker|hybrid|test-startup-script|"")
        tickit_install_dbt
        mkdir -p "${TICKIT_DBT_VENV%/*}/bin"
        ln -sfn "${TICKIT_DBT_VENV}/bin/dbt" "${TICKIT_DBT_VENV%/*}/bin/dbt"
        ;;
    *)
        echo "tickit: MWAA_AIRFLOW_COMPONENT=${MWAA_AIRFLOW_COMPONENT} runs no dbt: the manifest is enough"
        ;;
esac
