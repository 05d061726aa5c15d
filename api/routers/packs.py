"""What is served: every pack and its versions, and one pack's windows, digests and JSON Schemas."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from api.routers import respond
from api.service import Service
from engine.compiled import CompiledPack
from rules.schema import field_schema, object_schema


def pack_summary(pack: CompiledPack) -> dict[str, Any]:
    ir = pack.ir
    return {
        "pack": ir.name,
        "version": ir.version,
        "kind": ir.kind,
        "digest": ir.digest,
        "description": ir.description,
        "owner": ir.owner,
        "effective_from": ir.effective_from,
        "effective_to": ir.effective_to,
    }


def pack_detail(pack: CompiledPack) -> dict[str, Any]:
    ir = pack.ir
    out = pack_summary(pack)
    out["input_schema"] = object_schema({f.name: f.spec for f in ir.inputs})
    out["output_schema"] = {"type": "object", "properties": {f.name: field_schema(f.spec) for f in ir.outputs}}
    out["tables"] = [{"id": t.id, "hit_policy": t.hit_policy, "rows": [r.id for r in t.rows]} for t in ir.tables]
    return out


def router(service: Service) -> APIRouter:
    routes = APIRouter()

    @routes.get("/v1/packs", summary="Packs and their versions", tags=["packs"])
    async def list_packs() -> Response:
        packs = service.packs
        return respond({"packs": [{"pack": name, "versions": [pack_summary(p) for p in packs.versions(name)]}
                                  for name in packs.names()]})

    @routes.get("/v1/packs/{pack}", summary="One pack: versions, windows, digests, JSON Schemas", tags=["packs"])
    async def get_pack(pack: str) -> Response:
        return respond({"pack": pack, "versions": [pack_detail(p) for p in service.packs.versions(pack)]})

    return routes
