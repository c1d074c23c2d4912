"""Structure checks of the Terraform under infra/, run by scripts/check-infra with checkov's Python.

checkov judges the resources; this judges what checkov does not: every .tf file parses (with the
same HCL parser checkov uses, so a file checkov would silently skip is an error here), every module
and example has the standard file set, every variable says what it is for and what type it takes,
every output is described, and every versions.tf pins Terraform and the AWS provider.

Prints one `path:line: problem` per finding and exits 1 if there is any.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import hcl2  # bc-python-hcl2, installed with checkov (never beside python-hcl2: same module name)
from lark.exceptions import UnexpectedInput

STANDARD_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")
# Folders holding Terraform roots that must each have the standard file set.
ROOT_FOLDERS = ("modules", "examples")


def _blocks(parsed: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, body) of every `kind "name" { ... }` block of a parsed file."""
    found: list[tuple[str, dict[str, Any]]] = []
    for entry in parsed.get(kind, []):
        for name, body in entry.items():
            found.append((name, body))
    return found


def _value(body: dict[str, Any], key: str) -> Any:
    """An attribute's value; the parser wraps attribute values in a one-element list."""
    value = body.get(key)
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def _line(body: dict[str, Any]) -> int:
    return int(body.get("__start_line__", 1))


def _locate(text: str, message: str) -> int:
    """The line a parser message quotes (some of its errors carry no position), else 1."""
    _, _, quoted = message.partition(": ")
    quoted = quoted.strip()
    for number, line in enumerate(text.splitlines(), start=1):
        if quoted and line.strip() == quoted:
            return number
    return 1


def _parse(path: Path, rel: str, problems: list[str]) -> dict[str, Any] | None:
    text = ""
    try:
        text = path.read_text(encoding="utf-8")
        parsed: dict[str, Any] = hcl2.loads(text)
    except UnexpectedInput as error:
        summary = str(error).splitlines()[0]
        problems.append(f"{rel}:{error.line}:{error.column}: HCL syntax error: {summary}")
        return None
    except UnicodeDecodeError as error:
        problems.append(f"{rel}:1: not UTF-8 text ({error.reason})")
        return None
    except Exception as error:  # the pre-checks and the transformer raise plain exceptions
        problems.append(f"{rel}:{_locate(text, str(error))}: HCL syntax error: {error}")
        return None
    return parsed


def _check_variables(parsed: dict[str, Any], rel: str, problems: list[str]) -> None:
    variables = _blocks(parsed, "variable")
    for name, body in variables:
        for attribute in ("description", "type"):
            if attribute not in body:
                problems.append(f'{rel}:{_line(body)}: variable "{name}" has no {attribute}')
        if "description" in body and not str(_value(body, "description")).strip():
            problems.append(f'{rel}:{_line(body)}: variable "{name}" has an empty description')
    names = [name for name, _ in variables]
    if "tags" in names and names[-1] != "tags":
        problems.append(f'{rel}:{_line(variables[names.index("tags")][1])}: variable "tags" must be the last one')


def _check_outputs(parsed: dict[str, Any], rel: str, problems: list[str]) -> None:
    for name, body in _blocks(parsed, "output"):
        if not str(_value(body, "description") or "").strip():
            problems.append(f'{rel}:{_line(body)}: output "{name}" has no description')


def _check_versions(parsed: dict[str, Any], rel: str, problems: list[str]) -> None:
    settings = parsed.get("terraform", [])
    if not settings:
        problems.append(f"{rel}:1: no terraform {{ }} block pinning Terraform and the AWS provider")
        return
    block = settings[0]
    if "required_version" not in block:
        problems.append(f"{rel}:{_line(block)}: terraform block has no required_version")
    providers: dict[str, Any] = {}
    for entry in block.get("required_providers", []):
        providers.update(entry)
    aws = _value(providers, "aws")
    if not isinstance(aws, dict) or not str(_value(aws, "version") or "").strip():
        problems.append(f"{rel}:{_line(block)}: required_providers does not pin the aws provider's version")


def check(root: Path) -> list[str]:
    problems: list[str] = []
    tf_files = sorted(p for p in root.rglob("*.tf") if ".terraform" not in p.relative_to(root).parts)
    if not tf_files:
        return [f"{root}: no .tf files found"]
    for path in tf_files:
        rel = str(path.relative_to(root.parent))
        parsed = _parse(path, rel, problems)
        if parsed is None:
            continue
        if path.name == "variables.tf" or "variable" in parsed:
            _check_variables(parsed, rel, problems)
        if "output" in parsed:
            _check_outputs(parsed, rel, problems)
        if path.name == "versions.tf":
            _check_versions(parsed, rel, problems)
    for folder in ROOT_FOLDERS:
        parent = root / folder
        if not parent.is_dir():
            problems.append(f"{parent.relative_to(root.parent)}: missing folder")
            continue
        for module in sorted(p for p in parent.iterdir() if p.is_dir()):
            for name in STANDARD_FILES:
                if not (module / name).is_file():
                    problems.append(f"{(module / name).relative_to(root.parent)}: missing (standard module file set)")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: check_infra.py INFRA_DIR", file=sys.stderr)
        return 2
    root = Path(argv[1]).resolve()
    if not root.is_dir():
        print(f"check-infra: {root} is not a folder", file=sys.stderr)
        return 2
    problems = check(root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"check-infra: {len(problems)} problem(s) in {root.name}/; fix them and run scripts/check-infra again")
        return 1
    print(f"check-infra: {root.name}/ parses and every module has the standard file set")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
