"""Kizuna's own API under ``/api/v1``: one include_router per domain, nothing else."""

from __future__ import annotations

from fastapi import APIRouter

from kizuna.catalog.endpoints import router as catalog_router
from kizuna.identity.endpoints import router as identity_router
from kizuna.ingestion.admin_endpoints import router as ingestion_router
from kizuna.matching.endpoints import router as matching_router
from kizuna.openapi import API_ERRORS
from kizuna.pipeline.endpoints import router as pipeline_router
from kizuna.privacy.audit_endpoints import router as audit_router
from kizuna.privacy.consent_endpoints import router as consent_router
from kizuna.privacy.personal_fields_endpoints import router as personal_fields_router
from kizuna.privacy.requests_endpoints import router as privacy_requests_router
from kizuna.profiles.endpoints import router as profiles_router
from kizuna.segments.endpoints import router as segments_router
from kizuna.sources.endpoints import router as sources_router

api_router = APIRouter(prefix="/api/v1", responses=API_ERRORS)
api_router.include_router(sources_router)
api_router.include_router(pipeline_router)
api_router.include_router(ingestion_router)
api_router.include_router(catalog_router)
api_router.include_router(profiles_router)
api_router.include_router(consent_router)
api_router.include_router(audit_router)
api_router.include_router(privacy_requests_router)
api_router.include_router(personal_fields_router)
api_router.include_router(matching_router)
api_router.include_router(identity_router)
api_router.include_router(segments_router)
