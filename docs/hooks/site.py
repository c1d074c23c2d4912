"""MkDocs hooks (mkdocs.yml `hooks:`): the pages generated from the code, and the navigation's automatic parts.

Generated on every build, never written into docs/, so they cannot drift from the code:
- reference/commands.md, from the `tickit` command's own argparse parser (`tickit_platform.cli.build_parser`):
  every command and group with its description, usage, options and examples, as `--help` prints them;
- reference/settings.md, from `tickit_runtime/envvars.py`: every environment variable the project reads, with
  the docstring written under its constant; defaults come from the code that applies them (the DAG's
  configuration, the CLI's settings, dbt's profiles.yml) or, where no code can state one, from the docstring;
- benchmarks.md, from benchmarks/README.md (its links rewritten for the site);
- decisions/index.md, every decision by number and title.

The navigation lists every decision and upstream report found on disk, and any page under docs/ that
mkdocs.yml does not place yet under "More", so a page added by anyone is reachable before it is placed.
docs/decisions/035-documentation-site.md says why.
"""

from __future__ import annotations

import argparse
import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ENVVARS = ROOT / "src" / "tickit_runtime" / "envvars.py"
PROFILES = ROOT / "dags" / "dbt_tickit" / "profiles.yml"
BENCHMARKS = ROOT / "benchmarks" / "README.md"

GENERATED = ("reference/commands.md", "reference/settings.md", "benchmarks.md", "decisions/index.md")
# Sections of mkdocs.yml's nav whose pages are every Markdown file of a folder, found on disk.
AUTO_SECTIONS = {"Decisions": "decisions", "Upstream reports": "upstream"}
MORE = "More"
# A setting whose docstring opens so is set by tickit, MWAA or the deploy, not by a user.
SET_FOR_YOU = re.compile(r"^Set by ")
DEFAULT_SENTENCE = re.compile(r"\s*Default: (.+?)\.?\s*$", re.DOTALL)


# ---- reference/commands.md -------------------------------------------------------------------------------


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, sub in _subcommands(parser).items():
        yield (*path, name)
        yield from _walk(sub, (*path, name))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _option(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    flags = ", ".join(f"`{flag}`" for flag in action.option_strings)
    if action.nargs == 0:
        return flags
    metavar = action.metavar or (f"{{{','.join(map(str, action.choices))}}}" if action.choices else action.dest.upper())
    return f"{flags} `{metavar}`"


def _section(path: tuple[str, ...], parser: argparse.ArgumentParser) -> list[str]:
    command = " ".join(("tickit", *path))
    lines = [f"{'#' * max(2, min(len(path) + 1, 4))} `{command}`", ""]
    lines += [" ".join(p.split()) + "\n" for p in (parser.description or "").split("\n\n")]
    usage = "\n    ".join(line.strip() for line in parser.format_usage().removeprefix("usage: ").strip().splitlines())
    lines += ["```text", usage, "```", ""]
    options = [a for a in parser._actions if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)]
    if options:
        lines += ["| option | what it does |", "|---|---|"]
        lines += [f"| {_option(a)} | {_cell(a.help or '')} |" for a in options]
        lines.append("")
    subs = _subcommands(parser)
    if subs:
        lines += ["| command | what it does |", "|---|---|"]
        lines += [
            f"| [`{command} {name}`](#{_anchor(f'{command} {name}')}) | {_cell(_help_of(parser, name))} |"
            for name in subs
        ]
        lines.append("")
    if parser.epilog:
        examples = parser.epilog.splitlines()[1:]
        lines += ["Examples:", "", "```bash", *(line.removeprefix("  ") for line in examples), "```", ""]
    return lines


def _help_of(parser: argparse.ArgumentParser, name: str) -> str:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.dest == name:
                    return choice.help or ""
    return ""


def _anchor(title: str) -> str:
    """The id Python-Markdown's toc gives a heading `tickit deploy push` (code spans count as their text)."""
    return re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", title).strip().lower())


