"""AnalyzeStack converts the request's resources once, whatever the number of stack policies.

The SDK (pulumi-policy 1.21) converts every resource again for each stack policy, which made 10,000
resources take 19 times as long as 1,000. ``pack._convert_each_stack_once`` converts them once per request.
These tests drive the SDK's servicer in-process with a few stack rules that record what they are given.
"""

from __future__ import annotations

import pulumi_policy.policy as sdk
import pytest
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel

from policies.rules import pack
from policies.rules.base import Rule
from preflight.analyzer import stack_resource

from .pack_client import as_recorded

VPC = "aws:ec2/vpc:Vpc"


def _recording_rule(name: str, seen: list) -> Rule:
    def check(stack, config):
        seen.append(stack)
        for resource in stack.resources:
            if resource.get("flagged"):
                yield resource, f"{resource.name} is flagged"
    return Rule(name, "test rule", "high", "mandatory", (), "none", check, kind="stack")


@pytest.fixture
def servicer(monkeypatch):
    """The SDK's servicer with our AnalyzeStack, restored afterwards."""
    monkeypatch.setattr(sdk._PolicyAnalyzerServicer, "AnalyzeStack", sdk._PolicyAnalyzerServicer.AnalyzeStack)
    pack._convert_each_stack_once()
    seen: list = []
    policies = [pack.to_policy(_recording_rule(f"stack-rule-{i}", seen)) for i in range(3)]
    return sdk._PolicyAnalyzerServicer("test-pack", "0.0.1", policies, EnforcementLevel.MANDATORY,
                                       None, None, None, None, None, None, None), seen


def _request(*resources):
    by_urn = {r.urn: r for r in resources}
    return analyzer_pb2.AnalyzeStackRequest(resources=[stack_resource(r, by_urn) for r in resources])


def _resources():
    parent = as_recorded(VPC, {"cidrBlock": "10.0.0.0/16"}, name="parent")
    child = as_recorded(VPC, {"flagged": True}, name="child", parent=parent.urn,
                        dependencies=[parent.urn, "urn:pulumi:test::aws-compute::x::outside"],
                        property_dependencies={"vpcId": [parent.urn]})
    return parent, child


def test_each_resource_is_deserialized_once_per_request_whatever_the_number_of_stack_policies(servicer, monkeypatch):
    analyzer, _ = servicer
    calls = []

    def counting(props, *rest):
        calls.append(props)
        return sdk_deserialize(props, *rest)

    sdk_deserialize = pack.deserialize_properties
    monkeypatch.setattr(pack, "deserialize_properties", counting)
    monkeypatch.setattr(sdk, "deserialize_properties", counting)
    analyzer.AnalyzeStack(_request(*_resources()), None)
    assert len(calls) == 2


def test_every_stack_policy_of_a_request_judges_the_same_converted_stack(servicer):
    analyzer, seen = servicer
    analyzer.AnalyzeStack(_request(*_resources()), None)
    assert len(seen) == 3
    assert seen[0] is seen[1] is seen[2]


def test_the_converted_stack_keeps_properties_parents_and_dependencies_within_the_stack(servicer):
    analyzer, seen = servicer
    parent, child = _resources()
    analyzer.AnalyzeStack(_request(parent, child), None)
    converted = {r.name: r for r in seen[0].resources}
    assert converted["parent"].props == {"cidrBlock": "10.0.0.0/16"}
    assert converted["child"].parent == parent.urn
    assert converted["child"].dependencies == (parent.urn,)
    assert converted["child"].property_dependencies == {"vpcId": (parent.urn,)}


def test_findings_of_every_stack_policy_name_their_resource(servicer):
    analyzer, _ = servicer
    parent, child = _resources()
    response = analyzer.AnalyzeStack(_request(parent, child), None)
    assert sorted((d.policyName, d.urn) for d in response.diagnostics) == [
        (f"stack-rule-{i}", child.urn) for i in range(3)]


def test_a_second_request_is_judged_on_its_own_resources(servicer):
    analyzer, seen = servicer
    analyzer.AnalyzeStack(_request(*_resources()), None)
    analyzer.AnalyzeStack(_request(as_recorded(VPC, {}, name="alone")), None)
    assert [r.name for r in seen[-1].resources] == ["alone"]
