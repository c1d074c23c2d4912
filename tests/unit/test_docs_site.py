"""The documentation site's generated pages (docs/hooks/site.py) against the code they are generated from,
without building the site: every command and every setting appears, and what would let them drift fails.

The strict build itself (`mkdocs build --strict`: broken links and anchors) is a step of scripts/test."""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tickit_platform.cli import build_parser
from tickit_runtime import envvars

ROOT = Path(__file__).resolve().parents[2]


def _load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_site_hooks", ROOT / "docs" / "hooks" / "site.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


site = _load_hooks()


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [(*path, name), *_commands(sub, (*path, name))]
    return found


def test_the_command_reference_has_every_command_with_its_options_and_examples() -> None:
    page = site.commands_page()
    parser = build_parser()
    paths = _commands(parser)
    assert len(paths) >= 15
    for path in paths:
        command = " ".join(("tickit", *path))
        assert re.search(rf"^#+ `{re.escape(command)}`$", page, re.M), f"no section for {command}"
    # The options as the parser declares them, and the examples as --help prints them.
    assert "`--full-refresh`" in page and "`--airflow-version` `AIRFLOW_VERSION`" in page
    assert "tickit deploy push --bucket B --environment tickit --dry-run" in page


def _variables() -> set[str]:
    return {
        value
        for name, value in vars(envvars).items()
        if name.isupper() and isinstance(value, str) and re.fullmatch(r"[A-Z][A-Z0-9_]+", value)
    }


def test_the_settings_reference_has_every_variable_the_project_reads() -> None:
    page = site.settings_page()
    missing = sorted(name for name in _variables() if f"| `{name}` |" not in page)
    assert missing == [], f"not in the settings reference: {missing}"


def test_settings_defaults_come_from_the_code() -> None:
    rows = {name: default for name, default, _ in site.settings_rows()}
    assert rows[envvars.DAG_RETRIES] == "`2`"
    assert rows[envvars.KEEP_RUNS] == "`20`"
    assert rows[envvars.SEED] == "`42`"
    assert rows[envvars.POSTGRES_HOST] == "`127.0.0.1`"  # from dbt's profiles.yml


def test_a_setting_without_a_docstring_fails_the_build() -> None:
    source = 'HOME = "TICKIT_HOME"\n"""Where it all goes."""\nNEW = "TICKIT_NEW_THING"\n'
    with pytest.raises(ValueError, match="TICKIT_NEW_THING has no docstring"):
        site.settings_rows(source)


def test_a_docstring_cannot_restate_a_default_the_code_applies() -> None:
    source = 'DAG_RETRIES = "TICKIT_DAG_RETRIES"\n"""Retries. Default: 5."""\n'
    with pytest.raises(ValueError, match="TICKIT_DAG_RETRIES: its docstring states a default"):
        site.settings_rows(source)


def test_a_page_nobody_placed_is_listed_under_more(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    for page in ("index.md", "decisions/001-a.md", "decisions/002-b.md", "upstream/README.md", "secrets.md"):
        (docs / page).parent.mkdir(parents=True, exist_ok=True)
        (docs / page).write_text(f"# {page}\n")
    monkeypatch.setattr(site, "DOCS", docs)
    nav = site.complete_nav([{"Home": "index.md"}, {"Decisions": ["decisions/index.md"]}, {"Upstream reports": []}])
    assert nav == [
        {"Home": "index.md"},
        {"Decisions": ["decisions/index.md", "decisions/001-a.md", "decisions/002-b.md"]},
        {"Upstream reports": ["upstream/README.md"]},
        {"More": ["secrets.md"]},
    ]


def test_the_readme_fits_on_two_screens_and_keeps_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    assert "./tickit run" in readme and "./scripts/test" in readme
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme):
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"


def _docs_step() -> list[str]:
    """The site build exactly as scripts/test runs it (its `== docs` line), as arguments."""
    line = next(line for line in (ROOT / "scripts" / "test").read_text().splitlines() if '"== docs"' in line)
    command = line.split("&&", 1)[1].split()
    return [word for word in command if "=" not in word or word.startswith("-")]


def test_the_test_commands_site_build_fails_on_a_broken_link_or_anchor(tmp_path: Path) -> None:
    # A copy of the site with one page linking to a page and an anchor that do not exist.
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs, ignore=shutil.ignore_patterns("hooks"))
    with (docs / "getting-started.md").open("a", encoding="utf-8") as page:
        page.write("\nSee [nowhere](no-such-page.md) and [the DAG](concepts/dag.md#no-such-section).\n")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    config = config.replace("docs_dir: docs", f"docs_dir: {docs}").replace(
        "  - docs/hooks/site.py", f"  - {ROOT / 'docs' / 'hooks' / 'site.py'}"
    )
    (tmp_path / "mkdocs.yml").write_text(config, encoding="utf-8")
    step = _docs_step()
    assert step[:3] == ["mkdocs", "build", "--strict"] and "--quiet" not in step and "-q" not in step
    command = [str(Path(sys.executable).parent / "mkdocs"), *step[1:3], "-f", str(tmp_path / "mkdocs.yml")]
    built = subprocess.run(
        [*command, "--site-dir", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert built.returncode != 0
    assert "no-such-page.md" in built.stderr and "no-such-section" in built.stderr
