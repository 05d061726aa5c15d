"""Converting DMN decision tables into pack YAML.

Covers what the DMN TCK's compliance-level-2 tables use: input data with FEEL types,
decision tables with every hit policy and collect aggregation, unary tests over numbers,
strings, booleans and ranges, single and multiple outputs. Names that are not identifiers
("Approval Status") become identifiers ("Approval_Status"); ``names`` in the result maps
them back. Anything not carried over is reported by element id in ``unsupported``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as safe_xml

from rules.emit import identifier
from rules.parser import ExpressionError, parse_expression
from rules.syntax import Literal

HIT_POLICIES = {
    "UNIQUE": "unique", "FIRST": "first", "PRIORITY": "priority", "ANY": "any", "COLLECT": "collect",
    "RULE ORDER": "rule_order", "OUTPUT ORDER": "output_order",
}
TYPES = {"number": "decimal", "string": "string", "boolean": "boolean", "date": "date"}


@dataclass
class DmnPack:
    document: dict[str, Any]  # the model's pack; a flow when decisions require decisions
    names: dict[str, str] = field(default_factory=dict)  # DMN name -> pack identifier
    unsupported: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)  # a flow's step packs: one per decision

    @property
    def documents(self) -> list[dict[str, Any]]:
        return [*self.steps, self.document]


def _ns(root: ET.Element) -> str:
    return root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""


def _text(element: ET.Element | None, ns: str) -> str | None:
    if element is None:
        return None
    node = element.find(f"{ns}text")
    return node.text.strip() if node is not None and node.text is not None else None


def _literal_list(text: str | None) -> list[Any] | None:
    if not text:
        return None
    values = []
    for part in re.findall(r'"((?:[^"\\]|\\.)*)"|([^,\s][^,]*)', text):
        values.append(part[0] if part[0] or not part[1] else _scalar(part[1].strip()))
    return values


def _scalar(text: str) -> Any:
    try:
        node = parse_expression(text)
    except ExpressionError:
        return text
    return node.value if isinstance(node, Literal) else text


def _output_cell(text: str) -> Any:
    try:
        node = parse_expression(text)
    except ExpressionError:
        return "=" + text
    if isinstance(node, Literal):
        value = node.value
        return value
    return "=" + text


def convert(path: Path) -> DmnPack:
    root = safe_xml.parse(path).getroot()
    ns = _ns(root)
    names: dict[str, str] = {}
    unsupported: list[str] = []
    inputs: dict[str, Any] = {}
    by_id: dict[str, str] = {}  # element id -> identifier, for requirement hrefs
    requires: dict[str, list[str]] = {}  # decision identifier -> identifiers it requires, in source order
    for data in root.iter(f"{ns}inputData"):
        by_id[data.get("id", "")] = identifier(data.get("name", ""))
        name = data.get("name", "")
        variable = data.find(f"{ns}variable")
        type_ref = variable.get("typeRef") if variable is not None else None
        kind = TYPES.get(type_ref or "")
        if kind is None:
            unsupported.append(f"inputData {data.get('id')}: type {type_ref!r}")
            kind = "string"
        names[name] = identifier(name)
        inputs[identifier(name)] = {"type": kind, "optional": True}
    tables: list[dict[str, Any]] = []
    outputs: dict[str, Any] = {}
    for decision in root.iter(f"{ns}decision"):
        table = decision.find(f"{ns}decisionTable")
        decision_name = decision.get("name", "")
        if table is None:
            unsupported.append(f"decision {decision.get('id')}: only decision tables are converted")
            continue
        result_name = identifier(decision_name)
        names[decision_name] = result_name
        by_id[decision.get("id", "")] = result_name
        requires[result_name] = [(ref.get("href") or "").lstrip("#") for requirement in decision.findall(f"{ns}informationRequirement")
                                 for ref in requirement if ref.tag in (f"{ns}requiredInput", f"{ns}requiredDecision")]
        policy_text = table.get("hitPolicy", "UNIQUE")
        policy = HIT_POLICIES.get(policy_text)
        if policy is None:
            unsupported.append(f"decisionTable {table.get('id')}: hit policy {policy_text!r}")
            continue
        aggregation = table.get("aggregation")
        columns: list[str] = []
        for input_element in table.findall(f"{ns}input"):
            expr = _text(input_element.find(f"{ns}inputExpression"), ns) or ""
            for dmn_name, ident in names.items():
                if dmn_name != ident:
                    expr = expr.replace(dmn_name, ident)
            columns.append(expr)
        out_elements = table.findall(f"{ns}output")
        multi_output = len(out_elements) > 1
        out_names: list[str] = []
        out_kinds: list[str] = []
        output_values: dict[str, list[Any]] = {}
        for element in out_elements:
            name = (element.get("name") if multi_output else None) or decision_name
            ident = identifier(name)
            names[name] = ident
            out_names.append(ident)
            out_kinds.append(TYPES.get(element.get("typeRef") or table.get("typeRef") or "", ""))
            values = _literal_list(_text(element.find(f"{ns}outputValues"), ns))
            if values is not None:
                output_values[ident] = values
        rows: list[dict[str, Any]] = []
        for rule in table.findall(f"{ns}rule"):
            # the source's rule id, kept stable (DMN tools prefix '_', which a row id may not start with)
            raw_id = re.sub(r"[^A-Za-z0-9_.\-]", "_", rule.get("id") or "").lstrip("_.-")
            rule_id = raw_id or f"r{len(rows) + 1}"
            when: dict[str, str] = {}
            for column, cell in zip(columns, rule.findall(f"{ns}inputEntry"), strict=False):
                test = _text(cell, ns) or "-"
                if test != "-":
                    when[column] = test
            then: dict[str, Any] = {}
            for out_name, cell in zip(out_names, rule.findall(f"{ns}outputEntry"), strict=False):
                then[out_name] = _output_cell(_text(cell, ns) or "null")
            rows.append({"id": rule_id, "when": when, "then": then})
        kinds = [k or _infer_kind([r["then"][n] for r in rows]) for k, n in zip(out_kinds, out_names, strict=True)]
        spec: dict[str, Any] = {"id": result_name,
                                "hit_policy": policy, "inputs": columns, "outputs": out_names, "rows": rows}
        if aggregation:
            spec["aggregation"] = aggregation.lower()
        if output_values and policy in ("priority", "output_order"):
            spec["output_values"] = output_values
        multi_hit = policy in ("collect", "rule_order", "output_order") and not aggregation
        if multi_output:
            spec["result"] = result_name
            fields = {n: {"type": k, "optional": True} for n, k in zip(out_names, kinds, strict=True)}
            if multi_hit:
                outputs[result_name] = {"type": "list", "items": fields}
            else:
                outputs[result_name] = {"type": "object", "fields": fields, "optional": True}
        else:
            kind = kinds[0]
            if aggregation == "COUNT":
                kind = "integer"
            if multi_hit:
                outputs[out_names[0]] = {"type": "list", "of": kind}
            else:
                outputs[out_names[0]] = {"type": kind, "optional": True}
        tables.append(spec)
    document = {
        "pack": _pack_name(path.stem),
        "version": "1.0.0",
        "description": f"Converted from {path.name}",
        "owner": "dmn-import",
        "inputs": inputs,
        "tables": tables,
        "outputs": outputs,
    }
    required = {name: [by_id[ref] for ref in refs if ref in by_id] for name, refs in requires.items()}
    decided = {t["id"] for t in tables}
    if any(ref in decided for refs in required.values() for ref in refs):
        return _as_flow(document, path.name, required, names, unsupported)
    return DmnPack(document, names, unsupported)


def _as_flow(model: dict[str, Any], source: str, required: dict[str, list[str]], names: dict[str, str],
             unsupported: list[str]) -> DmnPack:
    """A requirements graph: a pack per decision, and a flow that runs them in dependency order."""
    tables = {t["id"]: t for t in model["tables"]}
    order: list[str] = []
    cycles: list[str] = []

    def visit(decision: str, path: tuple[str, ...]) -> None:
        if decision in path:
            cycles.append(f"decision {decision}: its requirements lead back to it ({' -> '.join((*path, decision))})")
            return
        if decision in order:
            return
        for ref in required.get(decision, []):
            if ref in tables:
                visit(ref, (*path, decision))
        order.append(decision)

    for decision in tables:
        visit(decision, ())
    if cycles:  # not a valid requirements graph: report it, keep the tables as one pack
        return DmnPack(model, names, [*unsupported, *dict.fromkeys(cycles)])
    outputs = model["outputs"]
    written_as = {ident: name for name, ident in names.items()}
    steps, flow_steps = [], []
    for decision in order:
        table = tables[decision]
        own = [table["result"]] if table.get("result") else table["outputs"]
        needs = required.get(decision, [])
        step_inputs = {n: model["inputs"][n] for n in needs if n in model["inputs"]}
        step_inputs.update((n, {**outputs[n], "optional": True}) for n in needs if n in tables)
        steps.append({"pack": f"{model['pack']}_{decision.lower()}", "version": "1.0.0",
                      "description": f"decision '{written_as.get(decision, decision)}' of {source}",
                      "owner": model["owner"], "inputs": step_inputs, "tables": [table],
                      "outputs": {n: outputs[n] for n in own}})
        flow_steps.append({"id": decision, "pack": steps[-1]["pack"],
                           "inputs": {n: (f"{n}.{n}" if n in tables else n) for n in needs}})
    flow = {
        "pack": model["pack"], "version": "1.0.0", "kind": "flow",
        "description": f"{model['description']}: its decision requirements graph, one step per decision",
        "owner": model["owner"], "inputs": model["inputs"], "steps": flow_steps,
        "outputs": {n: {**spec, "value": f"{step['id']}.{n}"} for step, pack in zip(flow_steps, steps, strict=True)
                    for n, spec in pack["outputs"].items()},
    }
    return DmnPack(flow, names, unsupported, steps)


def _pack_name(stem: str) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", stem.lower()).strip("_") or "dmn"
    return name if name[0].isalpha() else f"dmn_{name}"


def _infer_kind(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, (int, Decimal)) and not isinstance(v, bool) for v in values):
        return "decimal"
    return "string"


TC = "{http://www.omg.org/spec/DMN/20160719/testcase}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def tck_value(element: ET.Element | None, names: dict[str, str]) -> Any:
    """A value of a DMN TCK test case (scalar, context of components, or list)."""
    if element is None:
        return None
    value = element.find(f"{TC}value")
    if value is not None:
        if value.get(f"{XSI}nil") == "true":
            return None
        kind, text = value.get(f"{XSI}type", "xsd:string"), value.text or ""
        if kind == "xsd:decimal":
            return Decimal(text)
        if kind == "xsd:boolean":
            return text == "true"
        if kind == "xsd:date":
            import datetime as dt

            return dt.date.fromisoformat(text)
        return text
    components = element.findall(f"{TC}component")
    if components:
        return {names.get(c.get("name", ""), c.get("name")): tck_value(c, names) for c in components}
    listed = element.find(f"{TC}list")
    if listed is not None:
        return [tck_value(item, names) for item in listed.findall(f"{TC}item")]
    return None


def tck_cases(root: ET.Element, names: dict[str, str]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(case id, pack input, expected outputs) of a DMN TCK test file, with names as identifiers."""
    out = []
    for case in root.findall(f"{TC}testCase"):
        inputs = {names[n.get("name", "")]: tck_value(n, names) for n in case.findall(f"{TC}inputNode")}
        expected = {names[r.get("name", "")]: tck_value(r.find(f"{TC}expected"), names) for r in case.findall(f"{TC}resultNode")}
        out.append((case.get("id", ""), inputs, expected))
    return out
