"""Ready-to-paste code that sends a first event with a source's write key (no I/O)."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Snippet:
    id: str  # python | curl | fetch
    label: str  # catalog key
    code: str


EXAMPLE_USER = "user-123"
EXAMPLE_EVENT = "Order Completed"
EXAMPLE_PROPERTIES = {"order_id": "A-1001", "total": 4980, "currency": "JPY"}


def source_snippets(write_key: str, base_url: str) -> list[Snippet]:
    base = base_url.rstrip("/")
    body = json.dumps(
        {"userId": EXAMPLE_USER, "event": EXAMPLE_EVENT, "properties": EXAMPLE_PROPERTIES},
        ensure_ascii=False,
    )
    python = (
        "import segment.analytics as analytics\n"
        "\n"
        f"analytics.write_key = {write_key!r}\n"
        f"analytics.host = {base!r}\n"
        "\n"
        f"analytics.track({EXAMPLE_USER!r}, {EXAMPLE_EVENT!r}, {EXAMPLE_PROPERTIES!r})\n"
        "analytics.flush()\n"
    )
    curl = (
        f"curl -X POST '{base}/v1/track' \\\n"
        f"  -u '{write_key}:' \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d '{body}'\n"
    )
    fetch = (
        f"await fetch('{base}/v1/track', {{\n"
        "  method: 'POST',\n"
        "  headers: {\n"
        "    'Content-Type': 'application/json',\n"
        f"    Authorization: 'Basic ' + btoa('{write_key}:'),\n"
        "  },\n"
        f"  body: JSON.stringify({body}),\n"
        "});\n"
    )
    return [
        Snippet("python", "snippet.python", python),
        Snippet("curl", "snippet.curl", curl),
        Snippet("fetch", "snippet.fetch", fetch),
    ]
