"""Per-model orchestration against a black box, measured side by side in one run.

    ./benchmarks/run [--scales 1 10] [--models 1000]
    ./benchmarks/run --loader-only [--against REF] [--repeat 3] [--scales 1 10]
    ./benchmarks/run --wide-dag 200 [--tested] [--against REF] [--scales 0.02] [--kill-build]
    ./benchmarks/run --supervision-only
    ./benchmarks/run --whole-only [--scales 1]
    ./benchmarks/run --start-only [--repeat 3]
    ./benchmarks/run --peers [--peer-models 0 200 1000] [--repeat 3] [--scales 1] [--local-up-to 17]

For each scale, on the same synthetic data (its generation timed too) and a fresh warehouse each time:
  1. black box: `dbt run-operation load_raw_tables` then `dbt build` (the floor: the same work, no Airflow);
  2. the DAG under Airflow's real scheduler, in the mode `tickit run` uses (trigger to finished run);
  3. the whole command a user waits for, `tickit run` (start-up, run, summary, docs, report), warm (its
     second run on the same home) against `tickit dbt run-operation load_raw_tables` + `tickit dbt build`
     on the same files, with the peak memory of the whole process tree; and a third run once `tickit up`
     keeps a local Airflow running (docs/decisions/021-resident-airflow.md);
then the DAG file's parse time (import + DAG construction) at 17 models and on a generated project.
Prints the ratios per scale and the parse times.

`--whole-only` measures only (3).

`--start-only` measures only a local Airflow's start, until its DAG is ready to run: its components forked
from the starting process (what `tickit` does, docs/decisions/027-forked-components.md) against each started
as a command of its own, interleaved, `--repeat` times each, each in a fresh process on a fresh home; the
wall time and the CPU of the starting process and every component.

`--wide-dag N --kill-build` kills the shared build's process outright (SIGKILL) once it reported half the
models, and times the run to its (green) end against the same black box: issue 30's fault at scale.

`--peers` runs, on one local Airflow, side by side and alternating (each repetition starting one further along): the
black box (plain `dbt run-operation load_raw_tables` + `dbt build` on a warehouse of its own), this DAG, and Cosmos'
own `DbtDag` over the same project, manifest, partial-parse file, profile and DuckDB warehouse, from
benchmarks/peers/ (installed into the benchmark's own DAGs folder, never dags/): ExecutionMode.WATCHER with Cosmos'
defaults; WATCHER tuned (consumers looking every second, Cosmos' incremental XCom backup off, this DAG's retries);
and ExecutionMode.LOCAL, one task at a time (DuckDB takes one writer), only up to `--local-up-to` models. Each DAG
runs once untimed (stopped after two minutes at most) before the timed repetitions (the first DAG run on a fresh
Airflow pays for its triggerer's first use). Each DAG run starts on a fresh warehouse; the peers, which do not load,
get the raw tables loaded first, untimed. For each run: trigger to end, the CPU of every Airflow component and what
they started, the peak memory (PSS) of Airflow's whole process tree, and for this DAG the dbt part apart (from the
end of the load and the freshness check to the run's end). `--peer-models` are the sizes as models added to the 17
(`--wide-dag`'s shape).

`--loader-only` times only `dbt run-operation load_raw_tables` (fresh warehouse, partial parse warm), the
median of `--repeat` runs per scale; with `--against REF` the dbt project as it is at git REF is timed too,
its runs interleaved with this checkout's, so a busy machine slows both alike.

`--wide-dag N` adds N trivial models to the project (each `select count(*) from` one silver model, so they
can all run at once) and measures the DAG run against the black box on it, with the CPU the whole local
Airflow used (its processes' user + system time, start-up and stop included) minus that of starting and
stopping the same Airflow with no run: the CPU each task costs, and the floor that sets on this machine's
cores; the triggerer's peak memory (its process and its runner) and the largest message its supervisor sent
its runner (from the triggerer's log, tickit_runtime/internals/triggerer.py). `--tested` gives each generated
model a data test and a name of 30+ characters (what makes the results a trigger reads grow per model). With
`--against REF`, the same DAG run
again with Airflow's components importing the package as it is at git REF (the DAG file, dbt project and
black box stay this checkout's), one after the other on the same data.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.faults import _cmdline, _holds_log_of  # noqa: E402
from tests.support import dag_config  # noqa: E402

from tickit_platform.data.synth import generate  # noqa: E402
from tickit_platform.dbt_project.manifest import ensure_manifest  # noqa: E402
from tickit_platform.local.memory import PeakMemory, descendants  # noqa: E402
from tickit_platform.local.runner import started_airflow, trigger_and_wait  # noqa: E402


def black_box(config, work: Path) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(load seconds, build seconds) of plain dbt, the same work the DAG does."""
    env = {**os.environ, **config.dbt_env()}
    common = ["--project-dir", str(config.project_dir), "--profiles-dir", str(config.project_dir),
              "--target-path", str(work / "target"), "--log-path", str(work / "logs"), "-q"]  # fmt: skip
    config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    subprocess.run([str(config.dbt_executable), "run-operation", "load_raw_tables", *common], env=env, check=True)
    loaded = time.monotonic()
    subprocess.run([str(config.dbt_executable), "build", *common], env=env, check=True)
    return loaded - started, time.monotonic() - loaded


def dag_run(config) -> float:  # type: ignore[no-untyped-def]
    with started_airflow(config) as (airflow, api):
        result = trigger_and_wait(airflow, api)
    if result.state != "success":
        raise SystemExit(f"DAG run {result.state}: {result.states()}")
    return result.seconds


def _rss_kib(status: str) -> int:
    """VmRSS from a /proc/<pid>/status text."""
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)


