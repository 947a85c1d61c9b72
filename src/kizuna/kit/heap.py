"""Garbage-collector settings for long-running server processes.

A tracking request allocates a few thousand short-lived containers (one dict per event and
field), and CPython's default first-generation threshold of 700 then runs a collection every
few events; each full collection also walks every module, class and route object created at
start-up. Those pauses showed as the slowest acknowledgements in ``bench/ingest.py``. Almost all
request garbage is freed by reference counting, so collections can be far rarer; objects that
exist once start-up is over are moved out of the collector's sight with ``gc.freeze()``.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # container allocations between two young collections (default 700)
MIDDLE_THRESHOLD = 20  # young collections between two middle ones (default 10)
OLD_THRESHOLD = 100  # middle collections between two full ones (default 10)


def settle_for_serving() -> None:
    """Collect once, freeze what start-up built, and make later collections rare."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
