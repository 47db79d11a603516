"""The ``service`` section: the ECS Fargate service behind the load balancer, and its ECR repository."""

from __future__ import annotations

from .base import Section, setting


class ServiceSettings(Section):
    enabled: bool = setting(
        False, "Create the ECS Fargate service behind the load balancer, and its ECR repository.", "true | false"
    )