def _descendants_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants."""
    total = 0
    for current in descendants(pid):
        try:
            total += _rss_kib(Path(f"/proc/{current}/status").read_text())
        except OSError:
            continue
    return total / 1024


def timed_command(args: list[str], home: Path) -> tuple[float, float]:
    """(wall seconds, peak MiB of the process tree) of one `tickit` command. A `tickit run` prints where its
    seconds went (`Time: ...`): that line is printed here too."""
    env = {**os.environ, "TICKIT_HOME": str(home)}
    with tempfile.TemporaryFile(mode="w+") as output:
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "tickit_platform.cli", *args], env=env,
                                stdout=output, stderr=subprocess.STDOUT)  # fmt: skip
        # The same measure `tickit run` prints (PSS of its whole tree, so pages its forks share count once),
        # sampled as sparingly: RSS summed per process counted shared pages once per process, and processes
        # picked by their environment went unseen once they had set their title (decision 043).
        with PeakMemory(lambda: [proc.pid]) as peak_memory:
            proc.wait()
        seconds = time.monotonic() - started
        peak = peak_memory.mib
        output.seek(0)
        said = output.read()
    if proc.returncode != 0:
        raise SystemExit(f"`tickit {' '.join(args)}` failed ({proc.returncode}):\n{said[-3000:]}")
    for line in said.splitlines():
        if line.strip().startswith(("Time: ", "Peak memory of the run: ")):
            print(json.dumps({"command": f"tickit {args[0]}", "seconds": round(seconds, 1), "said": line.strip()}))
    return seconds, peak


def whole_command(raw: Path, work: Path) -> dict[str, float]:
    """`tickit run` cold and warm against the black box through `tickit dbt`, on the same files."""
    box_home, run_home = work / "box-home", work / "run-home"
    source = ["--source", str(raw)]
    boxes = [timed_command(["dbt", *source, *cmd], box_home) for cmd in (["run-operation", "load_raw_tables"],
                                                                        ["build"])]  # fmt: skip
    box, box_peak = sum(seconds for seconds, _ in boxes), max(peak for _, peak in boxes)
    cold, _ = timed_command(["run", *source], run_home)
    warm, peak = timed_command(["run", *source], run_home)
    # With a local Airflow kept running (`tickit up`, not timed: it is started once, not per run).
    timed_command(["up", *source], run_home)
    try:
        resident, _ = timed_command(["run", *source], run_home)
    finally:
        timed_command(["down"], run_home)
    return {"box_s": round(box, 1), "run_cold_s": round(cold, 1), "run_warm_s": round(warm, 1),
            "peak_mib": round(peak), "box_peak_mib": round(box_peak), "ratio_warm": round(warm / box, 2),
            "run_up_s": round(resident, 1), "ratio_up": round(resident / box, 2)}  # fmt: skip


def project_at(ref: str, dest: Path) -> Path:
    """The dbt project as it is at git `ref`, written under `dest`."""
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "dags/dbt_tickit"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest / "dags" / "dbt_tickit"


def load_seconds(config, work: Path) -> float:  # type: ignore[no-untyped-def]
    """One `dbt run-operation load_raw_tables` into a fresh warehouse; dbt's partial parse kept in `work`."""
    config.warehouse_path.unlink(missing_ok=True)
    config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **config.dbt_env()}
    common = ["--project-dir", str(config.project_dir), "--profiles-dir", str(config.project_dir),
              "--target-path", str(work / "target"), "--log-path", str(work / "logs"), "-q"]  # fmt: skip
    started = time.monotonic()
    subprocess.run([str(config.dbt_executable), "run-operation", "load_raw_tables", *common], env=env, check=True)
    return time.monotonic() - started


def loader_only(scales: list[float], repeat: int, against: str | None) -> None:
    """The load alone, this checkout against `against` (a git ref) when given, runs interleaved."""
    with tempfile.TemporaryDirectory(prefix="tickit-bench-") as tmp:
        tmp_path = Path(tmp)
        projects = {"this checkout": REPO / "dags" / "dbt_tickit"}
        if against:
            projects = {against: project_at(against, tmp_path / "before"), **projects}
        rows = []
        for scale in scales:
            raw = generate(tmp_path / f"raw-{scale:g}", scale=scale, seed=42)
            configs = {name: dag_config(tmp_path / f"home-{i}-{scale:g}", raw, project_dir=project)
                       for i, (name, project) in enumerate(projects.items())}  # fmt: skip
            times: dict[str, list[float]] = {name: [] for name in projects}
            for config in configs.values():  # untimed: parses the project, warms the file cache
                load_seconds(config, config.home / "dbt")
            for _ in range(repeat):
                for name, config in configs.items():
                    times[name].append(load_seconds(config, config.home / "dbt"))
            for name, runs in times.items():
                rows.append((scale, name, statistics.median(runs), runs))
                print(json.dumps({"scale": scale, "project": name, "runs_s": [round(t, 2) for t in runs]}), flush=True)
    print()
    print(f"| scale | project | dbt load, s (median of {repeat}) | runs, s |")
    print("|---|---|---|---|")
    for scale, name, median, runs in rows:
        print(f"| {scale:g} | {name} | {median:.1f} | {', '.join(f'{t:.1f}' for t in runs)} |")


def supervision_cost(looks: int = 20_000) -> tuple[float, float]:
    """What supervision adds to a run: one look at five live components (the runner's own `supervise`),
    timed over many looks. Returns (microseconds per look, share of one core at the runner's two looks
    per second). It runs on the polls `tickit run` makes anyway, so this is all it costs."""
    from tickit_platform.local.airflow import LocalAirflow

    children = [subprocess.Popen(["sleep", "600"]) for _ in range(5)]
    try:
        with tempfile.TemporaryDirectory(prefix="tickit-bench-sup-") as tmp:
            airflow = LocalAirflow(airflow_home=Path(tmp), dag_env={})
            airflow.processes.update({f"component-{i}": child for i, child in enumerate(children)})
            started = time.process_time()
            for _ in range(looks):
                airflow.supervise()
            per_look = (time.process_time() - started) / looks
    finally:
        for child in children:
            child.kill()
            child.wait()
    return per_look * 1e6, per_look * 2 / 1.0


