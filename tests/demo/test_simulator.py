from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest

from kizuna.db import Database
from kizuna.demo.catalog import generate_people
from kizuna.demo.seed import seed_retailer
from kizuna.demo.simulator import Simulator
from kizuna.sources.service import list_sources
from tests.conftest import LiveServer, free_port
from tests.factories import make_api_key

CHANNELS = {"web", "app", "store", "call_center", "email", "line"}


@pytest.fixture
def write_keys(db: Database) -> dict[str, str]:
    with db.write() as session:
        keys = seed_retailer(session)
        session.commit()
    return keys


def _all_events(url: str, api_key: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 1000}
    while True:
        page = httpx.get(
            f"{url}/api/v1/events", params=params, headers={"Authorization": f"Bearer {api_key}"}
        ).json()
        events += page["items"]
        if page["next_before"] is None:
            return events
        params["before"] = page["next_before"]


def test_backfill_sends_one_identify_per_person_through_the_import_source(
    live_server: LiveServer, db: Database, write_keys: dict[str, str]
) -> None:
    people = generate_people(50, seed=5)
    simulator = Simulator(live_server.url, write_keys, people, seed=5, backfill_batch=20)

    landed = simulator.backfill()
    simulator.close()

    events = _all_events(live_server.url, make_api_key(db))
    assert landed == 50
    assert sorted((e["type"], e["user_id"], e["channel"]) for e in events) == sorted(
        ("identify", p.user_id, "import") for p in people
    )


def test_a_bounded_run_lands_every_event_stamped_with_its_sources_channel(
    live_server: LiveServer, db: Database, write_keys: dict[str, str]
) -> None:
    simulator = Simulator(
        live_server.url,
        write_keys,
        generate_people(50, seed=5),
        rate=100,
        seed=5,
        flush_interval=0.2,
    )

    emitted = simulator.run(max_events=150)
    simulator.close()

    stored = _all_events(live_server.url, make_api_key(db))
    with db.read() as session:
        kind_of = {s.id: s.kind for s in list_sources(session)}
    # (identity resolution adds profile.merged / profile.split from the system source)
    events = [e for e in stored if e["source_id"] != "kizuna"]
    system = {e["name"] for e in stored if e["source_id"] == "kizuna"}
    assert system <= {"profile.merged", "profile.split"}
    assert (emitted, simulator.sent.total(), simulator.failed.total()) == (150, 150, 0)
    assert len(events) == 150
    assert [e for e in events if e["channel"] != kind_of[e["source_id"]]] == []
    assert {e["channel"] for e in events} == CHANNELS
    assert {e["payload"]["context"]["library"]["name"] for e in events} == {"kizuna-demo"}


# --- retries, against a real HTTP receiver on loopback ----------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    """Answers /v1/batch with the scripted statuses, then 200; records every request."""

    script: ClassVar[list[tuple[int, dict[str, str]]]] = []
    seen: ClassVar[list[int]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        status, headers = self.script.pop(0) if self.script else (200, {})
        self.seen.append(status)
        body = b'{"success": true}' if status == 200 else b'{"error": {"code": "x"}}'
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"script": [], "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _one_message() -> list[dict[str, Any]]:
    return [{"type": "track", "userId": "km-000001", "event": "Store Visited", "messageId": "m-1"}]


def test_a_batch_is_retried_after_429_and_5xx_until_acknowledged(
    receiver: tuple[str, type[_Receiver]],
) -> None:
    url, handler = receiver
    handler.script += [(429, {"Retry-After": "0"}), (503, {"Retry-After": "0"})]
    simulator = Simulator(url, {"store": "wk_test"}, generate_people(1))

    acknowledged = simulator.send("store", _one_message())

    assert acknowledged is True
    assert handler.seen == [429, 503, 200]
    assert (simulator.sent["store"], simulator.failed.total()) == (1, 0)


def test_a_rejected_batch_is_not_retried(receiver: tuple[str, type[_Receiver]]) -> None:
    url, handler = receiver
    handler.script += [(400, {})]
    simulator = Simulator(url, {"store": "wk_test"}, generate_people(1))

    acknowledged = simulator.send("store", _one_message())

    assert acknowledged is False
    assert handler.seen == [400]
    assert simulator.failed["store"] == 1


def test_stop_ends_a_run_whose_server_is_unreachable() -> None:
    simulator = Simulator(
        f"http://127.0.0.1:{free_port()}",
        {"web": "wk"},
        generate_people(10),
        rate=50,
        flush_interval=0.05,
    )
    runner = threading.Thread(target=simulator.run)
    runner.start()

    simulator.stop()
    runner.join(timeout=10)

    assert not runner.is_alive()
