"""Required tags on every resource that carries tags."""

from __future__ import annotations

from policies.rules import Resource, Stack, rule_named
from policies.rules.base import UNKNOWN_SENTINELS

from .pack_client import as_recorded

RULE = rule_named("required-tags")
UNKNOWN = next(iter(UNKNOWN_SENTINELS))
OURS = {"Project": "aws-compute", "Environment": "dev", "ManagedBy": "pulumi:aws-compute"}


def findings(*resources: Resource, **config) -> list[tuple[str, str]]:
    return [(r.name, m) for r, m in RULE.evaluate_stack(Stack(resources), config or None)]


def bucket(**props) -> Resource:
    return Resource("aws:s3/bucket:Bucket", props, "logs", "urn:pulumi:t::p::aws:s3/bucket:Bucket::logs")


def test_a_resource_with_every_required_tag_passes():
    assert findings(bucket(tags=OURS)) == []


def test_a_missing_tag_is_named():
    [(name, message)] = findings(bucket(tags={"Project": "aws-compute"}))
    assert name == "logs" and "Environment, ManagedBy" in message


def test_an_empty_value_counts_as_missing():
    assert len(findings(bucket(tags={**OURS, "Project": " "}))) == 1


def test_the_providers_default_tags_in_tags_all_count():
    assert findings(bucket(tags={}, tagsAll=OURS)) == []


def test_auto_scaling_group_tags_are_read_from_their_list_form():
    tags = [{"key": k, "value": v, "propagateAtLaunch": True} for k, v in OURS.items()]
    group = Resource("aws:autoscaling/group:Group", {"tags": tags}, "asg", "urn:asg")
    assert findings(group) == []


def test_a_resource_without_tags_is_not_judged():
    assert findings(Resource("aws:ec2/route:Route", {}, "route", "urn:route")) == []


def test_the_required_keys_are_configurable():
    assert findings(bucket(tags={"Owner": "platform"}), requiredTags=["Owner"]) == []


def test_unknown_tags_cannot_be_verified():
    [(_, message)] = findings(bucket(tags=UNKNOWN))
    assert "cannot be verified" in message


def test_the_projects_stacks_carry_the_required_tags(dev_stack, prod_stack):
    for recording in (dev_stack, prod_stack):
        stack = Stack(tuple(Resource(r.type, r.outputs, r.name, r.urn) for r in recording.resources))
        assert RULE.evaluate_stack(stack) == []


def test_the_pack_reports_missing_tags(pack):
    found = [f for f in pack.analyze([as_recorded("aws:s3/bucket:Bucket", {"tags": {"Project": "x"}}, "logs")])
             if f.policy == "required-tags"]
    assert len(found) == 1 and "Environment" in found[0].message