def commands_page() -> str:
    from tickit_platform.cli import build_parser

    parser = build_parser()
    lines = [
        "# Commands",
        "",
        "Generated from the `tickit` command's own parser on every build of this site, so it says what "
        "`tickit COMMAND --help` says. `./tickit COMMAND` runs the same command through the bootstrap script "
        "(which installs the locked environment first); after the first run `.venv/bin/tickit` works too.",
        "",
        *_section((), parser),
    ]
    for path in _walk(parser):
        sub = parser
        for name in path:
            sub = _subcommands(sub)[name]
        lines += _section(path, sub)
    return "\n".join(lines)


# ---- reference/settings.md -------------------------------------------------------------------------------


def declared_settings(source: str | None = None) -> list[tuple[str, str]]:
    """(environment variable, docstring) of every name envvars.py declares, in its order.

    A declaration is a module-level `NAME = "VARIABLE"` of one string; the string literal right under it is
    its docstring (the attribute-docstring convention), empty when there is none.
    """
    body = ast.parse(source if source is not None else ENVVARS.read_text(encoding="utf-8")).body
    found = []
    for node, after in zip(body, [*body[1:], None], strict=True):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            continue
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", node.value.value):
            continue
        doc = ""
        if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str):
            doc = " ".join(after.value.value.split())
        found.append((node.value.value, doc))
    return found


def code_defaults() -> dict[str, str]:
    """Each setting's default as the code applies it: the DAG's configuration and the CLI's settings built from
    an empty environment, and dbt's profiles.yml (`env_var('NAME', 'default')`). Paths of this machine are
    left out (the docstring says where they point)."""
    from tickit_platform.settings import Settings
    from tickit_runtime import envvars
    from tickit_runtime.config import DagConfig

    defaults: dict[str, str] = {}
    profile = PROFILES.read_text(encoding="utf-8")
    for name, value in re.findall(r"env_var\('([A-Z0-9_]+)',\s*'([^']*)'\)", profile):
        defaults[name] = value
    placeholder = Path("/tickit-home")
    for name, value in DagConfig.for_home(placeholder, "local", {}).to_env().items():
        if "/" not in value:
            defaults[name] = value
    settings = Settings.from_env({})
    defaults.update({envvars.SCALE: str(settings.scale), envvars.SEED: str(settings.seed)})
    defaults[envvars.TARGET] = settings.target
    return {name: re.sub(r"^(\d+)\.0$", r"\1", value) for name, value in defaults.items()}


def settings_rows(source: str | None = None) -> list[tuple[str, str, str]]:
    """(variable, default, meaning) of every setting envvars.py (or `source`) declares. A setting without a
    docstring, or whose docstring states a default the code applies too, is an error: the build fails."""
    computed = code_defaults()
    rows = []
    for name, doc in declared_settings(source):
        if not doc:
            raise ValueError(f"{name} has no docstring in envvars.py: say what it does under its constant")
        stated = DEFAULT_SENTENCE.search(doc)
        meaning = DEFAULT_SENTENCE.sub("", doc) if stated else doc
        if stated and name in computed:
            raise ValueError(f"{name}: its docstring states a default, but the code applies one: drop the sentence")
        default = f"`{computed[name]}`" if computed.get(name) else (stated.group(1) if stated else "none")
        rows.append((name, default, meaning))
    return rows


