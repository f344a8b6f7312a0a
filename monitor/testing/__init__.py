"""A local Telegram (MTProto 2.0 over TCP) for tests and the offline demo.

Import ``monitor.testing.server`` for the server and ``monitor.testing.client`` for the
client-side helpers; this package module imports nothing so that importing it stays cheap.
"""