START_SNIPPET = """
import json, os, resource, sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
from tests.support import dag_config
from tickit_platform.dbt_project.manifest import ensure_manifest
from tickit_platform.local.runner import local_airflow
from tickit_runtime.config import DAG_ID

config = dag_config(Path({home!r}), Path({raw!r}))
ensure_manifest(config)
airflow = local_airflow(config)
airflow.fork_components = {fork!r}
airflow.migrate()
tick = os.sysconf("SC_CLK_TCK")

def own():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

def cpu(pid):
    fields = Path(f"/proc/{{pid}}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / tick

started, before = time.monotonic(), own()
airflow.start()
api = airflow.api()
api.warm_execution_api()
api.wait_for_dag(DAG_ID)
ready = time.monotonic() - started
components = sum(cpu(proc.pid) for proc in airflow.spawned)
print(json.dumps({{"ready_s": round(ready, 1), "cpu_s": round(own() - before + components, 1),
                  "forked": all(type(p).__name__ == "ForkedProcess" for p in airflow.spawned)}}))
airflow.stop()
"""


def start_cost(repeat: int) -> None:
    """A local Airflow's start, forked against commands, interleaved; the medians (see `--start-only`)."""
    results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="tickit-bench-start-") as tmp:
        raw = generate(Path(tmp) / "raw", scale=0.01, seed=42)
        for i in range(repeat):
            for fork in (True, False):
                code = START_SNIPPET.format(repo=str(REPO), home=f"{tmp}/home-{i}-{fork}", raw=str(raw), fork=fork)
                done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise SystemExit(f"the start failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
                measured = json.loads(done.stdout.strip().splitlines()[-1])
                if measured.pop("forked") != fork:
                    raise SystemExit(f"asked to fork={fork}, the components were not started so")
                results[fork].append(measured)
                print(json.dumps({"forked": fork, **measured}), flush=True)
    median = {
        fork: {key: statistics.median(row[key] for row in rows) for key in ("ready_s", "cpu_s")}
        for fork, rows in results.items()
    }
    print()
    print("| start | ready, s | CPU, s |")
    print("|---|---|---|")
    for fork, label in ((True, "forked from the starting process"), (False, "a command per component")):
        print(f"| {label} | {median[fork]['ready_s']:.1f} | {median[fork]['cpu_s']:.1f} |")
    print(f"forked/commands: ready {median[True]['ready_s'] / median[False]['ready_s']:.2f}, "
          f"CPU {median[True]['cpu_s'] / median[False]['cpu_s']:.2f}")  # fmt: skip


PARSE_SNIPPET = """
import os, sys, time
t = time.perf_counter()
sys.path.insert(0, {dags!r})
import importlib.util
spec = importlib.util.spec_from_file_location("dag_file", {dag_file!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
total = time.perf_counter() - t
print(total)
"""


def parse_seconds(config, project_dir: Path | None = None) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(cold: a fresh interpreter importing Airflow and Cosmos too, warm: DAG construction alone)."""
    env = {**os.environ, "TICKIT_HOME": str(config.home), "TICKIT_DBT_MANIFEST": str(config.manifest_path),
           "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False"}  # fmt: skip
    if project_dir is not None:
        env["TICKIT_DBT_PROJECT_DIR"] = str(project_dir)
    dag_file = REPO / "dags" / "dbt_tickit_medallion_dag.py"
    code = PARSE_SNIPPET.format(dags=str(REPO / "dags"), dag_file=str(dag_file))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    cold = float(out.stdout.strip().splitlines()[-1])
    warm_code = (
        "import time\nfrom tickit_runtime.dag_factory import build_dag\n"
        "build_dag()\nt = time.perf_counter()\nbuild_dag()\nprint(time.perf_counter() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", warm_code], env=env, capture_output=True, text=True, check=True)
    return cold, float(out.stdout.strip().splitlines()[-1])


def wide_project(dest: Path, models: int, tested: bool = False) -> Path:
    """The real project plus `models` generated models, each counting the rows of one silver model; `tested`:
    each with a not_null test and a name of 30+ characters."""
    shutil.copytree(REPO / "dags" / "dbt_tickit", dest, ignore=shutil.ignore_patterns("target", "logs"))
    folder = dest / "models" / "generated"
    folder.mkdir()
    silver = ["silver_category", "silver_date", "silver_event", "silver_listing", "silver_sales", "silver_users",
              "silver_venue"]  # fmt: skip
    names = [f"wide_generated_model_with_a_long_name_{i:05d}" if tested else f"wide_{i:04d}" for i in range(models)]
    for i, name in enumerate(names):
        (folder / f"{name}.sql").write_text(f"select count(*) as n from {{{{ ref('{silver[i % 7]}') }}}}\n")
    if tested:
        entries = "".join(
            f"  - name: {name}\n    columns:\n      - name: n\n        data_tests: [not_null]\n" for name in names
        )
        (folder / "_generated__models.yml").write_text("version: 2\nmodels:\n" + entries)
    return dest


def largest_message(logs: Path) -> int:
    """The largest message the triggerer's supervisor sent its runner, as its log says (0: none logged)."""
    import re

    from tickit_runtime.internals.triggerer import LARGEST_MESSAGE_NOTE

    # Any package's prefix: an earlier ref's triggerer logged it as tickit_platform's.
    note = LARGEST_MESSAGE_NOTE.split(": ", 1)[1]
    pattern = re.compile(r"tickit_\w+: " + re.escape(note).replace("%d", r"(\d+)"))
    text = (logs / "triggerer.log").read_text(errors="replace") if (logs / "triggerer.log").is_file() else ""
    return max((int(found) for found in pattern.findall(text)), default=0)


def children_cpu() -> float:
    """User + system seconds of every child process this one has reaped (Airflow's components and theirs)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def package_at(ref: str, dest: Path) -> Path:
    """The packages as they are at git `ref`: the folder to put first on PYTHONPATH. Beside it, `dags/` holds
    the DAG file of that ref (before the runtime had a package of its own, the DAG imported the tool's)."""
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "src", "dags/dbt_tickit_medallion_dag.py"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest / "src"


def _timed_dag_run(  # type: ignore[no-untyped-def]
    config, idle_cpu: float, package: Path | None, kill_after: int | None = None
) -> tuple[float, float, int, int, int]:
    """(seconds, CPU beyond an idle Airflow's, tasks, peak RSS of the triggerer in MiB, the largest message its
    supervisor sent its runner) of one DAG run, the Airflow components importing `package` (a checkout's src/)
    when given, this checkout's otherwise; with `kill_after`, the shared build killed once it built that many."""
    saved = os.environ.get("PYTHONPATH")
    if package is not None:
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(package), saved) if p)
    try:
        cpu = children_cpu()
        dags_folder = None if package is None else package.parent / "dags"
        with started_airflow(config, dags_folder=dags_folder) as (airflow, api):
            sampler = _Sampler({name: proc.pid for name, proc in airflow.processes.items()})
            killer = _BuildKiller(airflow.logs_dir, kill_after) if kill_after else contextlib.nullcontext()
            with sampler, killer:
                result = trigger_and_wait(airflow, api)
            logs = airflow.logs_dir
        run_cpu = children_cpu() - cpu - idle_cpu
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    if result.state != "success":
        raise SystemExit(f"DAG run {result.state}")
    print(json.dumps({"component_cpu_s": {k: round(v, 1) for k, v in sampler.cpu.items()}}), flush=True)
    print(json.dumps({"stages": _stages(result.tasks)}), flush=True)
    return result.seconds, run_cpu, len(result.tasks), sampler.mib, largest_message(logs)


