"""Telegram channel monitor for military-discipline stories."""

__version__ = "0.1.0"
