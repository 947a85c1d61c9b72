"""The demo retailer: seed data and a simulator that sends events through /v1."""
