"""IAM documents shared by the layers, as pure functions."""

from __future__ import annotations

import json

from components.iam import instance_trust_policy, session_manager_policy


def test_only_ec2_may_assume_the_instance_role():
    (statement,) = instance_trust_policy()["Statement"]
    assert statement["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"


def test_the_instance_policy_grants_only_session_manager_actions():
    statements = session_manager_policy("aws", "us-east-1", "123456789012")["Statement"]
    actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert {a.split(":")[0] for a in actions} == {"ssm", "ssmmessages"}
    assert not any(a.endswith("*") for a in actions)


def test_instances_may_register_with_ssm_only_as_instances_of_this_account_and_region():
    statements = session_manager_policy("aws", "us-east-1", "123456789012")["Statement"]
    (register,) = [s for s in statements if s["Action"] == "ssm:UpdateInstanceInformation"]
    assert register["Resource"] == "arn:aws:ec2:us-east-1:123456789012:instance/*"


def test_the_session_manager_policy_allows_exactly_the_session_actions():
    doc = session_manager_policy("aws", "us-east-1", "123456789012")
    actions = {action for s in doc["Statement"] for action in ([s["Action"]] if isinstance(s["Action"], str)
                                                               else s["Action"])}
    assert actions == {"ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel",
                       "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel",
                       "ssmmessages:OpenDataChannel"}
    (register,) = [s for s in doc["Statement"] if s["Action"] == "ssm:UpdateInstanceInformation"]
    assert register["Resource"] == "arn:aws:ec2:us-east-1:123456789012:instance/*"


def test_instance_roles_carry_no_source_account_condition_which_ec2_does_not_send():
    (statement,) = instance_trust_policy()["Statement"]
    assert "Condition" not in statement


def test_the_server_and_the_fleet_use_the_same_instance_role_documents(dev_stack):
    ec2 = {"Service": "ec2.amazonaws.com"}
    roles = [r for r in dev_stack.of_type("aws:iam/role:Role")
             if json.loads(r.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == ec2]
    assert {r.name for r in roles} == {"server-role", "fleet-role"}
    assert all(json.loads(r.inputs["assumeRolePolicy"]) == instance_trust_policy() for r in roles)
