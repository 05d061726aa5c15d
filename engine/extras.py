"""Optional dependencies, imported when a feature needs them: the service installs without them.

``pip install 'arbiter[durable]'`` brings durable-rules (the second matching backend, a C
build that does not import on Python 3.13); ``arbiter[simulate]`` brings pyarrow (Parquet
orders for the replay). ``scripts/setup`` installs both.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from rules.errors import FeatureDisabled

EXTRAS = {"durable_rules_engine": "durable", "pyarrow": "simulate"}


def require(module: str, purpose: str) -> ModuleType:
    """``module``, or a FeatureDisabled naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.partition(".")[0]
        raise FeatureDisabled(f"{purpose} needs {package}, which is not installed: "
                              f"pip install 'arbiter[{EXTRAS[package]}]' (scripts/setup installs it)") from None
