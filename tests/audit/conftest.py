"""Audit test fixtures (defined in audit_fixtures so test modules can import its helpers)."""

from audit_fixtures import cli_app, court_batch, hand_batch

__all__ = ["cli_app", "court_batch", "hand_batch"]
