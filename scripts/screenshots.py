"""Recapture the README's two pictures from a real local run: the Airflow graph and the report.

    .venv/bin/python scripts/screenshots.py [--scale 0.05]

Starts a local Airflow that keeps running (`tickit up`) in a throwaway TICKIT_HOME, runs the DAG on it
(`tickit run`), then drives Debian's headless Chromium with Playwright (never Playwright's own browser
download) to the DAG's graph and to the report, and stops that Airflow (`tickit down`). It writes
docs/images/airflow-graph.png and docs/images/report.png.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
DAG_ID = "dbt_tickit_medallion_dag"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1500, "height": 950}


def tickit(home: Path, *args: str) -> str:
    """One `tickit` command in the throwaway home; its output, which it also shows."""
    env = {**os.environ, "TICKIT_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "tickit_platform.cli", *args], env=env, text=True, capture_output=True, check=False
    )
    print(proc.stdout + proc.stderr, end="")
    if proc.returncode != 0:
        raise SystemExit(f"tickit {' '.join(args)} exited with {proc.returncode}")
    return proc.stdout


def capture(url: str, user: str, password: str, run_id: str, report: Path) -> None:
    from playwright.sync_api import sync_playwright

    IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(url)
        page.locator("input[name='username']").fill(user)
        page.locator("input[name='password']").fill(password)
        page.locator("button[type='submit']").click()
        page.wait_for_url(re.compile(rf".*/dags/{DAG_ID}.*"), timeout=60_000)
        # The run's own page: its graph shows each task's state.
        page.goto(f"{url}/runs/{run_id}")
        page.get_by_role("button", name=re.compile(r"^Show Graph")).click()
        page.locator(".react-flow__node").filter(has_text="gold_user_activity").wait_for(timeout=60_000)
        page.wait_for_timeout(2_000)  # the graph's layout settles after its nodes appear
        page.screenshot(path=str(IMAGES / "airflow-graph.png"))

        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        # From the first section down: the page's header names the throwaway home's path.
        top = page.locator("h2").first.bounding_box()
        offset = int(top["y"]) - 16 if top else 0
        page.set_viewport_size({"width": VIEWPORT["width"], "height": VIEWPORT["height"] + offset})
        page.screenshot(
            path=str(IMAGES / "report.png"),
            clip={"x": 0, "y": offset, "width": VIEWPORT["width"], "height": VIEWPORT["height"]},
        )
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="0.05", help="synthetic scale of the run (default 0.05)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit("Debian's chromium is needed: apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="tickit-screenshots-") as tmp:
        home = Path(tmp) / "home"
        data = ("--synthetic", "--scale", args.scale)
        try:
            up = tickit(home, "up", *data)
            url = re.search(r"Airflow UI: (http://\S+)", up)
            login = re.search(r"Login: (\S+) / (\S+)", up)
            if not url or not login:
                raise SystemExit("tickit up printed no URL or login")
            tickit(home, "run", *data)
            # The run's record is its folder under runs/, named by its id (the only one in this home).
            run_id = next(p.name for p in (home / "runs").iterdir() if (p / "run.json").exists())
            capture(url.group(1), login.group(1), login.group(2), run_id, home / "reports" / "report.html")
        finally:
            tickit(home, "down")
    print(f"Wrote {IMAGES / 'airflow-graph.png'} and {IMAGES / 'report.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
