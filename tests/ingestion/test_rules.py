"""Pure ingestion rules: clock-skew correction, partitioning, channel stamping, normalisation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kizuna.ingestion.rules import (
    CHANNEL_OVERRIDE_KINDS,
    SOURCE_KINDS,
    EventTooLarge,
    LogEntry,
    build_entry,
    corrected_timestamp,
    partition_for,
    routing_key,
    stamp_channel,
)

RECEIVED = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)
JST = timezone(timedelta(hours=9))

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets
)


def entry(raw: dict[str, Any], **overrides: Any) -> LogEntry:
    arguments: dict[str, Any] = {
        "message_type": "track",
        "name": raw.get("event"),
        "sent_at": None,
        "original_timestamp": None,
        "batch_context": None,
        "received_at": RECEIVED,
        "source_id": "src_1",
        "source_kind": "web",
        "partitions": 4,
        "max_event_bytes": 32 * 1024,
    }
    arguments.update(overrides)
    return build_entry(raw, **arguments)


# --- clock-skew correction -------------------------------------------------------------------


def test_a_skewed_device_clock_is_corrected_by_the_send_delay() -> None:
    # Given a device whose clock is 1 h behind: it stamped the event, then sent it 5 s later
    original = datetime(2026, 1, 1, 11, 0, 0, tzinfo=UTC)
    sent = datetime(2026, 1, 1, 11, 0, 5, tzinfo=UTC)

    corrected = corrected_timestamp(RECEIVED, sent, original)

    assert corrected == datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC)


@given(received=moments, sent=moments, original=moments)
def test_the_corrected_timestamp_keeps_the_devices_send_delay(
    received: datetime, sent: datetime, original: datetime
) -> None:
    corrected = corrected_timestamp(received, sent, original)

    assert corrected - received == original - sent


def test_without_sent_at_the_original_timestamp_stands() -> None:
    original = datetime(2026, 1, 1, 20, 0, 0, tzinfo=JST)

    corrected = corrected_timestamp(RECEIVED, None, original)

    assert corrected == datetime(2026, 1, 1, 11, 0, 0, tzinfo=UTC)
    assert corrected.tzinfo == UTC


def test_without_a_timestamp_the_event_happened_when_received() -> None:
    sent = datetime(2020, 1, 1, tzinfo=UTC)

    assert corrected_timestamp(RECEIVED, sent, None) == RECEIVED


def test_a_naive_timestamp_is_read_as_utc() -> None:
    corrected = corrected_timestamp(RECEIVED, None, datetime(2026, 1, 1, 9, 30))

    assert corrected == datetime(2026, 1, 1, 9, 30, tzinfo=UTC)


def test_a_naive_sent_at_is_read_as_utc() -> None:
    original = datetime(2026, 1, 1, 9, 0, 0, tzinfo=UTC)

    corrected = corrected_timestamp(RECEIVED, datetime(2026, 1, 1, 9, 0, 10), original)

    assert corrected == datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_the_payload_keeps_original_sent_corrected_and_received_times() -> None:
    built = entry(
        {"userId": "u1", "event": "Viewed"},
        original_timestamp=datetime(2026, 1, 1, 11, 0, 0, tzinfo=UTC),
        sent_at=datetime(2026, 1, 1, 11, 0, 5, tzinfo=UTC),
    )

    payload = orjson.loads(built.payload)
    assert (
        payload["originalTimestamp"],
        payload["sentAt"],
        payload["timestamp"],
        payload["receivedAt"],
    ) == (
        "2026-01-01T11:00:00.000Z",
        "2026-01-01T11:00:05.000Z",
        "2026-01-01T12:00:05.000Z",
        "2026-01-01T12:00:10.000Z",
    )
    assert built.timestamp == datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC)


# --- partitioning ----------------------------------------------------------------------------


def test_partitions_are_stable_across_releases() -> None:
    # Changing the hash would move devices to other partitions and break their ordering.
    assert [partition_for(k, 4) for k in ("device-1", "device-2", "user-1", "")] == [1, 3, 0, 0]
    assert partition_for("device-1", 256) == 121


@given(key=st.text(max_size=200), partitions=st.integers(min_value=1, max_value=256))
def test_a_partition_is_in_range_and_the_same_every_time(key: str, partitions: int) -> None:
    first = partition_for(key, partitions)

    assert 0 <= first < partitions
    assert partition_for(key, partitions) == first


def test_the_device_routes_before_the_person() -> None:
    assert routing_key("user-1", "device-1") == "device-1"
    assert routing_key("user-1", None) == "user-1"


def test_events_of_one_device_share_a_partition_whoever_is_logged_in() -> None:
    before_login = entry({"anonymousId": "device-7", "event": "Viewed"})
    after_login = entry({"anonymousId": "device-7", "userId": "user-9", "event": "Bought"})

    assert before_login.partition == after_login.partition == partition_for("device-7", 4)


# --- channel stamping ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(CHANNEL_OVERRIDE_KINDS))
def test_server_and_import_sources_may_speak_for_a_known_channel(kind: str) -> None:
    assert stamp_channel(kind, {"channel": "store"}) == "store"


def test_a_web_source_cannot_claim_another_channel() -> None:
    built = entry({"userId": "u1", "event": "Viewed", "context": {"channel": "store"}})

    assert built.channel == "web"


@pytest.mark.parametrize("claimed", ["fax", "", 7, None, ["store"]])
def test_a_claim_of_an_unknown_channel_is_ignored(claimed: object) -> None:
    assert stamp_channel("server", {"channel": claimed}) == "server"


@given(
    kind=st.sampled_from([k for k in SOURCE_KINDS if k not in CHANNEL_OVERRIDE_KINDS]),
    claimed=st.sampled_from(SOURCE_KINDS),
)
def test_only_server_and_import_sources_are_overridden(kind: str, claimed: str) -> None:
    assert stamp_channel(kind, {"channel": claimed}) == kind


def test_a_batch_context_channel_reaches_a_server_sources_message() -> None:
    built = entry(
        {"userId": "u1", "event": "Bought"},
        source_kind="server",
        batch_context={"channel": "call_center"},
    )

    assert built.channel == "call_center"


# --- normalisation ---------------------------------------------------------------------------


def test_a_message_id_is_generated_when_absent() -> None:
    built = entry({"userId": "u1", "event": "Viewed"})

    assert str(uuid.UUID(built.message_id)) == built.message_id
    assert orjson.loads(built.payload)["messageId"] == built.message_id


def test_a_given_message_id_is_kept() -> None:
    assert entry({"userId": "u1", "event": "Viewed", "messageId": "m-42"}).message_id == "m-42"


def test_an_oversize_event_is_refused_with_its_size() -> None:
    raw = {"userId": "u1", "event": "Viewed", "properties": {"blob": "x" * 2000}}

    with pytest.raises(EventTooLarge) as refused:
        entry(raw, max_event_bytes=1000)

    assert refused.value.limit == 1000
    assert refused.value.size == len(entry(raw).payload.encode())


def test_the_size_limit_counts_utf8_bytes() -> None:
    raw = {"userId": "u1", "event": "Viewed", "properties": {"note": "絆" * 400}}
    size = len(entry(raw).payload.encode())

    assert entry(raw, max_event_bytes=size).payload
    with pytest.raises(EventTooLarge):
        entry(raw, max_event_bytes=size - 1)


def test_the_write_key_is_not_stored() -> None:
    built = entry({"userId": "u1", "event": "Viewed", "writeKey": "wk_secret"})

    assert "writeKey" not in orjson.loads(built.payload)
    assert "wk_secret" not in built.payload


def test_the_batch_context_is_merged_and_the_messages_own_keys_win() -> None:
    built = entry(
        {"userId": "u1", "event": "Viewed", "context": {"locale": "ja-JP", "ip": "10.0.0.1"}},
        batch_context={"locale": "en-US", "library": {"name": "analytics-python"}},
    )

    assert orjson.loads(built.payload)["context"] == {
        "locale": "ja-JP",
        "ip": "10.0.0.1",
        "library": {"name": "analytics-python"},
    }


def test_the_batch_context_applies_to_a_message_without_one() -> None:
    built = entry({"userId": "u1", "event": "Viewed"}, batch_context={"locale": "ja-JP"})

    assert orjson.loads(built.payload)["context"] == {"locale": "ja-JP"}


def test_ids_are_stored_as_trimmed_text() -> None:
    built = entry({"userId": 42, "anonymousId": "   ", "event": "Viewed"})

    assert (built.user_id, built.anonymous_id) == ("42", None)


def test_unknown_fields_are_kept_in_the_payload() -> None:
    built = entry({"userId": "u1", "event": "Viewed", "custom": {"a": [1, 2]}})

    assert orjson.loads(built.payload)["custom"] == {"a": [1, 2]}
