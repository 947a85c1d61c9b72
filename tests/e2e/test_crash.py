"""SIGKILL while clients send: every acknowledged event survives, exactly once.

Four client threads post batches with their own messageIds. The server is killed with SIGKILL
(no shutdown hook runs) three times while requests are in flight and restarted on the same
database each time. The test keeps every messageId that got a 200 and checks them all; then the
clients resend everything, as Segment's libraries retry, and still each event is stored once.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import httpx

from kizuna.db import Database
from tests.conftest import LiveServer
from tests.factories import make_source
from tests.support import eventually, rows, scalar

CLIENTS = 4
BATCH = 50
KILLS = 3


class Sender(threading.Thread):
    """Posts numbered batches until stopped; remembers what was sent and what was acknowledged."""

    def __init__(self, url: str, write_key: str, client: int) -> None:
        super().__init__(daemon=True)
        self.url, self.write_key, self.client = url, write_key, client
        self.sent: list[list[str]] = []
        self.acked: list[str] = []
        self.stop = threading.Event()

    def batch(self, number: int) -> list[str]:
        return [f"c{self.client}-b{number}-e{i}" for i in range(BATCH)]

    def post(self, ids: list[str]) -> bool:
        body = {
            "batch": [
                {
                    "type": "track",
                    "event": "Product Viewed",
                    "messageId": m,
                    "anonymousId": f"device-{self.client}",
                }
                for m in ids
            ]
        }
        try:
            response = httpx.post(
                f"{self.url}/v1/batch", json=body, auth=(self.write_key, ""), timeout=10
            )
        except httpx.HTTPError:
            return False  # the server died under this request: not acknowledged
        return response.status_code == 200

    def run(self) -> None:
        number = 0
        while not self.stop.is_set():
            ids = self.batch(number)
            self.sent.append(ids)
            if self.post(ids):
                self.acked.extend(ids)
            else:
                self.stop.wait(0.1)  # a client's retry backoff while the server is down
            number += 1


def _stored(db: Database, source_id: str) -> Counter[str]:
    return Counter(
        m for (m,) in rows(db, "SELECT message_id FROM events WHERE source_id = :s", s=source_id)
    )


def test_every_acknowledged_event_survives_repeated_sigkills_exactly_once(
    live_server: LiveServer, db: Database, tmp_path: Path
) -> None:
    # Given clients sending batches to a live server
    source = make_source(db, name="crash-web", kind="web")
    senders = [Sender(live_server.url, source.write_key, c) for c in range(CLIENTS)]
    for sender in senders:
        sender.start()

    # When the server is killed with SIGKILL mid-stream, several times, and restarted
    for kill in range(KILLS):
        floor = sum(len(s.acked) for s in senders) + CLIENTS * BATCH
        eventually(
            lambda floor=floor: sum(len(s.acked) for s in senders) >= floor,
            what=f"acknowledgements before kill {kill + 1}",
        )
        live_server.kill()
        live_server.start()
    for sender in senders:
        sender.stop.set()
    for sender in senders:
        sender.join(timeout=30)

    # Then every acknowledged messageId is stored exactly once
    acked = [m for s in senders for m in s.acked]
    stored = _stored(db, source.id)
    assert len(acked) >= KILLS * CLIENTS * BATCH
    assert [m for m in acked if stored[m] != 1] == []
    assert [m for m, n in stored.items() if n > 1] == []

    # And when the clients resend every batch (acknowledged or not), each event is still once
    for sender in senders:
        for ids in sender.sent:
            assert sender.post(ids)
    every = {m for s in senders for ids in s.sent for m in ids}
    stored = _stored(db, source.id)
    assert set(stored) == every
    assert set(stored.values()) == {1}
    duplicates = scalar(
        db,
        "SELECT SUM(count) FROM ingest_tallies WHERE source_id = :s AND outcome = 'duplicate'",
        s=source.id,
    )
    assert duplicates >= len(acked)
