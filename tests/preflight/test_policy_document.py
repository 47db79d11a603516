"""iam.get_policy_document computed offline as the Terraform AWS provider's data source computes it."""

from __future__ import annotations

import json
import zlib

import pytest

from preflight.policy_document import PolicyDocumentError, policy_document


def statement_of(**given) -> dict:
    return json.loads(policy_document({"statements": [given]})["json"])["Statement"][0]


def test_a_document_has_version_2012_10_17_and_every_statement_a_sid_and_an_effect():
    document = json.loads(policy_document({"statements": [{"actions": ["s3:GetObject"], "resources": ["*"]}]})["json"])
    assert document == {"Version": "2012-10-17",
                        "Statement": [{"Sid": "", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def test_several_actions_are_a_set_written_in_reverse_order():
    assert statement_of(actions=["s3:GetObject", "s3:ListBucket", "s3:GetObject"])["Action"] == \
        ["s3:ListBucket", "s3:GetObject"]
    assert statement_of(not_actions=None, notActions=["iam:*", "sts:*"])["NotAction"] == ["sts:*", "iam:*"]


def test_a_wildcard_principal_of_type_star_is_written_as_a_star():
    assert statement_of(actions=["s3:GetObject"], principals=[{"type": "*", "identifiers": ["*"]}])["Principal"] == "*"
    assert statement_of(actions=["s3:GetObject"], principals=[{"type": "AWS", "identifiers": ["*"]}])["Principal"] == \
        {"AWS": "*"}


def test_principal_blocks_of_one_type_merge():
    principal = statement_of(actions=["sts:AssumeRole"], principals=[
        {"type": "Service", "identifiers": ["ec2.amazonaws.com"]},
        {"type": "Service", "identifiers": ["ecs-tasks.amazonaws.com", "lambda.amazonaws.com"]}])["Principal"]
    assert principal == {"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com", "ecs-tasks.amazonaws.com"]}


def test_conditions_keep_their_values_order_and_policy_variables_are_rewritten():
    statement = statement_of(actions=["s3:ListBucket"], resources=["arn:aws:s3:::b/home/&{aws:username}"], conditions=[
        {"test": "StringLike", "variable": "s3:prefix", "values": ["", "home/", "home/&{aws:username}/"]},
        {"test": "Bool", "variable": "aws:SecureTransport", "values": ["true"]}])
    assert statement["Resource"] == "arn:aws:s3:::b/home/${aws:username}"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "true"},
                                      "StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}}


def test_override_documents_replace_statements_of_the_same_sid_and_sources_come_first():
    source = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Sid": "Tls", "Effect": "Deny", "Action": "s3:*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
    override = json.dumps({"Statement": [{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject",
                                          "Resource": "arn:aws:s3:::b/*"}]})
    document = json.loads(policy_document({
        "sourcePolicyDocuments": [source], "overridePolicyDocuments": [override],
        "statements": [{"sid": "List", "actions": ["s3:ListBucket"], "resources": ["arn:aws:s3:::b"]}]})["json"])
    assert [s["Sid"] for s in document["Statement"]] == ["Read", "Tls", "List"]
    assert document["Statement"][0]["Resource"] == "arn:aws:s3:::b/*"
    assert document["Statement"][1]["Condition"] == {"Bool": {"aws:SecureTransport": ["false"]}}


def test_a_sid_twice_among_the_source_documents_is_refused():
    source = json.dumps({"Statement": [{"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    with pytest.raises(PolicyDocumentError, match=r"sourcePolicyDocuments\[1\]: duplicate Sid \(A\)"):
        policy_document({"sourcePolicyDocuments": [source, source]})


def test_an_effect_other_than_allow_or_deny_is_refused_naming_the_statement():
    with pytest.raises(PolicyDocumentError, match=r"statements\[0\]\.effect: 'allow' is not allowed; allowed: Allow, "
                                                  r"Deny"):
        policy_document({"statements": [{"effect": "allow", "actions": ["s3:*"]}]})


def test_the_id_is_the_crc32_of_the_json_and_the_minified_json_is_compact():
    result = policy_document({"policyId": "p1", "statements": [{"actions": ["s3:*"], "resources": ["*"]}]})
    assert result["id"] == str(zlib.crc32(result["json"].encode()))
    assert result["minifiedJson"] == ('{"Version":"2012-10-17","Id":"p1","Statement":[{"Sid":"","Effect":"Allow",'
                                      '"Action":"s3:*","Resource":"*"}]}')
    assert result["json"].startswith('{\n  "Version": "2012-10-17",\n  "Id": "p1",')


def test_angle_brackets_and_ampersands_are_escaped_as_go_writes_them():
    result = policy_document({"statements": [{"actions": ["s3:*"], "resources": ["*"], "conditions": [
        {"test": "NumericLessThan", "variable": "aws:MultiFactorAuthAge", "values": ["<3600 & more"]}]}]})
    assert "\\u003c3600 \\u0026 more" in result["json"]
    assert json.loads(result["json"])["Statement"][0]["Condition"]["NumericLessThan"]["aws:MultiFactorAuthAge"] == \
        "<3600 & more"
