"""The dbt project's descriptions as dbt renders them: whole sentences, written once, nothing cut short.

A flow-style YAML mapping ({name: x, description: a, b}) ends a plain value at its first comma and
turns the rest into keys of their own, without an error; these tests catch that on the parsed manifest
and on the YAML itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support import MODELS, run_dbt

from tickit_runtime.paths import DBT_PROJECT_DIR

MODELS_DIR = DBT_PROJECT_DIR / "models"
# The column properties dbt documents; anything else in a column entry is text that fell out of a value.
COLUMN_KEYS = {
    "name", "description", "data_type", "data_tests", "tests", "meta", "config", "constraints", "quote", "tags",
    "granularity",
}  # fmt: skip


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("dbt_docs")
    parsed = run_dbt(["parse"], work, work / "unused.duckdb", None)
    assert parsed.returncode == 0, parsed.output
    loaded: dict[str, Any] = json.loads((work / "target" / "manifest.json").read_text(encoding="utf-8"))
    return loaded


def _described(manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every model of the project and every source table, as the manifest holds them."""
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["package_name"] == "dbt_tickit":
            yield node
    yield from manifest["sources"].values()


def sentence_problem(text: str) -> str | None:
    """Why `text` is not one plain, complete sentence as a reader should see it, or None."""
    if not text.strip():
        return "empty"
    if "{{" in text or "{%" in text or "}}" in text:
        return "unrendered jinja"
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return "a ')' without its '('"
    if depth:
        return "a '(' never closed (cut at a comma?)"
    if not text.rstrip().endswith("."):
        return "does not end with a period (cut at a comma?)"
    return None


def test_sentence_problem_catches_a_description_cut_at_a_comma() -> None:
    # What the old flow-style YAML made of "Group of categories (Sports, Shows, Concerts)."
    assert sentence_problem("Group of categories (Sports") is not None
    assert sentence_problem("Lines in the file") is not None
    assert sentence_problem('{{ doc("users__user_id") }}') == "unrendered jinja"
    assert sentence_problem("Group of categories (Sports, Shows, Concerts).") is None


def test_every_model_source_and_column_description_is_a_whole_sentence(manifest: dict[str, Any]) -> None:
    problems = []
    for node in _described(manifest):
        where = f"{node['resource_type']} {node['name']}"
        if not node["description"].strip():
            problems.append(f"{where}: no description")
        for column in node["columns"].values():
            problem = sentence_problem(column["description"])
            if problem:
                problems.append(f"{where}.{column['name']}: {problem}: {column['description']!r}")
    assert problems == []


def test_every_model_documents_its_columns(manifest: dict[str, Any]) -> None:
    models = {n["name"]: n for n in _described(manifest) if n["resource_type"] == "model"}
    assert set(models) == set(MODELS)
    assert all(models[name]["columns"] for name in MODELS), [name for name in MODELS if not models[name]["columns"]]


def test_shared_meanings_are_written_once_as_doc_blocks(manifest: dict[str, Any]) -> None:
    # The raw column, its bronze copy and its silver rename read the same text, from one doc block.
    sources = {s["name"]: s for s in manifest["sources"].values()}
    nodes = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    block = manifest["docs"]["doc.dbt_tickit.category__category_group"]["block_contents"]
    assert block == "Group of categories (Sports, Shows, Concerts)."
    assert sources["category"]["columns"]["catgroup"]["description"] == block
    assert nodes["bronze_category"]["columns"]["catgroup"]["description"] == block
    assert nodes["silver_category"]["columns"]["category_group"]["description"] == block


def _column_entries(document: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    for kind in ("models", "sources"):
        for entry in document.get(kind) or []:
            for table in entry.get("tables", [entry]):
                for column in table.get("columns") or []:
                    yield f"{entry['name']}.{table['name']}", column


@pytest.mark.parametrize("path", sorted(MODELS_DIR.rglob("*.yml")), ids=lambda p: p.relative_to(MODELS_DIR).as_posix())
def test_column_entries_have_no_stray_keys(path: Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    stray = {
        f"{table}.{column.get('name')}": sorted(set(column) - COLUMN_KEYS)
        for table, column in _column_entries(document)
        if set(column) - COLUMN_KEYS
    }
    assert stray == {}
