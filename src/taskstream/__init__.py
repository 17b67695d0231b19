"""taskstream: an event-driven, multi-user task system."""

__version__ = "0.1.0"
