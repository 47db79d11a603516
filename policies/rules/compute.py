"""Compute policies: EC2 instances, launch templates, EBS volumes and snapshots (catalog section B, rows C1-C21)."""

from __future__ import annotations
