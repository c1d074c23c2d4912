"""`tickit ui` as a user meets it: start it, log in with what it prints, see the 17 model tasks and the dbt
docs, stop it.

The browser is Debian's headless Chromium driven by Playwright (never Playwright's own download).
The screenshot lands in TICKIT_TEST_OUTPUT (default `.test-output/` in the repository) for a human.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import MODELS, skip_or_fail

from tickit_runtime.config import DAG_ID
from tickit_runtime.paths import REPO_ROOT

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(600)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
OUTPUT = Path(os.environ.get("TICKIT_TEST_OUTPUT") or REPO_ROOT / ".test-output")


class UiProcess:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []

    def wait_for(self, pattern: str, timeout: float = 240) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    pytest.fail(f"tickit ui exited with {self.proc.returncode}:\n" + "".join(self.lines))
                continue
            self.lines.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        pytest.fail(f"tickit ui printed no line matching {pattern!r} in {timeout} s:\n" + "".join(self.lines))


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[UiProcess]:
    env = {**os.environ, "TICKIT_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "tickit_platform.cli", "ui", "--synthetic", "--scale", "0.01"]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    handle = UiProcess(proc)
    try:
        yield handle
    finally:
        if proc.poll() is None:
            # Ctrl-C first: `tickit ui` stops the Airflow it started (its own process groups) on the way out.
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_ui_shows_the_graph_of_all_model_tasks_and_stops_cleanly(ui: UiProcess) -> None:
    if not Path(CHROMIUM).exists():
        skip_or_fail("Debian's chromium is not installed (apt-get install -y chromium chromium-driver)")
    from playwright.sync_api import sync_playwright

    url = ui.wait_for(r"Airflow UI: (http://\S+)").group(1)
    docs_url = ui.wait_for(r"dbt docs: (http://\S+)").group(1)
    login = ui.wait_for(r"Login: (\S+) / (\S+)")
    user, password = login.group(1), login.group(2)
    assert docs_url == url.removesuffix(f"/dags/{DAG_ID}") + "/cosmos/dbt_tickit/dbt_docs_index.html"
    assert url.endswith(f"/dags/{DAG_ID}")

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1800, "height": 1400})
        page.goto(url)
        page.locator("input[name='username']").fill(user)
        page.locator("input[name='password']").fill(password)
        page.locator("button[type='submit']").click()
        page.wait_for_url(re.compile(rf".*/dags/{DAG_ID}.*"), timeout=60_000)
        page.get_by_role("button", name=re.compile(r"^Show Graph")).click()
        nodes = page.locator(".react-flow__node")
        nodes.filter(has_text="gold_user_activity").wait_for(timeout=60_000)
        # A node reads "<task id>\n\n<operator>": the first line is the task.
        found = {node.inner_text().split("\n")[0].strip() for node in nodes.all()}
        page.screenshot(path=str(OUTPUT / "airflow-graph.png"), full_page=True)

        # The dbt docs, served by Cosmos' plugin inside the same Airflow: listed under Browse, and the
        # docs app renders the project's models from the manifest it fetches from the API server.
        page.get_by_role("button", name=re.compile("Browse")).click()
        assert page.get_by_text("dbt Docs (tickit)").count() >= 1
        page.goto(docs_url)
        # The model names exist in the page only once the app has loaded the manifest (its search index).
        page.get_by_text("gold_user_activity").first.wait_for(state="attached", timeout=60_000)
        page.screenshot(path=str(OUTPUT / "airflow-dbt-docs.png"), full_page=True)
        browser.close()
    assert set(MODELS) <= found
    assert found - set(MODELS) == {"load_raw", "source_freshness", "dbt_producer_watcher"}

    # Ctrl-C, as a user stops it: a clean exit and nothing left listening.
    os.killpg(ui.proc.pid, signal.SIGINT)
    assert ui.proc.wait(timeout=60) == 0
    rest = ui.proc.stdout.read() if ui.proc.stdout else ""
    assert "Stopping Airflow" in "".join(ui.lines) + rest
