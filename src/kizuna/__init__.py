"""Kizuna (絆): one customer, one consistent experience across every channel."""

__version__ = "0.1.0"
