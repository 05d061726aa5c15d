"""The backend seam: what turns a pack's IR into the function that decides.

A ``Backend`` compiles a ``PackIR`` into an ``Evaluator``: ``evaluate(values, as_of[, run_step])``
giving ``(output, matched, reasons)``. The native backend generates Python from the IR
(engine.codegen) and loads it into the sandboxed namespace (engine.runtime); durable_rules
(engine.durable) is the second implementation. ``engine.backends.BACKENDS`` names them; the
suite holds every backend to the native one through this interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from engine.codegen import generate
from engine.demand import Wanted
from engine.runtime import NAMESPACE
from rules.errors import ArbiterError
from rules.ir import PackIR

Evaluate = Callable[..., tuple[dict[str, Any], dict[str, list[str]], list[str]]]


class BackendRefused(ArbiterError):
    code = "backend-refused"

    def __init__(self, pack: str, reasons: list[str], backend: str) -> None:
        super().__init__(f"the {backend} backend cannot run {pack}: " + "; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class Evaluator:
    evaluate: Evaluate
    source: str  # the generated Python, for tests, traces and profiles


class Backend(ABC):
    name: ClassVar[str]

    @abstractmethod
    def evaluator(self, ir: PackIR, *, outputs: Wanted = None, traced: bool = False) -> Evaluator:
        """The evaluator of ``ir``; ``outputs`` the outputs the caller reads (others may be left out), ``traced`` one that logs.

        Raises ``BackendRefused``, naming every reason, for a pack this backend cannot run.
        """


def load(source: str, constants: dict[str, Any], key: str) -> Evaluate:
    """Execute generated source in the runtime namespace and return its ``evaluate``."""
    namespace = dict(NAMESPACE)
    namespace.update(constants)
    # The pack's key as the file name: tracebacks and profiles then say which pack version ran.
    code = compile(source, f"<arbiter pack {key}>", "exec")
    exec(code, namespace)  # noqa: S102 - source generated from checked IR, no user text as code
    evaluate: Evaluate = namespace["evaluate"]
    return evaluate


class NativeBackend(Backend):
    """Generated Python: a first-hit table as an if/elif chain, the rest from the matching rows."""

    name = "native"

    def evaluator(self, ir: PackIR, *, outputs: Wanted = None, traced: bool = False) -> Evaluator:
        source, constants = generate(ir, outputs=outputs, traced=traced)
        return Evaluator(load(source, constants, ir.key), source)


NATIVE = NativeBackend()
