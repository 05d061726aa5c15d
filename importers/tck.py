"""Reading DMN TCK test files: each case's input values and expected results, as pack values."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rules import temporal
from rules.emit import identifier

TC = "{http://www.omg.org/spec/DMN/20160719/testcase}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


class NotConverted(Exception):
    """A TCK value with no pack counterpart (a year past 9999, a time in a named zone)."""


def tck_value(element: ET.Element | None) -> Any:
    """A value of a DMN TCK test case (scalar, context of components, or list)."""
    if element is None:
        return None
    value = element.find(f"{TC}value")
    if value is not None:
        if value.get(f"{XSI}nil") == "true":
            return None
        kind, text = value.get(f"{XSI}type", "xsd:string"), value.text or ""
        kind = kind.rsplit(":", 1)[-1]
        if kind in ("decimal", "int", "integer", "long", "double"):
            try:
                return Decimal(text)
            except InvalidOperation:
                raise NotConverted(f"the number {text!r}") from None
        if kind == "boolean":
            return text == "true"
        if kind == "date":
            try:
                return dt.date.fromisoformat(text)
            except ValueError:  # years before 1 or after 9999
                raise NotConverted(f"the date {text!r}") from None
        if kind == "string":
            return text
        if kind in TEMPORAL_READERS:
            return _temporal(kind, text.strip())
        raise NotConverted(f"a value of type {kind!r}")
    components = element.findall(f"{TC}component")
    if components:
        return {identifier(c.get("name", "")): tck_value(c) for c in components}
    listed = element.find(f"{TC}list")
    if listed is not None:
        return [tck_value(item) for item in listed.findall(f"{TC}item")]
    return None


# XML Schema's temporal types as the TCK writes them, read as FEEL reads the same text
TEMPORAL_READERS = {"time": temporal.parse_time, "dateTime": temporal.parse_date_time, "duration": temporal.parse_duration,
                    "dayTimeDuration": temporal.parse_days_time, "yearMonthDuration": temporal.parse_years_months}


def _temporal(kind: str, text: str) -> Any:
    try:
        found = TEMPORAL_READERS[kind](text)
    except temporal.TemporalUnsupported as exc:
        raise NotConverted(str(exc)) from None
    if found is None:
        raise NotConverted(f"the {kind} {text!r}")
    return found


@dataclass
class Case:
    """One test case: its inputs and expected results by DMN name, and why it cannot run, if so."""

    id: str
    inputs: dict[str, Any]
    expected: dict[str, Any]
    errors: dict[str, bool]  # result name -> whether the TCK expects an error
    problem: str | None = None


def tck_cases(root: ET.Element) -> list[Case]:
    """The cases of a DMN TCK test file, values converted; a case with a value of no pack type says so."""
    out = []
    for case in root.findall(f"{TC}testCase"):
        try:
            inputs = {n.get("name", ""): tck_value(n) for n in case.findall(f"{TC}inputNode")}
            results = case.findall(f"{TC}resultNode")
            expected = {r.get("name", ""): tck_value(r.find(f"{TC}expected")) for r in results}
            errors = {r.get("name", ""): r.get("errorResult") == "true" for r in results}
            problem = None
            if case.get("type", "decision") != "decision":
                problem = f"the case invokes {case.get('type')} {case.get('invocableName')!r}, which is not converted"
            out.append(Case(case.get("id", ""), inputs, expected, errors, problem))
        except NotConverted as exc:
            out.append(Case(case.get("id", ""), {}, {}, {}, f"{exc}"))
    return out
