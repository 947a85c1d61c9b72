"""Sources: the touchpoints that send events, their write keys and tracking plans."""
