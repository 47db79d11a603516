"""Encryption policies: KMS keys, CloudWatch log groups and Secrets Manager.

Catalog section H, rows K1-K7, W1-W3, S1-S4.
"""

from __future__ import annotations
