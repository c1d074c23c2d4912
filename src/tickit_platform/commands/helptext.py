"""How every `tickit` command explains itself: a description for a user, then examples to copy.

`tickit <command> --help` prints the description, the options, and the examples in the epilog, each
with what it does. The documentation site's command reference is generated from the same parser, so
what is written here is what both show.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

EXAMPLES_HEADING = "examples:"


def described(description: str, *examples: tuple[str, str]) -> dict[str, Any]:
    """add_parser's keywords for a command: its description and its examples as (command line, what it does)."""
    width = max(len(line) for line, _ in examples)
    lines = [f"  {line.ljust(width)}  # {meaning}" if meaning else f"  {line}" for line, meaning in examples]
    return {
        "description": description,
        "epilog": "\n".join([EXAMPLES_HEADING, *lines]),
        "formatter_class": HelpFormatter,
    }


class HelpFormatter(argparse.HelpFormatter):
    """argparse's layout, except that a description keeps its paragraphs (argparse would join them into
    one) and the examples keep one command per line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(EXAMPLES_HEADING):
            return text
        paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
        return "\n\n".join(textwrap.fill(p, width, initial_indent=indent, subsequent_indent=indent) for p in paragraphs)
