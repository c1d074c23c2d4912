"""`tickit --help` and every subcommand's help, as a user reads them: a description written for a user and
at least one example of that very command, each on a line of its own."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from tickit_platform.cli import build_parser, main


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path below `parser` ("run", "deploy push", ...), command groups included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name)
                yield from _commands(sub, (*path, name))


def _parser(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


COMMANDS = list(_commands(build_parser()))


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_every_command_is_walked() -> None:
    # The walk itself must see the nested groups, or the tests below would pass on nothing.
    assert {"run", "ui", "data fetch", "deploy push", "deploy rehearse", "dbt"} <= {" ".join(c) for c in COMMANDS}


def test_tickit_help_speaks_to_a_user_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    out = _help([], capsys)
    assert "dispatches" not in out and "commands/" not in out, "a maintainer's docstring is not a user's help"
    assert "Airflow" in out and "dbt" in out
    examples = out.split("examples:", 1)[1].splitlines()
    assert any(line.strip().startswith("tickit run ") or line.strip() == "tickit run" for line in examples)


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_has_a_description_and_an_example_of_itself(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    parser = _parser(path)
    command = "tickit " + " ".join(path)
    assert parser.description and len(parser.description.split()) >= 8, f"{command}: no description for a user"
    assert parser.epilog and parser.epilog.startswith("examples:"), f"{command}: no examples"

    out = _help(list(path), capsys)
    assert " ".join(parser.description.split()[:4]) in " ".join(out.split()), f"{command}: description not shown"
    examples = [line.strip() for line in out.split("examples:", 1)[1].splitlines() if line.strip()]
    own = [line for line in examples if line == command or line.startswith(command + " ")]
    assert own, f"{command}: no example of this command in\n{out}"
