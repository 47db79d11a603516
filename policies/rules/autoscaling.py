"""Autoscaling policies: EC2 Auto Scaling groups (catalog section C, rows A1-A5)."""

from __future__ import annotations