def _stages(tasks: list[Any]) -> dict[str, Any]:
    """When the tasks outside the model tasks started and ended, in seconds from the first task's start, and
    when the last task and the last model task ended: where a run's seconds went, stage by stage."""
    from datetime import datetime

    from tickit_runtime.dag_factory import FRESHNESS_TASK_ID, LOAD_RAW_TASK_ID, PRODUCER_TASK_ID

    starts = [datetime.fromisoformat(t.start_date) for t in tasks if t.start_date]
    if not starts:
        return {}
    first = min(starts)

    def since(stamp: str | None) -> float | None:
        return None if stamp is None else round((datetime.fromisoformat(stamp) - first).total_seconds(), 1)

    own = (LOAD_RAW_TASK_ID, FRESHNESS_TASK_ID, PRODUCER_TASK_ID)
    stages: dict[str, Any] = {t.task_id: [since(t.start_date), since(t.end_date)] for t in tasks if t.task_id in own}
    ended = [t for t in tasks if t.end_date]
    stages["last_task_ended"] = max((since(t.end_date) for t in ended), default=None)
    stages["last_model_task_ended"] = max((since(t.end_date) for t in ended if t.task_id not in own), default=None)
    return stages


class _BuildKiller:
    """While in use: once the shared build's log reports `after` models built, SIGKILL the process it runs in."""

    PRODUCER_LOG = "dag_id=*/run_id=*/task_id=dbt_producer_watcher/attempt=1.log"

    def __init__(self, logs: Path, after: int) -> None:
        import threading

        self.logs, self.after, self._stop = logs, after, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        built, read, rest = 0, 0, b""  # models counted so far, bytes read, an unfinished last line
        while not self._stop.wait(0.5):
            found = sorted(self.logs.glob(self.PRODUCER_LOG))
            if not found:
                continue
            # Only what was written since the last look: the log of a 1,000-model build grows past megabytes.
            with found[0].open("rb") as log:
                log.seek(read)
                chunk = rest + log.read()
            read += len(chunk) - len(rest)
            lines, _, rest = chunk.rpartition(b"\n")
            built += lines.count(b"OK created")
            if built < self.after:
                continue
            for pid in (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()):
                # The task's supervisor holds its log; the task runs in its child (both named "airflow worker --").
                if _holds_log_of(pid, "dbt_producer_watcher"):
                    for child in list(descendants(pid))[1:]:
                        if _cmdline(child).startswith("airflow worker -- "):
                            os.kill(child, signal.SIGKILL)
                            print(json.dumps({"killed_build_after_models": built}), flush=True)
                            return

    def __enter__(self) -> _BuildKiller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class _Sampler:
    """While in use, twice a second: the triggerer's peak resident memory (its process and its children), and
    each component's CPU (its process, its reaped children and its live descendants) since the start."""

    def __init__(self, pids: dict[str, int]) -> None:
        import threading

        self.pids, self.mib, self._stop = pids, 0, threading.Event()
        self._start = {name: _tree_cpu(pid) for name, pid in pids.items()}
        self.cpu = dict.fromkeys(pids, 0.0)
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.mib = max(self.mib, round(_descendants_rss_mib(self.pids["triggerer"])))
            for name, pid in self.pids.items():
                self.cpu[name] = max(self.cpu[name], _tree_cpu(pid) - self._start[name])

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its reaped children and its live descendants."""
    ticks = 0
    for current in descendants(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime: a process's reaped children are gone, so counted nowhere else (a
        # LocalExecutor worker reaps the task processes it forked: their CPU lives in its cutime)
        ticks += sum(int(f) for f in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def wide_dag(models: int, scale: float, against: str | None = None, tested: bool = False, kill: bool = False) -> None:
    """The DAG on the wide project against its black box; with `against`, also with the package at that ref;
    with `kill`, the shared build killed outright once it built half the models."""
    rows = []
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="tickit-bench-wide-") as tmp:
        tmp_path = Path(tmp)
        raw = generate(tmp_path / "raw", scale=scale, seed=42)
        project = wide_project(tmp_path / "wide" / "dbt_tickit", models, tested)
        box_cfg = dag_config(tmp_path / "box", raw, project_dir=project)
        ensure_manifest(box_cfg)
        cpu = children_cpu()
        load, build = black_box(box_cfg, tmp_path / "box" / "dbt")
        box_cpu = children_cpu() - cpu
        idle_cfg = dag_config(tmp_path / "idle", raw, project_dir=project)
        cpu = children_cpu()
        with started_airflow(idle_cfg):
            pass
        idle_cpu = children_cpu() - cpu
        packages: dict[str, Path | None] = {"this checkout": None}
        if against:
            packages = {against: package_at(against, tmp_path / "against"), **packages}
        for name, package in packages.items():
            dag_cfg = dag_config(tmp_path / f"dag-{len(rows)}", raw, project_dir=project)
            kill_after = (models + 17) // 2 if kill else None
            seconds, run_cpu, tasks, triggerer_mib, message = _timed_dag_run(dag_cfg, idle_cpu, package, kill_after)
            per_task = (run_cpu - box_cpu) / tasks
            label = name + (" (build killed at half)" if kill else "")
            row = {"package": label, "models": models + 17, "tasks": tasks, "scale": scale,
                   "black_box_s": round(load + build, 1), "dag_run_s": round(seconds, 1),
                   "ratio": round(seconds / (load + build), 2), "black_box_cpu_s": round(box_cpu, 1),
                   "run_cpu_s": round(run_cpu, 1), "orchestration_cpu_per_task_s": round(per_task, 2),
                   "floor_s": round(per_task * tasks / cores, 1), "cores": cores,
                   "triggerer_peak_mib": triggerer_mib, "largest_message_bytes": message}  # fmt: skip
            print(json.dumps(row), flush=True)
            rows.append(row)
    print()
    print("| package | models | tasks | (1) load + build, s | (2) DAG run, s | (2)/(1) | CPU of the run beyond dbt's, "
          "s per task | floor it sets on the cores, s | triggerer's peak memory, MiB | largest message to the "
          "trigger runner, bytes |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['package']} | {row['models']} | {row['tasks']} | {row['black_box_s']} | {row['dag_run_s']} "
              f"| {row['ratio']} | {row['orchestration_cpu_per_task_s']} | {row['floor_s']} ({cores} cores) "
              f"| {row['triggerer_peak_mib']} | {row['largest_message_bytes']} |")  # fmt: skip


PEERS_DIR = REPO / "benchmarks" / "peers"
PEER_DAGS = ("cosmos_watcher_defaults", "cosmos_watcher_tuned", "cosmos_local")
BLACK_BOX = "black box"
# A peer's run stopped at --peer-timeout: its time is a floor, not a measurement.
TIMED_OUT = "timed out"
WARM_UP_SECONDS = 120.0  # the longest an untimed warm-up run of a peer DAG goes on


def peer_dags_folder(dest: Path) -> Path:
    """A DAGs folder for the benchmark's own Airflow: this DAG file and the peers' (never dags/ itself)."""
    dest.mkdir(parents=True)
    shutil.copy2(REPO / "dags" / "dbt_tickit_medallion_dag.py", dest)
    for peer in PEERS_DIR.glob("*.py"):
        shutil.copy2(peer, dest)
    return dest


def seed_peer_parse_cache(config) -> None:  # type: ignore[no-untyped-def]
    """Each peer's Cosmos cache gets dbt's partial-parse file, as this DAG's (dbt_project/manifest.py)."""
    from tickit_platform.dbt_project.manifest import PARTIAL_PARSE_FILE

    seeded = config.manifest_path.parent / PARTIAL_PARSE_FILE
    for dag_id in PEER_DAGS:
        target = config.layout.cosmos_cache / dag_id / "target"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(seeded, target / PARTIAL_PARSE_FILE)


