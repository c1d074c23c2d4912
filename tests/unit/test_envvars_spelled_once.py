"""Every environment variable name of ours in the package is spelled once, in envvars.py: `TICKIT_*`, and
the `DBT_*` names our profiles.yml and load macros read (`DBT_POSTGRES_*`, `DBT_REDSHIFT_*`, `DBT_TICKIT_*`,
`DBT_TARGET`).

Read from the source with `ast`: every string constant and every literal part of an f-string counts,
docstrings do not (they describe the variables to a reader and are never handed to a process), and nor
do comments (`ast` does not see them). So a writer and a reader of a variable cannot drift apart by a typo.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import tickit_platform
import tickit_runtime
from tickit_runtime import envvars

PACKAGE = Path(tickit_platform.__file__).parent
RUNTIME = Path(tickit_runtime.__file__).parent
HOME = RUNTIME / "envvars.py"

# Files that may spell names, and the only names each may spell. worker_hostname.py is copied alone beside a
# rehearsal's Airflow and imported there as Airflow's `hostname_callable`, where tickit_platform is not
# installed: it cannot import envvars, so it spells its one name itself, held equal to envvars' here.
EXCEPTIONS = {PACKAGE / "deploy" / "rehearsal" / "worker_hostname.py": {envvars.REHEARSAL_HOSTNAME}}

# dbt's own DBT_TARGET_PATH is not ours: DBT_TARGET counts only as a whole word.
OURS = re.compile(r"TICKIT_|DBT_POSTGRES_|DBT_REDSHIFT_|\bDBT_TARGET\b")


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the constants that are a module's, class's or function's docstring."""
    owners = [
        tree,
        *(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)),
    ]
    ids = set()
    for owner in owners:
        body = owner.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            ids.add(id(body[0].value))
    return ids


def _spellings(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal in `source` naming one of our variables, docstrings left out.

    An f-string's literal parts are ast.Constant nodes inside its JoinedStr, so the walk sees them too.
    """
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]
    yield from sorted((line, text) for line, text in found if OURS.search(text))


def _offenders() -> list[str]:
    found = []
    for path in sorted(p for package in (PACKAGE, RUNTIME) for p in package.rglob("*.py")):
        if path == HOME or path in EXCEPTIONS:
            continue
        for line, text in _spellings(path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {text.strip()[:80]!r}")
    return found


def test_tickit_names_are_spelled_only_in_envvars() -> None:
    offenders = _offenders()
    assert offenders == [], "use the envvars constant instead:\n" + "\n".join(offenders)


def test_the_exceptions_spell_envvars_names_and_still_need_to_be_exceptions() -> None:
    for path, names in EXCEPTIONS.items():
        spelled = {text for _, text in _spellings(path.read_text(encoding="utf-8"))}
        assert spelled, f"{path} no longer spells a name: drop it from EXCEPTIONS"
        assert spelled == names, f"{path} spells {spelled}, envvars has {names}"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in imported if m.split(".")[0] == "tickit_platform"], f"{path} can import envvars"


def test_the_checker_sees_literals_and_f_strings_and_skips_docstrings() -> None:
    source = '''
"""Module docstring naming TICKIT_HOME."""
import os

def f() -> str:
    """Function docstring naming TICKIT_HOME."""
    a = os.environ["TICKIT_HOME"]
    return f"set TICKIT_RAW_DIR to {a}"

class C:
    """Class docstring naming TICKIT_HOME."""
    help = "default $TICKIT_HOME"  # a comment naming TICKIT_HOME
'''
    assert [line for line, _ in _spellings(source)] == [7, 8, 12]
