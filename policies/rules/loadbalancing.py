"""Loadbalancing policies: Application Load Balancers, listeners and target groups (catalog section D, rows L1-L13)."""

from __future__ import annotations