def _dbt(config, work: Path, *args: str) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    env = {**os.environ, **config.dbt_env()}
    common = ["--project-dir", str(config.project_dir), "--profiles-dir", str(config.project_dir),
              "--target-path", str(work / "target"), "--log-path", str(work / "logs"), "-q"]  # fmt: skip
    return subprocess.Popen([str(config.dbt_executable), *args, *common], env=env)


def _measured(proc: subprocess.Popen[bytes]) -> tuple[float, float, float]:
    """(seconds, CPU seconds, peak MiB) of one dbt process, waited for."""
    from tickit_platform.local.memory import PeakMemory

    started, cpu = time.monotonic(), children_cpu()
    with PeakMemory(lambda: [proc.pid], every=0.25) as peak:
        if proc.wait() != 0:
            raise SystemExit(f"{proc.args} failed ({proc.returncode})")
    return time.monotonic() - started, children_cpu() - cpu, peak.mib


def fresh_warehouse(config) -> None:  # type: ignore[no-untyped-def]
    config.warehouse_path.unlink(missing_ok=True)
    config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)


def _seconds_between(start: str | None, end: str | None) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() if start and end else 0.0


def _peer_run(airflow, api, dag_id: str, label: str, timeout: float) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """One DAG run on the shared Airflow: trigger to end, the CPU of every component (and their tasks) during
    it, the peak memory of all of Airflow's processes, and for this DAG the dbt part apart. A run still going
    after `timeout` seconds is marked failed (its tasks stop) and recorded as timed out, its time as a floor."""
    from datetime import UTC, datetime

    from tickit_platform.local.memory import PeakMemory
    from tickit_runtime.dag_factory import FRESHNESS_TASK_ID, LOAD_RAW_TASK_ID

    pids = {name: proc.pid for name, proc in airflow.processes.items()}
    cpu = {name: _tree_cpu(pid) for name, pid in pids.items()}
    now = datetime.now(UTC)
    run_id = f"bench__{dag_id}__{now.strftime('%Y%m%dT%H%M%S%f')}"
    started = time.monotonic()
    with PeakMemory(lambda: list(pids.values())) as peak:
        api.trigger(dag_id, run_id, now.isoformat(), {})
        try:
            state = api.wait_run(dag_id, run_id, timeout=timeout, supervise=airflow.supervise)
        except TimeoutError:
            state = TIMED_OUT
            api.call("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", {"state": "failed"})
    seconds = time.monotonic() - started
    if state == TIMED_OUT:
        _wait_for_tasks_to_end(api, dag_id, run_id)
    tis = api.task_instances(dag_id, run_id)
    row: dict[str, object] = {"dag": label, "state": state, "tasks": len(tis), "seconds": round(seconds, 1),
                              "cpu_s": round(sum(_tree_cpu(pid) - cpu[name] for name, pid in pids.items()), 1),
                              "peak_mib": round(peak.mib)}  # fmt: skip
    if state == TIMED_OUT:
        return row
    if state != "success":
        # Kept for a look: the failed tasks' logs, copied out of the benchmark's temporary home.
        kept = Path(tempfile.mkdtemp(prefix=f"tickit-bench-failed-{dag_id}-"))
        shutil.copytree(airflow.logs_dir / f"dag_id={dag_id}" / f"run_id={run_id}", kept / "logs")
        row["failed"] = sorted(t["task_id"] for t in tis if t["state"] in ("failed", "upstream_failed"))
        row["logs"] = str(kept)
        return row
    if dag_id == "dbt_tickit_medallion_dag":
        by_id = {t["task_id"]: t for t in tis}
        # The dbt part, what Cosmos' DAGs do too: from the load's end to the end of the last of the build and
        # the model tasks; the load and what the freshness check adds to the run's end apart (on DuckDB the build
        # checks it and its task ends in the triggerer, decision 041).
        ends = [t["end_date"] for t in tis if t.get("end_date") and t["task_id"] != FRESHNESS_TASK_ID]
        row["dbt_part_s"] = round(_seconds_between(by_id[LOAD_RAW_TASK_ID]["end_date"], max(ends)), 1)
        row["load_s"] = round(
            _seconds_between(by_id[LOAD_RAW_TASK_ID]["start_date"], by_id[LOAD_RAW_TASK_ID]["end_date"]), 1
        )
        row["freshness_tail_s"] = round(max(0.0, _seconds_between(max(ends), by_id[FRESHNESS_TASK_ID]["end_date"])), 1)
    return row


