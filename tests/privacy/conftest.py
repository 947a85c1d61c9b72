"""Fixtures of the privacy tests (the data subject request desk lives in ``dsr.py``)."""

from tests.privacy.dsr import desk

__all__ = ["desk"]
