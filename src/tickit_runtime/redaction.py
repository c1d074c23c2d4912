"""How a settings object shows itself: every field, except that a secret's value is `'***'`.

In tickit_runtime/ because the DAG's own settings use it and only that room ships to MWAA; the CLI's settings and
the data room sit above it and use it too.

A dataclass's generated `repr()` prints every field, and a repr ends up in tracebacks, debuggers and log
lines (`%r`) nobody reviews. The objects holding a password, a token or a URL that may carry one define
`__repr__` with `redacted_repr`: the field is still named (so the reader sees it is set), its value is not.
Equality and what the code reads are the dataclass's own, unchanged.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

MASK = "***"


def masked(value: object) -> object:
    """`MASK` for a set value; an unset one (None, empty) as it is: that it is unset is no secret."""
    return MASK if value else value


def redacted_repr(obj: Any, **shown: object) -> str:
    """`obj`'s dataclass repr, with the fields named in `shown` showing the given value instead of theirs."""
    parts = (f"{f.name}={shown[f.name] if f.name in shown else getattr(obj, f.name)!r}" for f in fields(obj) if f.repr)
    return f"{type(obj).__name__}({', '.join(parts)})"
