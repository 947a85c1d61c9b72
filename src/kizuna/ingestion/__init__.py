"""Collect: the Segment-compatible tracking API, validation, dedup and the group-commit writer."""
