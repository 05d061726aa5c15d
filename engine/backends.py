"""The backends a pack can be compiled on, by name (``arbiter serve --backend``, a replay's ``--backend``)."""

from __future__ import annotations

from engine.backend import NATIVE, Backend
from engine.durable import DURABLE

BACKENDS: dict[str, Backend] = {backend.name: backend for backend in (NATIVE, DURABLE)}
