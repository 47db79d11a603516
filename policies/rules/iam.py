"""Iam policies: IAM roles, policies, attachments and resource policies (catalog section G, rows I1-I20)."""

from __future__ import annotations
