"""The server-rendered web console (Japanese and English)."""

from __future__ import annotations

from fastapi import FastAPI


def mount_console(app: FastAPI) -> None:
    """Attach the console's routes and static files (filled in by console/views_*)."""
    return None
