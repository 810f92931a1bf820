"""Rumbo: self-hosted order tracking for online stores."""

__version__ = "0.1.0"
