"""The ``server`` section: the EC2 web server with its encrypted data volume, snapshot, restore and backups."""

from __future__ import annotations

from .base import Section, setting


class ServerSettings(Section):
    enabled: bool = setting(
        False, "Create the EC2 web server with its encrypted data volume, snapshot, restore and backups.",
        "true | false",
    )
