"""The service's roles (issue 14; NIST SP 800-53 AC-3(2) dual authorization, AC-5
separation of duties). Every route names the roles it admits; none admits by default."""

from __future__ import annotations

REQUESTER = "requester"
"""a requesting agency: its own batches' progress and released responses, nothing else"""
DISCLOSURE_OFFICER = "disclosure_officer"
"""works the review queue: one of two approvals makes a disclosure"""
PRIVACY_OFFICER = "privacy_officer"
"""decides letter-level reviews, sees the office's work; never approves a disclosure"""
AUDITOR = "auditor"
"""read-only: every batch's counts, the ledger, the dashboard"""

ROLES = (REQUESTER, DISCLOSURE_OFFICER, PRIVACY_OFFICER, AUDITOR)
STAFF = (DISCLOSURE_OFFICER, PRIVACY_OFFICER, AUDITOR)
