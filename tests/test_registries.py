"""The registries (functions, hit policies, codes, input types) are complete, and each entry is documented where users look."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path

import pytest

from engine.codegen import POLICY_CODE
from engine.compiled import compile_pack
from engine.inputs import compile_validator
from engine.runtime import NAMESPACE
from engine.search import simplest_value
from rules.diagnostics import CODES
from rules.errors import InputError
from rules.functions import FUNCTIONS
from rules.hit_policy import HitPolicy
from rules.input_types import INPUT_TYPES
from rules.load import load_text
from rules.schema import field_schema
from rules.temporal import TEMPORAL_CLASSES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# Where codes are raised: the compiler, the engine, the CLI (the importers report theirs as notes, not codes).
SOURCES = sorted(p for d in ("rules", "engine", "api") for p in (ROOT / d).rglob("*.py")
                 if not p.name.startswith(("dmn", "jdm")))
CODE_SHAPE = re.compile(r"^[a-z]+(-[a-z]+)*$")
# call name -> index of the positional argument that is a code
CODE_ARGUMENT = {"report": 1, "report_at": 1, "fail": 1, "_error": 1, "add": 1, "ExpressionError": 0,
                 "Diagnostic": 2, "TableFinding": 0, "DecisionError": 0}


def _section(path: Path, title: str) -> str:
    text = path.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def _codes_in(path: Path) -> set[str]:
    """The code literals a module passes where a code goes (a class's ``code`` is an HTTP problem's, api/problems.py)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        candidates: list[ast.expr] = []
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            index = CODE_ARGUMENT.get(name)
            if index is not None and len(node.args) > index and (name != "add" or len(node.args) >= 4):
                candidates.append(node.args[index])
        for candidate in candidates:
            found |= {c.value for c in ast.walk(candidate) if isinstance(c, ast.Constant) and isinstance(c.value, str)
                      and CODE_SHAPE.match(c.value)}
    # generated code raises through fail('code', ...) inside f-strings
    found |= set(re.findall(r"fail\('([a-z-]+)'", path.read_text()))
    return found


def test_every_function_is_documented_and_every_documented_function_exists() -> None:
    """docs/expressions.md's function list names exactly the registered functions."""
    documented = set(re.findall(r"`([a-z_]+)\(", _section(DOCS / "expressions.md", "Functions")))
    assert documented == set(FUNCTIONS)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_function_is_reachable_from_generated_code(name: str) -> None:
    """A function with an implementation is in the runtime namespace under the name generated code calls."""
    function = FUNCTIONS[name]
    assert function.doc
    if function.runtime is not None:
        assert NAMESPACE[function.runtime.__name__] is function.runtime


def test_every_hit_policy_is_documented_and_generated() -> None:
    """Each hit policy has its code generation and a line in docs/expressions.md."""
    assert set(POLICY_CODE) == set(HitPolicy)
    section = _section(DOCS / "expressions.md", "Hit policies")
    assert set(re.findall(r"`([a-z_]+)` \(", section)) == {p.value for p in HitPolicy}


def test_the_code_table_in_the_docs_is_the_registry() -> None:
    """docs/diagnostics.md lists every code with its severity and meaning, as rules/diagnostics.py declares them."""
    rows = re.findall(r"^\| `([a-z-]+)` \| (\w+) \| (.+) \|$", (DOCS / "diagnostics.md").read_text(), re.MULTILINE)
    assert rows == [(c.name, c.severity.value, c.doc) for c in CODES.values()]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_code_the_source_reports_is_declared(path: Path) -> None:
    """A code reported anywhere in rules/, engine/ or api/ has its record in rules/diagnostics.py."""
    assert _codes_in(path) - set(CODES) == set()


def test_the_source_scan_finds_codes() -> None:
    """The scan above is not vacuous: it sees the checker's, the parser's and the generated code's codes."""
    assert {"unknown-name", "wrong-arguments"} <= _codes_in(ROOT / "rules" / "expressions.py") | _codes_in(ROOT / "rules" / "functions.py")
    assert {"unsafe-expression", "syntax"} <= _codes_in(ROOT / "rules" / "parser.py")
    assert {"unique-violated", "output-missing"} <= _codes_in(ROOT / "engine" / "codegen.py")


def test_every_input_type_is_documented_as_registered() -> None:
    """docs/packs.md's type table lists exactly the registered input types, each with its holding, schema and line."""
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \| `(\{.*?\})` \| (.+?) \|$", _section(DOCS / "packs.md", "Types"), re.MULTILINE)
    documented = {name: (how, json.loads(schema), doc) for name, how, schema, doc in rows}
    assert documented == {t.name: (t.held.value, dict(t.schema), t.doc) for t in INPUT_TYPES.values()}


@pytest.mark.parametrize("name", sorted(INPUT_TYPES))
def test_each_input_type_is_checked_validated_described_and_decided(name: str) -> None:
    """A field of each type loads with the record's checked type, is described by its schema, and round-trips a decision."""
    declared = INPUT_TYPES[name]
    spec = {"type": name, **({"values": ["a", "b"]} if declared.enumerated else {})}
    text = (f"pack: typed\nversion: 1.0.0\ndescription: one field of a type\nowner: tests\n"
            f"inputs: {{x: {json.dumps(spec)}}}\noutputs: {{x: {json.dumps(spec)}}}\n")
    loaded = load_text(text, "typed.yaml")
    assert loaded.pack is not None, loaded.diagnostics
    field = loaded.pack.inputs[0]
    assert field.type == declared.checked(spec.get("values"))
    assert field_schema(field.spec).items() >= declared.schema.items()
    value = simplest_value(field.spec)
    # as JSON brings it: a date and the temporal values as their ISO 8601 text
    wire = value.isoformat() if isinstance(value, dt.date) else str(value) if isinstance(value, TEMPORAL_CLASSES) else value
    validate = compile_validator(loaded.pack.inputs)
    assert validate.fast({"x": wire}) == validate.slow({"x": wire}) == {"x": value}  # type: ignore[attr-defined]
    assert compile_pack(loaded.pack).decide({"x": wire}, dt.date(2026, 6, 1)).output == {"x": value}
    with pytest.raises(InputError) as refused:
        compile_pack(loaded.pack).decide({"x": [value]}, dt.date(2026, 6, 1))
    assert [p.path for p in refused.value.problems] == [("x",)]
