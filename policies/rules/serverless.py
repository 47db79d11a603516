"""Serverless policies: Lambda functions and API Gateway (catalog section E, rows F1-F14 and G1-G12)."""

from __future__ import annotations
