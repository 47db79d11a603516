"""The pack's rules, grouped by domain; importing this package registers all of them in RULES."""

from . import (  # noqa: F401  (each module registers its rules)
    autoscaling,
    compute,
    containers,
    encryption,
    iam,
    loadbalancing,
    messaging,
    network,
    operations,
    relations,
    serverless,
    storage,
    tagging,
    waf,
    waivers,
)
from .base import RULES, Resource, Rule, Stack, rule_named

__all__ = ["RULES", "Resource", "Rule", "Stack", "rule_named"]