def _wait_for_tasks_to_end(api, dag_id: str, run_id: str, within: float = 300.0) -> None:  # type: ignore[no-untyped-def]
    """A run marked failed still has task processes ending (a shared build holding the warehouse's lock): the
    next contender starts once none of its tasks runs."""
    from tickit_platform.local.api_client import FINISHED_TASK_STATES

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        states = {t["state"] for t in api.task_instances(dag_id, run_id)}
        if states <= FINISHED_TASK_STATES | {None}:  # None: never started
            return
        time.sleep(2)


def peers(scale: float, extra_models: list[int], repeat: int, local_up_to: int, timeout: float) -> None:
    """This DAG against Cosmos' own DAGs over the same project, data, manifest, profile and warehouse, on one
    local Airflow, runs alternating, and against the black box (see `--peers`)."""
    from tickit_platform.local.runner import DAG_ID

    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="tickit-bench-peers-") as tmp:
        tmp_path = Path(tmp)
        raw = generate(tmp_path / "raw", scale=scale, seed=42)
        for extra in extra_models:
            project = (REPO / "dags" / "dbt_tickit" if extra == 0
                       else wide_project(tmp_path / f"wide-{extra}" / "dbt_tickit", extra))  # fmt: skip
            config = dag_config(tmp_path / f"home-{extra}", raw, project_dir=project)
            box_cfg = dag_config(tmp_path / f"box-{extra}", raw, project_dir=project)
            ensure_manifest(config)
            ensure_manifest(box_cfg)
            seed_peer_parse_cache(config)
            dags = peer_dags_folder(tmp_path / f"dags-{extra}")
            contenders = [BLACK_BOX, DAG_ID, "cosmos_watcher_defaults", "cosmos_watcher_tuned"]
            if extra + 17 <= local_up_to:
                contenders.append("cosmos_local")
            with started_airflow(config, dags_folder=dags) as (airflow, api):
                for dag_id in contenders[2:]:
                    api.wait_for_dag(dag_id)
                # Untimed, one run of each DAG first (LOCAL aside: a minute, and it fails anyway): the first DAG run
                # on a fresh Airflow pays for its triggerer's and its API server's first use, seconds, and the
                # rotation below put this DAG first in the first repetition every time (decision 044).
                for name in contenders[1:4]:
                    fresh_warehouse(config)
                    if name != DAG_ID:
                        _measured(_dbt(config, config.home / "preload", "run-operation", "load_raw_tables"))
                    # Stopped after two minutes at most: the first use is paid in its first seconds, and a
                    # WATCHER run of 1,017 models would otherwise take the whole timeout twice more.
                    warmed = _peer_run(airflow, api, name, name, min(timeout, WARM_UP_SECONDS))
                    print(f"warm-up run of {name}, untimed: {warmed['state']} in {warmed['seconds']} s", flush=True)
                for i in range(repeat):
                    # Alternating: each repetition starts one further along, so no contender always
                    # follows the same one (nor always runs first, on a cold file cache).
                    for name in contenders[i % len(contenders) :] + contenders[: i % len(contenders)]:
                        if name == BLACK_BOX:
                            fresh_warehouse(box_cfg)
                            work = box_cfg.home / "dbt"
                            load_s, load_cpu, load_mib = _measured(
                                _dbt(box_cfg, work, "run-operation", "load_raw_tables")
                            )
                            build_s, build_cpu, build_mib = _measured(_dbt(box_cfg, work, "build"))
                            row: dict[str, object] = {
                                "dag": BLACK_BOX, "tasks": 0, "seconds": round(load_s + build_s, 1),
                                "load_s": round(load_s, 1), "build_s": round(build_s, 1),
                                "cpu_s": round(load_cpu + build_cpu, 1), "peak_mib": round(max(load_mib, build_mib)),
                            }  # fmt: skip
                        else:
                            fresh_warehouse(config)
                            if name != DAG_ID:  # the peers build from raw tables loaded beforehand, untimed
                                _measured(_dbt(config, config.home / "preload", "run-operation", "load_raw_tables"))
                            row = _peer_run(airflow, api, name, name, timeout)
                        row.update({"models": extra + 17, "scale": scale, "repeat": i})
                        rows.append(row)
                        print(json.dumps(row), flush=True)
    print_peers(rows)


