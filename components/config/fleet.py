"""The ``fleet`` section: the shared Application Load Balancer and the EC2 Auto Scaling fleet behind it."""

from __future__ import annotations

from .base import Section, setting


class FleetSettings(Section):
    enabled: bool = setting(
        False, "Create the shared Application Load Balancer and the EC2 Auto Scaling fleet behind it.", "true | false"
    )
