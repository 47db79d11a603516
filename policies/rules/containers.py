"""Containers policies: ECS and ECR (catalog section F, rows E1-E17)."""

from __future__ import annotations
