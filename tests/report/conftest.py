"""Report test fixtures (defined in report_fixtures so test modules can import its helpers)."""

from report_fixtures import audit_report_dir

__all__ = ["audit_report_dir"]
