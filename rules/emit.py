"""Writing a converted pack as YAML that a person would be happy to edit."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import yaml


def identifier(name: str) -> str:
    """A pack name for a source's name: 'Approval Status' -> 'Approval_Status'."""
    text = re.sub(r"[^A-Za-z0-9_]+", "_", name.strip()).strip("_")
    if not text or not text[0].isalpha():
        text = "x_" + text
    return text[:60]


class _Dumper(yaml.SafeDumper):
    pass


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = format(value, "f")  # never an exponent, which YAML would not read back as a number
    return dumper.represent_scalar("tag:yaml.org,2002:float" if "." in text else "tag:yaml.org,2002:int", text)


_Dumper.add_representer(Decimal, _decimal)


def render_pack(document: dict[str, Any], unsupported: list[str], header: str = "") -> str:
    notes = "".join(f"# not converted: {item}\n" for item in unsupported)
    return notes + header + yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
