from __future__ import annotations

from pydantic import BaseModel


class ProductOut(BaseModel):
    sku: str
    name_ja: str
    name_en: str
    category: str
    price_jpy: int


class ProductList(BaseModel):
    items: list[ProductOut]


class LocationOut(BaseModel):
    code: str
    kind: str
    name_ja: str
    name_en: str
    prefecture: str


class LocationList(BaseModel):
    items: list[LocationOut]
