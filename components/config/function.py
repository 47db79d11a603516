"""The ``function`` section: the Lambda function behind an HTTP API."""

from __future__ import annotations

from .base import Section, setting


class FunctionSettings(Section):
    enabled: bool = setting(
        False, "Create the Lambda function behind an HTTP API.", "true | false"
    )
