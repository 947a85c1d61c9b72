"""Channel activity: hourly counts per source, channel and call type, projected from the log."""
