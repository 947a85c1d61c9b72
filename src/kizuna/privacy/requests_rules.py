"""Data subject requests: deadlines, lateness and the export archive's layout. Pure.

Deadlines count calendar days from the request (GDPR art. 12(3): one month, written here as
30 days; APPI: "without delay", configured; CCPA: 45 days), from ``settings.privacy``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson

from kizuna.config import PrivacySettings

KINDS = ("export", "erasure", "suppression")
REGULATIONS = ("gdpr", "appi", "ccpa")
STATUSES = ("pending", "running", "completed", "failed")
OPEN_STATUSES = ("pending", "running")
ARCHIVE_FORMAT = "kizuna-export/1"


def deadline_days(regulation: str, settings: PrivacySettings) -> int:
    days: int = getattr(settings, f"deadline_days_{regulation}")
    return days


def deadline(created_at: datetime, regulation: str, settings: PrivacySettings) -> datetime:
    return created_at + timedelta(days=deadline_days(regulation, settings))


def overdue(status: str, deadline_at: datetime, now: datetime) -> bool:
    """A request not yet honoured (open or failed) after its deadline."""
    return status != "completed" and now > deadline_at


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


def archive(manifest: Mapping[str, Any], files: Mapping[str, Any]) -> bytes:
    """A zip of ``manifest.json`` and every file: ``.jsonl`` one record a line, else JSON."""
    counts = file_counts(files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(
            "manifest.json", _json({"format": ARCHIVE_FORMAT, **manifest, "files": counts})
        )
        for name, content in sorted(files.items()):
            if name.endswith(".jsonl"):
                data = b"".join(
                    orjson.dumps(item, option=orjson.OPT_NON_STR_KEYS) + b"\n" for item in content
                )
            else:
                data = _json(content)
            zipped.writestr(name, data)
    return buffer.getvalue()


def file_counts(files: Mapping[str, Any]) -> dict[str, int]:
    return {n: len(c) if isinstance(c, list) else 1 for n, c in sorted(files.items())}