def print_peers(rows: list[dict[str, object]]) -> None:
    """The medians per contender and size: time, CPU, peak memory, and the ratio to the black box."""
    print()
    print("| models | DAG | tasks | runs | DAG run, s | dbt part, s | CPU, s | peak MiB | against the black box |")
    print("|---|---|---|---|---|---|---|---|---|")
    for models in sorted({int(r["models"]) for r in rows}):  # type: ignore[call-overload]
        mine = [r for r in rows if r["models"] == models]
        box = [r for r in mine if r["dag"] == BLACK_BOX]
        box_total = statistics.median(float(r["seconds"]) for r in box)  # type: ignore[arg-type]
        box_build = statistics.median(float(r["build_s"]) for r in box)  # type: ignore[arg-type]
        for name in dict.fromkeys(str(r["dag"]) for r in mine):
            runs = [r for r in mine if r["dag"] == name and r.get("state", "success") == "success"]
            failed = [r for r in mine if r["dag"] == name and r.get("state", "success") != "success"]
            timed_out = [r for r in failed if r["state"] == TIMED_OUT]
            if timed_out:
                seconds = ", ".join(f"> {r['seconds']}" for r in timed_out)
                print(f"| {models:,} | {name} | {timed_out[0]['tasks']} | {len(timed_out)} stopped | {seconds} "
                      f"| | | | not finished when stopped |")  # fmt: skip
            failed = [r for r in failed if r["state"] != TIMED_OUT]
            if failed:
                seconds = ", ".join(str(r["seconds"]) for r in failed)
                print(f"| {models:,} | {name} | {failed[0]['tasks']} | {len(failed)} failed | {seconds} "
                      f"| | | | failed: {failed[0]['failed']} |")  # fmt: skip
            if not runs:
                continue
            med = {k: statistics.median(float(r[k]) for r in runs) for k in ("seconds", "cpu_s", "peak_mib")}  # type: ignore[arg-type]
            dbt_part = ""
            if name == BLACK_BOX:
                against = f"load {statistics.median(float(r['load_s']) for r in runs):.1f} s + build {box_build:.1f} s"  # type: ignore[arg-type]
            elif "dbt_part_s" in runs[0]:
                part = statistics.median(float(r["dbt_part_s"]) for r in runs)  # type: ignore[arg-type]
                dbt_part = f"{part:.1f}"
                against = f"{med['seconds'] / box_total:.2f}x load + build; dbt part {part / box_build:.2f}x the build"
            else:
                against = f"{med['seconds'] / box_build:.2f}x the build alone"
            print(f"| {models:,} | {name} | {runs[0]['tasks']} | {len(runs)} | {med['seconds']:.1f} | {dbt_part} "
                  f"| {med['cpu_s']:.1f} | {med['peak_mib']:.0f} | {against} |")  # fmt: skip
    for models in sorted({int(r["models"]) for r in rows}):  # type: ignore[call-overload]
        mine = [r for r in rows if r["models"] == models]
        ours_s, vanilla, tuned = (_median_seconds(mine, name) for name in PEER_ORDER)
        if ours_s and vanilla and tuned:
            print(f"{models:,} models: this DAG's run {ours_s / vanilla:.2f}x vanilla WATCHER's, "
                  f"{ours_s / tuned:.2f}x the tuned one's")  # fmt: skip


PEER_ORDER = ("dbt_tickit_medallion_dag", "cosmos_watcher_defaults", "cosmos_watcher_tuned")


def _median_seconds(rows: list[dict[str, object]], name: str) -> float | None:
    runs = [float(r["seconds"]) for r in rows if r["dag"] == name and r.get("state", "success") == "success"]  # type: ignore[arg-type]
    return statistics.median(runs) if runs else None


