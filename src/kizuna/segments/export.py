"""A segment's members out of Kizuna: contact details as CSV, or hashed for advertising platforms.

- ``csv``: one row per member, ``profile_id,email,phone,since``, with the email and phone the
  person was most recently seen with (``identity_nodes``). It streams page by page from its own
  read session, so a million members never sit in memory.
- ``hashed``: what a customer-match upload takes (Google Ads, Meta, LINE, Yahoo! JAPAN):
  ``email,phone`` as the platform's normalised SHA-256 (``privacy.ad_hashing.match_key``), one
  row per identifier pair of a member (a person with two emails and one phone gives two rows).
  Only members whom ``may_contact_many`` allows for the purpose go out; the others are counted.
  The file is written to a spooled temporary file first (memory up to ``SPOOL_BYTES``, then
  disk) so the counts can lead the response as headers, then streamed.

Spreadsheets run cells that begin with ``=``, ``+``, ``-`` or ``@`` as formulas, and an email
may begin with ``=``: such a cell is written with a leading ``'`` (E.164 phone numbers, which
begin with ``+`` and are digits only, are left as they are).
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import zip_longest
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.db import Database
from kizuna.identity.config import IdentityRules
from kizuna.models import IdentityNode
from kizuna.privacy.ad_hashing import Platform, match_key
from kizuna.privacy.consent_config import ConsentCatalogue, check_choice
from kizuna.privacy.contact import may_contact_many
from kizuna.segments import service

PAGE = 2_000  # members per round trip
SPOOL_BYTES = 8 * 1024 * 1024
READ_BYTES = 64 * 1024
CSV_COLUMNS = ("profile_id", "email", "phone", "since")
HASHED_COLUMNS = ("email", "phone")
CONTACT_TYPES = ("email", "phone")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"^\+[0-9]{1,15}$")


def cell(value: str | None) -> str:
    """A value safe to open in a spreadsheet (see the module doc)."""
    if not value:
        return ""
    if value.startswith(_FORMULA_START) and not _E164.match(value):
        return "'" + value
    return value


def _line(values: Iterable[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(list(values))
    return out.getvalue()


def contacts_of(session: Session, profile_ids: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """Each profile's emails and phones, the most recently seen first."""
    found: dict[str, dict[str, list[str]]] = {
        p: {t: [] for t in CONTACT_TYPES} for p in profile_ids
    }
    if not profile_ids:
        return found
    query = (
        select(IdentityNode.profile_id, IdentityNode.type, IdentityNode.value)
        .where(IdentityNode.profile_id.in_(list(profile_ids)))
        .where(IdentityNode.type.in_(CONTACT_TYPES))
        .order_by(IdentityNode.last_seen_at.desc(), IdentityNode.id.desc())
    )
    for profile_id, id_type, value in session.execute(query):
        if profile_id is not None:
            found[profile_id][id_type].append(value)
    return found


def _pages(session: Session, segment_id: str) -> Iterator[list[tuple[str, datetime]]]:
    after: str | None = None
    while True:
        try:
            page, after = service.members_page(session, segment_id, after=after, limit=PAGE)
        except service.SegmentNotFound:  # deleted while the export ran: end the file there
            return
        if page:
            yield page
        if after is None:
            return


# --- csv -------------------------------------------------------------------------------------


def csv_stream(db: Database, segment_id: str) -> Iterator[bytes]:
    """The CSV export, page by page, from a read session of its own (the request's is closed
    by the time a streamed body is sent)."""
    yield _line(CSV_COLUMNS).encode()
    with db.read() as session:
        for page in _pages(session, segment_id):
            contacts = contacts_of(session, [p for p, _ in page])
            lines = []
            for profile_id, since in page:
                mine = contacts[profile_id]
                email = next(iter(mine["email"]), None)
                phone = next(iter(mine["phone"]), None)
                row = (profile_id, cell(email), cell(phone), since.isoformat())
                lines.append(_line(row))
            yield "".join(lines).encode()


# --- hashed ----------------------------------------------------------------------------------


@dataclass
class HashedExport:
    """A finished hashed export: its rows in ``file`` and what was left out."""

    file: IO[bytes]
    members: int = 0
    exported: int = 0  # members with at least one row
    left_out: int = 0  # members the purpose's consent does not allow
    without_identifiers: int = 0  # allowed members with no usable email or phone

    def stream(self) -> Iterator[bytes]:
        try:
            self.file.seek(0)
            while chunk := self.file.read(READ_BYTES):
                yield chunk
        finally:
            self.file.close()

    def headers(self) -> dict[str, str]:
        return {
            "X-Kizuna-Members": str(self.members),
            "X-Kizuna-Exported": str(self.exported),
            "X-Kizuna-Left-Out": str(self.left_out),
            "X-Kizuna-Without-Identifiers": str(self.without_identifiers),
        }


def _hashed_rows(
    contacts: dict[str, list[str]], platform: Platform, rules: IdentityRules
) -> list[tuple[str, str]]:
    hashed: dict[str, list[str]] = {}
    for id_type in CONTACT_TYPES:
        keys = (match_key(id_type, value, platform, rules) for value in contacts[id_type])
        hashed[id_type] = list(dict.fromkeys(k for k in keys if k is not None))
    return [(e or "", p or "") for e, p in zip_longest(hashed["email"], hashed["phone"])]


def hashed_export(
    session: Session,
    segment_id: str,
    *,
    catalogue: ConsentCatalogue,
    rules: IdentityRules,
    platform: Platform,
    purpose: str,
    channel: str,
) -> HashedExport:
    """Every member the purpose allows, as the platform's hashes (see the module doc)."""
    check_choice(catalogue, purpose, channel)  # 400 before any work for an unknown purpose
    service.get_segment(session, segment_id)
    # closed by ``stream`` once sent (or below, on failure): it outlives this function
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")  # noqa: SIM115
    result = HashedExport(spool)
    try:
        result.file.write(_line(HASHED_COLUMNS).encode())
        for page in _pages(session, segment_id):
            ids = [p for p, _ in page]
            decisions = may_contact_many(session, catalogue, ids, purpose, channel)
            allowed = [p for p in ids if p in decisions and decisions[p].allowed]
            result.members += len(ids)
            result.left_out += len(ids) - len(allowed)
            contacts = contacts_of(session, allowed)
            lines = []
            for profile_id in allowed:
                rows = _hashed_rows(contacts[profile_id], platform, rules)
                if rows:
                    result.exported += 1
                    lines += [_line(row) for row in rows]
                else:
                    result.without_identifiers += 1
            result.file.write("".join(lines).encode())
    except BaseException:
        result.file.close()
        raise
    return result
