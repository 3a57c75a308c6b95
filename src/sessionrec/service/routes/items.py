"""The catalogue: browse and search (public, for the web page), add or update (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from sessionrec.engine.query import MAX_QUERY_CHARS
from sessionrec.service.auth import authorize_admin
from sessionrec.service.deps import ApiKey, ItemId
from sessionrec.service.errors import ApiError
from sessionrec.service.openapi import (
    ADMIN,
    BODY,
    ITEM_NOT_FOUND,
    PARAMETERS,
    RATE_LIMITED,
    STORE,
    errors,
)
from sessionrec.service.runtime import item_payload
from sessionrec.service.schemas import ItemIn, ItemOut, ItemsOut
from sessionrec.service.state import service_state

router = APIRouter(prefix="/v1/items", tags=["items"])

REFUSED_ITEM = {
    422: "`invalid_request`: the item id is only spaces, or the model cannot take new items "
    "(it was trained without item text).",
}


def item_json(info: Any) -> dict[str, Any]:
    """An engine `ItemInfo` as the API shows it."""
    return {
        "item_id": info.item_id,
        "title": info.title,
        "categories": list(info.categories),
        "attributes": {str(k): str(v) for k, v in dict(info.attributes or {}).items()},
        "text": info.text,
    }


@router.get(
    "",
    response_model=ItemsOut,
    responses=errors(PARAMETERS, RATE_LIMITED),
    summary="Popular items, or a catalogue search",
)
def list_items(
    request: Request,
    query: Annotated[str | None, Query(max_length=MAX_QUERY_CHARS)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    engine = service_state(request).holder.engine
    if query is not None and query.strip():
        found = engine.search(query.strip(), limit=limit)
    else:
        found = engine.popular(limit=limit)
    return JSONResponse({"items": [item_json(i) for i in found]})


@router.get(
    "/{item_id}",
    response_model=ItemOut,
    responses=errors(PARAMETERS, ITEM_NOT_FOUND, RATE_LIMITED),
    summary="One item",
)
def get_item(item_id: ItemId, request: Request) -> Response:
    info = service_state(request).holder.engine.item(item_id)
    if info is None:
        raise ApiError(404, "item_not_found", f"unknown item {item_id!r}")
    return JSONResponse(item_json(info))


@router.put(
    "/{item_id}",
    response_model=ItemOut,
    responses={
        201: {"model": ItemOut, "description": "A new item (200: one replaced)."},
        **errors(BODY, PARAMETERS, REFUSED_ITEM, ADMIN, STORE, RATE_LIMITED),
    },
    summary="Add or update an item (admin)",
)
def put_item(item_id: ItemId, body: ItemIn, request: Request, x_api_key: ApiKey = None) -> Response:
    """The item is encoded at once and recommendable in the next request; it is stored, so it
    survives restarts and reloads. 201 when new, 200 when it replaced an item."""
    state = service_state(request)
    authorize_admin(state.settings.api_key, x_api_key)
    payload = item_payload(item_id, body.title, body.text, body.categories, body.attributes)
    created = state.holder.upsert_item(payload)
    info = state.holder.engine.item(item_id)
    return JSONResponse(
        item_json(info) if info is not None else payload, status_code=201 if created else 200
    )