def generated_project(dest: Path, models: int) -> Path:
    """The real project plus `models` generated models chained onto the gold layer."""
    shutil.copytree(REPO / "dags" / "dbt_tickit", dest, ignore=shutil.ignore_patterns("target", "logs"))
    folder = dest / "models" / "generated"
    folder.mkdir()
    for i in range(models):
        parent = "silver_sales" if i < 10 else f"gen_{i // 10 - 1:04d}"
        (folder / f"gen_{i:04d}.sql").write_text(f"select * from {{{{ ref('{parent}') }}}}\n")
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--loader-only", action="store_true", help="time only the raw load (see above)")
    parser.add_argument(
        "--against", metavar="REF", help="with --loader-only or --wide-dag: also time the project or package at REF"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="with --loader-only: runs per scale and project; --start-only: starts"
    )
    parser.add_argument("--wide-dag", type=int, metavar="N", help="time the DAG with N extra parallel models")
    parser.add_argument(
        "--tested", action="store_true", help="with --wide-dag: each model with a data test and a 30+ character name"
    )
    parser.add_argument(
        "--kill-build", action="store_true", help="with --wide-dag: kill the shared build outright at half the models"
    )
    parser.add_argument(
        "--peers", action="store_true", help="this DAG against Cosmos' WATCHER and LOCAL DAGs on one Airflow (above)"
    )
    parser.add_argument(
        "--peer-models", type=int, nargs="+", default=[0, 200], metavar="N",
        help="with --peers: the sizes, as models added to the 17 (0 200 1000)",
    )  # fmt: skip
    parser.add_argument(
        "--local-up-to", type=int, default=17, metavar="MODELS",
        help="with --peers: ExecutionMode.LOCAL (one task at a time) only up to this many models",
    )  # fmt: skip
    parser.add_argument(
        "--peer-timeout", type=float, default=7200.0, metavar="SECONDS",
        help="with --peers: a DAG run still going after this long is stopped and shown as at least this long",
    )  # fmt: skip
    parser.add_argument("--whole-only", action="store_true", help="time only the whole `tickit run` (3, above)")
    parser.add_argument(
        "--supervision-only", action="store_true", help="time only supervision's look at the components"
    )
    parser.add_argument(
        "--start-only", action="store_true", help="time only a local Airflow's start, forked against commands"
    )
    args = parser.parse_args()
    if args.peers:
        for scale in args.scales if args.scales != [1.0, 10.0] else [1.0]:
            peers(scale, args.peer_models, args.repeat, args.local_up_to, args.peer_timeout)
        return
    if args.start_only:
        start_cost(args.repeat)
        return
    if args.loader_only:
        loader_only(args.scales, args.repeat, args.against)
        return
    if args.wide_dag:
        for scale in args.scales:
            wide_dag(args.wide_dag, scale, args.against, args.tested, args.kill_build)
        return
    if args.whole_only:
        with tempfile.TemporaryDirectory(prefix="tickit-bench-") as tmp:
            for scale in args.scales:
                raw = generate(Path(tmp) / f"raw-{scale:g}", scale=scale, seed=42)
                print(json.dumps({"scale": scale, **whole_command(raw, Path(tmp) / f"whole-{scale:g}")}), flush=True)
        return
    if args.supervision_only:
        micro, share = supervision_cost()
        print(f"supervision: {micro:.1f} µs of CPU per look at 5 components, {share:.5%} of one core at 2 looks/s")
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="tickit-bench-") as tmp:
        tmp_path = Path(tmp)
        for scale in args.scales:
            started = time.monotonic()
            raw = generate(tmp_path / f"raw-{scale:g}", scale=scale, seed=42)
            synth = time.monotonic() - started
            box_cfg = dag_config(tmp_path / f"box-{scale:g}", raw)
            dag_cfg = dag_config(tmp_path / f"dag-{scale:g}", raw)
            ensure_manifest(box_cfg)
            load, build = black_box(box_cfg, tmp_path / f"box-{scale:g}" / "dbt")
            box = load + build
            dag = dag_run(dag_cfg)
            whole = whole_command(raw, tmp_path / f"whole-{scale:g}")
            rows.append({"scale": scale, "synth_s": round(synth, 1), "load_s": round(load, 1),
                         "build_s": round(build, 1), "dbt_total_s": round(box, 1), "dag_run_s": round(dag, 1),
                         "ratio": round(dag / box, 2), **whole})  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
        cold17, warm17 = parse_seconds(dag_cfg)
        big = generated_project(tmp_path / "big" / "dbt_tickit", args.models)
        big_cfg = dag_config(tmp_path / "big-home", raw, project_dir=big)
        ensure_manifest(big_cfg)
        cold_big, warm_big = parse_seconds(big_cfg, big)
    print()
    print("| scale | synth, s | dbt load, s | dbt build, s | (1) load + build, s | (2) DAG run, s | (2)/(1) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['scale']:g} | {r['synth_s']} | {r['load_s']} | {r['build_s']} | {r['dbt_total_s']} "
            f"| {r['dag_run_s']} | {r['ratio']} |"
        )
    print()
    print(
        "| scale | (3) `tickit dbt` load + build, s | `tickit run` cold, s | `tickit run` warm, s | warm/(3) "
        "| after `tickit up`, s | up/(3) | peak memory of the warm run, MiB | of (3), MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scale']:g} | {r['box_s']} | {r['run_cold_s']} | {r['run_warm_s']} | {r['ratio_warm']} "
              f"| {r['run_up_s']} | {r['ratio_up']} | {r['peak_mib']} | {r['box_peak_mib']} |")  # fmt: skip
    print()
    print("| project | DAG construction, s | cold parse incl. Airflow + Cosmos imports, s |")
    print("|---|---|---|")
    print(f"| 17 models | {warm17:.3f} | {cold17:.2f} |")
    print(f"| {args.models + 17} models | {warm_big:.3f} | {cold_big:.2f} |")
    micro, share = supervision_cost()
    print()
    print(f"supervision: {micro:.1f} µs of CPU per look at 5 components, {share:.5%} of one core at 2 looks/s")


if __name__ == "__main__":
    main()
