"""Loopback emulators that speak each web provider's wire format, for tests and demos."""
