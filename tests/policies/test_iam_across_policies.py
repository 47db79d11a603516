"""Privilege escalation judged across all of a role's policies, not one document at a time."""

from __future__ import annotations

import json

from policies.rules import Resource, Stack, rule_named

RULE = rule_named("iam-no-privilege-escalation-across-policies")
ROLE = Resource("aws:iam/role:Role", {"id": "deployer", "name": "deployer"}, "deployer", "urn:role:deployer")


def allow(*actions: str, resource: str = "*") -> str:
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}]})


def role_policy(name: str, policy: str, role: str = "deployer") -> Resource:
    return Resource("aws:iam/rolePolicy:RolePolicy", {"role": role, "policy": policy}, name, f"urn:rp:{name}")


def messages(*resources: Resource) -> list[str]:
    return [m for _, m in RULE.evaluate_stack(Stack((ROLE, *resources)))]


def test_pass_role_in_one_policy_and_run_instances_in_another_is_refused():
    [message] = messages(role_policy("pass", allow("iam:PassRole")), role_policy("run", allow("ec2:RunInstances")))
    assert "pass a role to a new EC2 instance" in message
    assert "pass.policy" in message and "run.policy" in message


def test_a_managed_policy_attached_to_the_role_counts():
    managed = Resource("aws:iam/policy:Policy", {"id": "arn:aws:iam::123456789012:policy/run",
                                                 "arn": "arn:aws:iam::123456789012:policy/run",
                                                 "policy": allow("ec2:RunInstances")}, "run", "urn:policy:run")
    attachment = Resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                          {"role": "deployer", "policyArn": "arn:aws:iam::123456789012:policy/run"}, "att", "urn:att")
    assert len(messages(role_policy("pass", allow("iam:PassRole")), managed, attachment)) == 1


def test_policies_of_different_roles_are_not_combined():
    other = role_policy("run", allow("ec2:RunInstances"), role="someone-else")
    assert messages(role_policy("pass", allow("iam:PassRole")), other) == []


def test_a_combination_already_within_one_policy_is_left_to_the_per_document_policy():
    both = role_policy("both", allow("iam:PassRole", "ec2:RunInstances"))
    assert messages(both, role_policy("logs", allow("logs:PutLogEvents"))) == []


def test_a_deny_in_another_policy_does_not_combine_into_an_escalation():
    deny = json.dumps({"Statement": [{"Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*"}]})
    assert messages(role_policy("pass", allow("iam:PassRole")), role_policy("deny", deny)) == []


def test_the_projects_roles_allow_no_escalation_together(dev_stack, prod_stack):
    for recording in (dev_stack, prod_stack):
        stack = Stack(tuple(Resource(r.type, r.outputs, r.name, r.urn,
                                     property_dependencies={k: tuple(v) for k, v in r.property_dependencies.items()})
                            for r in recording.resources))
        assert RULE.evaluate_stack(stack) == []
