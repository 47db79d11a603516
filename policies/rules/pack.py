"""Wraps the registered rules as pulumi-policy policies and serves them as one pack."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

from .base import RULES, Resource, Rule, Stack
from .waivers import WAIVERS_SCHEMA, unwaived

PACK_NAME = "aws-compute-guardrails"
LEVEL = {"advisory": EnforcementLevel.ADVISORY, "mandatory": EnforcementLevel.MANDATORY,
         "remediate": EnforcementLevel.REMEDIATE, "disabled": EnforcementLevel.DISABLED}
SEVERITY = {"low": Severity.LOW, "medium": Severity.MEDIUM, "high": Severity.HIGH,
            "critical": Severity.CRITICAL}


def unwrapped(value: Any) -> Any:
    """Plain dicts and lists from the SDK's unknown-checking proxies, which raise on every unknown;
    our rules see the sentinels instead and decide whether the unknown matters."""
    if isinstance(value, (Mapping, Sequence)) and not isinstance(value, (str, bytes)):
        with contextlib.suppress(KeyError, IndexError, TypeError):
            value = value["__target"]
    if isinstance(value, Mapping):
        return {k: unwrapped(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [unwrapped(v) for v in value]
    return value


def raw_props(props: Any) -> Mapping[str, Any]:
    plain = unwrapped(props)
    return plain if isinstance(plain, Mapping) else {}


def _resource_validator(rule: Rule):
    def validate(args, report_violation) -> None:
        if args.resource_type not in rule.types:
            return
        resource = Resource(args.resource_type, raw_props(args.props), args.name, args.urn)
        config = rule.configured(args.get_config())
        for message in unwaived(rule.name, resource, rule.check(resource, config), config):
            report_violation(message)
    return validate


def _stack_validator(rule: Rule):
    def validate(args, report_violation) -> None:
        resources = tuple(
            Resource(r.resource_type, raw_props(r.props), r.name, r.urn,
                     parent=getattr(r.parent, "urn", "") or "",
                     dependencies=tuple(d.urn for d in r.dependencies),
                     property_dependencies={k: tuple(d.urn for d in v) for k, v in r.property_dependencies.items()})
            for r in args.resources)
        config = rule.configured(args.get_config())
        findings: dict[str, tuple[Resource, list[str]]] = {}
        for resource, message in rule.check(Stack(resources), config):
            findings.setdefault(resource.urn, (resource, []))[1].append(message)
        for resource, messages in findings.values():
            for message in unwaived(rule.name, resource, messages, config):
                report_violation(message, resource.urn)
    return validate


def _with_waivers(rule: Rule) -> dict[str, Any]:
    """Every policy but the waiver reports accepts waivers in its config (see waivers.py)."""
    if rule.name.startswith("waive"):
        return dict(rule.config)
    return {**rule.config, "waivers": WAIVERS_SCHEMA}


def to_policy(rule: Rule):
    common = dict(
        name=rule.name,
        description=rule.description,
        enforcement_level=LEVEL[rule.enforcement],
        config_schema=PolicyConfigSchema(properties=_with_waivers(rule)),
        severity=SEVERITY[rule.severity],
        tags=list(rule.controls),
        remediation_steps=rule.remediation,
    )
    if rule.kind == "stack":
        return StackValidationPolicy(validate=_stack_validator(rule), **common)
    return ResourceValidationPolicy(validate=_resource_validator(rule), **common)


def serve() -> None:
    """Start the gRPC Analyzer server; blocks forever, as the CLI expects."""
    PolicyPack(
        name=PACK_NAME,
        enforcement_level=EnforcementLevel.ADVISORY,
        policies=[to_policy(rule) for rule in RULES],
        description="Security guardrails for aws-compute: network, compute, IAM, serverless and containers.",
    )
