"""Writing a converted pack as YAML that a person would be happy to edit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    pass


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = str(value)
    # a whole number stays an integer; anything else must read back as the same decimal
    return dumper.represent_scalar("tag:yaml.org,2002:int" if value == value.to_integral_value() and "E" not in text and "." not in text else "tag:yaml.org,2002:float", text)


_Dumper.add_representer(Decimal, _decimal)


def render_pack(document: dict[str, Any], unsupported: list[str], header: str = "") -> str:
    notes = "".join(f"# not converted: {item}\n" for item in unsupported)
    return notes + header + yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
