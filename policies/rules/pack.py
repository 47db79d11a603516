"""Wraps the registered rules as pulumi-policy policies and serves them as one pack."""

from __future__ import annotations

import contextlib
import threading
import types
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi_policy.policy as sdk
from google.protobuf import json_format
from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from .base import RULES, Resource, Rule, Stack, Unverifiable, remember_pack_config
from .waivers import WAIVERS_SCHEMA, unwaived

WAIVERS = unwaived.__module__

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


class PerObject:
    """``function(arg, *rest)`` remembered per ``arg`` object (held, so its id is not reused) while it is
    among the last ``size`` arguments seen."""

    def __init__(self, function: Callable[..., Any], size: int = 250_000):
        self._function, self._size = function, size
        self._results: OrderedDict[tuple, tuple[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, arg: Any, *rest: Any) -> Any:
        key = (id(arg), *rest)
        with self._lock:
            held = self._results.get(key)
        if held is not None and held[0] is arg:
            return held[1]
        result = self._function(arg, *rest)
        with self._lock:
            self._results[key] = (arg, result)
            if len(self._results) > self._size:
                self._results.popitem(last=False)
        return result


def _convert_each_resource_once() -> None:
    """The SDK converts a resource's properties anew for every policy (MessageToDict, deserialize, an
    unknown-checking proxy): with 130 policies that was 80 % of the pack's time. The messages of a
    request are the same objects for every policy, so convert each once and hand every policy the same
    plain dict; our rules never mutate it, and they read unknowns as sentinels rather than through the
    proxy's exceptions. Pinned SDK: pulumi-policy==1.21.0 (policies/requirements.txt)."""
    converters = {**vars(json_format), "MessageToDict": PerObject(json_format.MessageToDict)}
    sdk.json_format = types.SimpleNamespace(**converters)
    sdk.deserialize_properties = PerObject(sdk.deserialize_properties)
    sdk.unknown_checking_proxy = lambda props: props


def _plain_props(props: Any) -> Mapping[str, Any]:
    plain = unwrapped(props)
    return plain if isinstance(plain, Mapping) else {}


raw_props = PerObject(_plain_props)


def _advisory_unknown(messages: list[str]) -> UnknownValueError:
    """The SDK turns this error into one advisory diagnostic ("can't run policy ... during preview: ..."),
    after the violations already reported."""
    error = UnknownValueError(UNKNOWN_STRING_VALUE, [])
    error.message = "; ".join(messages)
    return error


def _resource_validator(rule: Rule):
    def validate(args, report_violation) -> None:
        if args.resource_type not in rule.types:
            # Tells the engine (and the preflight's coverage report) that this policy did not judge the resource.
            args.not_applicable()
        resource = Resource(args.resource_type, raw_props(args.props), args.name, args.urn)
        config = rule.configured(args.get_config())
        pending = []
        for message in unwaived(rule.name, resource, rule.check(resource, config), config):
            if isinstance(message, Unverifiable):
                pending.append(message)
            else:
                report_violation(message)
        if pending:
            raise _advisory_unknown(pending)
    return validate


def _stack_of_sdk_resources(resources: Sequence[Any]) -> Stack:
    """The stack from the SDK's PolicyResource list (when AnalyzeStack was not replaced, e.g. in tests)."""
    return Stack(tuple(
        Resource(r.resource_type, raw_props(r.props), r.name, r.urn,
                 parent=getattr(r.parent, "urn", "") or "",
                 dependencies=tuple(d.urn for d in r.dependencies),
                 property_dependencies={k: tuple(d.urn for d in v) for k, v in r.property_dependencies.items()})
        for r in resources))


def _stack_of_request(resources: Sequence[Any]) -> Stack:
    """The stack from an AnalyzeStackRequest's messages, converted as the SDK converts them (parent and
    dependencies kept only where they name a resource of the stack). Uncached: each is converted once, and
    the request's dicts are not held after it."""
    urns = {r.urn for r in resources}
    return Stack(tuple(
        Resource(r.type, _plain_props(deserialize_properties(json_format.MessageToDict(r.properties))),
                 r.name, r.urn, parent=r.parent if r.parent in urns else "",
                 dependencies=tuple(d for d in r.dependencies if d in urns),
                 property_dependencies={k: tuple(d for d in v.urns if d in urns)
                                        for k, v in r.propertyDependencies.items()})
        for r in resources))


_request = threading.local()
"""The stack of the AnalyzeStack request this thread is serving, converted once for every stack policy."""


def _convert_each_stack_once() -> None:
    """The SDK's AnalyzeStack converts every resource of the request again for each stack policy (28 of
    them): 10,000 resources took 19 times as long as 1,000. Convert the request's resources once into our
    Stack, then let the SDK run each policy (levels, config, reporting) on an empty request: our stack
    validators read the converted stack, never ``args.resources``. Pinned SDK: pulumi-policy==1.21.0."""
    servicer = sdk._PolicyAnalyzerServicer
    if getattr(servicer.AnalyzeStack, "converts_once", False):
        return
    original = servicer.AnalyzeStack

    def analyze_stack(self, request, context):
        _request.stack = _stack_of_request(request.resources)
        try:
            return original(self, type(request)(), context)
        finally:
            del _request.stack

    analyze_stack.converts_once = True
    servicer.AnalyzeStack = analyze_stack


def _remember_every_policys_config() -> None:
    """The SDK hands each policy only its own config; a policy that leaves a defect to another (one defect, one
    finding) must know what that one will report: its port list, and whether it is disabled. Keep the whole
    Configure request. Pinned SDK: pulumi-policy==1.21.0."""
    servicer = sdk._PolicyAnalyzerServicer
    if getattr(servicer.Configure, "remembers", False):
        return
    original = servicer.Configure

    def configure(self, request, context):
        given = request.policyConfig
        remember_pack_config({name: json_format.MessageToDict(given[name].properties) for name in given},
                             {name for name in given if given[name].enforcementLevel == proto.DISABLED})
        return original(self, request, context)

    configure.remembers = True
    servicer.Configure = configure


class _ServicerFor:
    """The servicer as one Analyze request sees it: the same in every respect but its policy list."""

    def __init__(self, servicer: Any, policies: list[Any]):
        self._servicer = servicer
        # The SDK's Analyze reads ``self.__policies``, which Python names so inside its class.
        self._PolicyAnalyzerServicer__policies = policies

    def __getattr__(self, name: str) -> Any:
        return getattr(self._servicer, name)


def _judge_only_the_request_type(types_of: Mapping[str, frozenset[str]]) -> None:
    """The SDK's Analyze builds each policy's arguments (options, provider, config) before the policy can say
    that it does not judge the resource's type; at 150 policies, of which a handful judge any one type, that was
    most of the pack's time. Hand the SDK only the policies that judge the request's type, and mark the others
    not applicable as their validators would (``args.not_applicable()``, no reason); disabled ones stay silent,
    as the SDK leaves them. Pinned SDK: pulumi-policy==1.21.0."""
    servicer = sdk._PolicyAnalyzerServicer
    if getattr(servicer.Analyze, "by_type", False):
        return
    original = servicer.Analyze
    split: dict[str, tuple[list[Any], list[Any]]] = {}

    def policies_for(self: Any, resource_type: str) -> tuple[list[Any], list[Any]]:
        if resource_type not in split:
            every = self._PolicyAnalyzerServicer__policies
            split[resource_type] = (
                [p for p in every if p.name not in types_of or resource_type in types_of[p.name]],
                [p for p in every if p.name in types_of and resource_type not in types_of[p.name]])
        return split[resource_type]

    def analyze(self, request, context):
        judging, other = policies_for(self, request.type)
        response = original(_ServicerFor(self, judging), request, context)
        for policy in other:
            if self._get_enforcement_level(policy) != EnforcementLevel.DISABLED:
                response.not_applicable.append(proto.PolicyNotApplicable(policy_name=policy.name, reason=""))
        return response

    analyze.by_type = True
    servicer.Analyze = analyze


def _stack_validator(rule: Rule):
    def validate(args, report_violation) -> None:
        stack = getattr(_request, "stack", None)
        if stack is None:
            stack = _stack_of_sdk_resources(args.resources)
        config = rule.configured(args.get_config())
        findings: dict[str, tuple[Resource, list[str]]] = {}
        for resource, message in rule.check(stack, config):
            findings.setdefault(resource.urn, (resource, []))[1].append(message)
        pending = []
        for resource, messages in findings.values():
            for message in unwaived(rule.name, resource, messages, config):
                if isinstance(message, Unverifiable):
                    pending.append(f"{resource.name}: {message}" if resource.name else message)
                else:
                    report_violation(message, resource.urn)
        if pending:
            raise _advisory_unknown(pending)
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
    _convert_each_resource_once()
    _convert_each_stack_once()
    _remember_every_policys_config()
    _judge_only_the_request_type({rule.name: frozenset(rule.types) for rule in RULES if rule.kind != "stack"})
    PolicyPack(
        name=PACK_NAME,
        enforcement_level=EnforcementLevel.ADVISORY,
        # The waiver reports run last, after every stack policy that may waive a finding.
        policies=[to_policy(rule) for rule in sorted(RULES, key=lambda rule: rule.check.__module__ == WAIVERS)],
        description="Security guardrails for aws-compute: network, compute, IAM, serverless and containers.",
    )