def settings_page() -> str:
    from tickit_runtime import envvars
    from tickit_runtime.alerts.settings import SMTP_CONNECTION_ID, variable_name
    from tickit_runtime.config import REDSHIFT_ENV_TEMPLATES

    rows = settings_rows()
    yours = [r for r in rows if not SET_FOR_YOU.match(r[2])]
    for_you = [r for r in rows if SET_FOR_YOU.match(r[2])]
    table = ["| variable | default | what it does |", "|---|---|---|"]
    lines = [
        "# Settings",
        "",
        "Generated from `src/tickit_runtime/envvars.py` on every build of this site: every environment "
        "variable the project reads, with the text written under its name there. Defaults are read from the code "
        "that applies them. Flags win over environment variables; every command reads the environment once, and "
        "a bad value stops it before anything starts, in one line naming the variable. "
        "[Configure](../how-to/configure.md) shows them at work.",
        "",
        "## The settings",
        "",
        *table,
        *(f"| `{n}` | {_cell(d)} | {_cell(m)} |" for n, d, m in yours),
        "",
        "## Set for you",
        "",
        "`tickit`, MWAA or the deploy set these for the processes they start; they are listed so that none is a "
        "mystery in a process's environment.",
        "",
        *table,
        *(f"| `{n}` | {_cell(d)} | {_cell(m)} |" for n, d, m in for_you),
        "",
        "## Airflow Variables on MWAA",
        "",
        "On MWAA the DAG reads its warehouse and alert settings from Airflow Variables (Terraform stores them in "
        "Secrets Manager); any Airflow can use them. Each alert variable also works as the Variable of its name "
        f"in lower case, and the SMTP server as the Airflow connection `{SMTP_CONNECTION_ID}`.",
        "",
        "| Airflow Variable | default | fills |",
        "|---|---|---|",
    ]
    for env_name, template in REDSHIFT_ENV_TEMPLATES.items():
        match = re.search(r"var\.value\.get\('([^']+)', '([^']*)'\)", template)
        if match:
            default = f"`{match[2]}`" if match[2] else "none"
            lines.append(f"| `{match[1]}` | {default} | `{env_name}` |")
    lines += [f"| `{variable_name(name)}` | none | `{name}` |" for name in envvars.ALERTS]
    lines.append("")
    return "\n".join(lines)


# ---- benchmarks.md, decisions/index.md ---------------------------------------------------------------------


def benchmarks_page() -> str:
    text = BENCHMARKS.read_text(encoding="utf-8")
    # benchmarks/README.md links into docs/ from the repository's root; on the site it sits at the docs' root.
    return re.sub(r"\]\(\.\./docs/", "](", text)


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def _folder_pages(folder: str) -> list[str]:
    return [
        f"{folder}/{p.name}"
        for p in sorted((DOCS / folder).glob("*.md"))
        if p.name != "index.md" and f"{folder}/{p.name}" not in GENERATED
    ]


def decisions_page() -> str:
    lines = [
        "# Decisions",
        "",
        "Short records of the choices this project made and why, newest last. A decision is written when it is "
        "made, as `docs/decisions/NNN-title.md`; this list is generated from the folder.",
        "",
    ]
    lines += [f"- [{_title(DOCS / page)}]({page.removeprefix('decisions/')})" for page in _folder_pages("decisions")]
    return "\n".join(lines) + "\n"


PAGES = {
    "reference/commands.md": commands_page,
    "reference/settings.md": settings_page,
    "benchmarks.md": benchmarks_page,
    "decisions/index.md": decisions_page,
}


# ---- the navigation ----------------------------------------------------------------------------------------


def _placed(nav: Any) -> Iterator[str]:
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from _placed(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _placed(value)


def complete_nav(nav: list[Any]) -> list[Any]:
    """mkdocs.yml's nav with the folders' pages filled in and every other page under "More"."""
    filled = []
    for item in nav:
        if isinstance(item, dict) and len(item) == 1:
            ((title, value),) = item.items()
            if title in AUTO_SECTIONS:
                folder = AUTO_SECTIONS[title]
                pages = value if isinstance(value, list) else [value]
                item = {title: [*pages, *(p for p in _folder_pages(folder) if p not in pages)]}
        filled.append(item)
    placed = set(_placed(filled))
    hooks = DOCS / "hooks"
    unplaced = [
        p.relative_to(DOCS).as_posix()
        for p in sorted(DOCS.rglob("*.md"))
        if hooks not in p.parents and p.relative_to(DOCS).as_posix() not in placed
    ]
    if unplaced:
        filled.append({MORE: unplaced})
    return filled


# ---- MkDocs' hooks -----------------------------------------------------------------------------------------


def on_config(config: Any) -> Any:
    config["nav"] = complete_nav(config["nav"])
    return config


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for uri, render in PAGES.items():
        existing = files.get_file_from_path(uri)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, uri, content=render()))
    return files
