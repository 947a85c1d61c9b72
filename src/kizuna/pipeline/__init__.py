"""The event log, its consumers, their offsets, retries and dead letters."""
