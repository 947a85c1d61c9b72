"""``/api/v1/catalog``: products and locations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from kizuna.auth.dependencies import RequireScope
from kizuna.auth.service import Principal
from kizuna.catalog import service
from kizuna.catalog.schemas import LocationList, LocationOut, ProductList, ProductOut
from kizuna.db import ReadSessionDep

router = APIRouter(prefix="/catalog", tags=["catalog"])

CanRead = Annotated[Principal, Depends(RequireScope("catalog:read"))]


@router.get("/products", response_model=ProductList)
def list_products(
    _: CanRead,
    session: ReadSessionDep,
    category: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> ProductList:
    """Products with their Japanese and English names."""
    items = [
        ProductOut.model_validate(p, from_attributes=True)
        for p in service.list_products(session, category, limit)
    ]
    return ProductList(items=items)


@router.get("/locations", response_model=LocationList)
def list_locations(_: CanRead, session: ReadSessionDep) -> LocationList:
    """Stores and warehouses."""
    items = [
        LocationOut.model_validate(x, from_attributes=True) for x in service.list_locations(session)
    ]
    return LocationList(items=items)
