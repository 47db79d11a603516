"""Analyze hands the SDK only the resource policies that judge the request's type.

The SDK (pulumi-policy 1.21) builds every policy's arguments before the policy can say it does not judge the
type. ``pack._judge_only_the_request_type`` skips those policies and marks them not applicable, as their own
validators would. These tests drive the SDK's servicer in-process with a few resource rules.
"""

from __future__ import annotations

import pulumi_policy.policy as sdk
import pytest
from pulumi_policy import EnforcementLevel

from policies.rules import pack
from policies.rules.base import Rule
from preflight.analyzer import analyze_request

from .pack_client import as_recorded

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"


def _rule(name: str, types: tuple[str, ...], judged: list) -> Rule:
    def check(resource, config):
        judged.append((name, resource.type))
        if resource.get("flagged"):
            yield f"{resource.type} is flagged"
    return Rule(name, "test rule", "high", "mandatory", (), "none", check, types=types)


@pytest.fixture
def analyze(monkeypatch):
    """Analyze of a servicer with a VPC rule and a subnet rule; returns the response and the rules that ran."""
    monkeypatch.setattr(sdk._PolicyAnalyzerServicer, "Analyze", sdk._PolicyAnalyzerServicer.Analyze)
    judged: list = []
    rules = [_rule("vpc-rule", (VPC,), judged), _rule("subnet-rule", (SUBNET,), judged)]
    pack._judge_only_the_request_type({rule.name: frozenset(rule.types) for rule in rules})
    servicer = sdk._PolicyAnalyzerServicer("test-pack", "0.0.1", [pack.to_policy(r) for r in rules],
                                           EnforcementLevel.MANDATORY, None, None, None, None, None, None, None)

    def run(type_: str, props: dict):
        judged.clear()
        resource = as_recorded(type_, props)
        return servicer.Analyze(analyze_request(resource, {resource.urn: resource}), None), list(judged)
    return run, servicer


def test_only_the_policy_that_judges_the_type_runs(analyze):
    run, _ = analyze
    _, judged = run(VPC, {"cidrBlock": "10.0.0.0/16"})
    assert judged == [("vpc-rule", VPC)]


def test_a_policy_of_another_type_is_reported_not_applicable(analyze):
    run, _ = analyze
    response, _ = run(VPC, {"cidrBlock": "10.0.0.0/16"})
    assert [entry.policy_name for entry in response.not_applicable] == ["subnet-rule"]


def test_the_judging_policy_still_reports_its_violation(analyze):
    run, _ = analyze
    response, _ = run(SUBNET, {"flagged": True})
    assert [(d.policyName, d.message.startswith("test rule")) for d in response.diagnostics] == [("subnet-rule", True)]


def test_a_disabled_policy_of_another_type_stays_silent(analyze):
    run, servicer = analyze
    servicer._PolicyAnalyzerServicer__policy_pack_config_enforcement_level["subnet-rule"] = EnforcementLevel.DISABLED
    response, _ = run(VPC, {"cidrBlock": "10.0.0.0/16"})
    assert list(response.not_applicable) == []


def test_the_sdk_builds_arguments_only_for_the_policies_that_judge_the_type(analyze, monkeypatch):
    run, _ = analyze
    built = []
    original = sdk._PolicyAnalyzerServicer._get_resource_options
    monkeypatch.setattr(sdk._PolicyAnalyzerServicer, "_get_resource_options",
                        lambda self, request: built.append(request.type) or original(self, request))
    run(VPC, {"cidrBlock": "10.0.0.0/16"})
    assert built == [VPC]
