"""The standard tags that every taggable AWS resource of the stack carries in its own inputs."""

from __future__ import annotations

from collections.abc import Mapping

MANAGED_BY = "pulumi:aws-compute"


def standard_tags(project: str, environment: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Project, Environment and ManagedBy, plus the config's extra tags (which cannot override them)."""
    return {**(extra or {}), "Project": project, "Environment": environment, "ManagedBy": MANAGED_BY}


def with_name(tags: Mapping[str, str], name: str) -> dict[str, str]:
    """The tags plus a Name, which the EC2 console shows as the resource's name."""
    return {**tags, "Name": name}
