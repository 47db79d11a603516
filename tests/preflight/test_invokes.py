"""The offline answers to invokes: every answered token fills every field the SDK's result type reads, the answers
agree with each other, and a program calling each of them runs through the CLI."""

from __future__ import annotations

import importlib
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi import _types

from preflight.fakes import SECRET_SIG, SIG_KEY
from preflight.invokes import ANSWERS, InvokeAnswersError, OfflineCloud, UnansweredInvoke, load_invoke_answers

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ROOT / "tests" / "fixtures" / "programs"

# One typical call per answered token, with the arguments programs pass.
CALLS = {
    "aws:index/getCallerIdentity:getCallerIdentity": {},
    "aws:index/getRegion:getRegion": {},
    "aws:index/getPartition:getPartition": {},
    "aws:index/getAvailabilityZones:getAvailabilityZones": {"state": "available"},
    "aws:ec2/getVpc:getVpc": {"default": True},
    "aws:ec2/getSubnets:getSubnets": {"filters": [{"name": "default-for-az", "values": ["true"]}]},
    "aws:ec2/getSubnet:getSubnet": {"availabilityZone": "eu-west-1b"},
    "aws:ec2/getSecurityGroup:getSecurityGroup": {"name": "default"},
    "aws:ec2/getAmi:getAmi": {"mostRecent": True, "owners": ["amazon"],
                             "filters": [{"name": "name", "values": ["al2023-ami-*-arm64"]}]},
    "aws:ec2/getAmiIds:getAmiIds": {"owners": ["amazon"], "filters": [{"name": "name", "values": ["al2023-ami-*"]}]},
    "aws:ssm/getParameter:getParameter": {"name": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64"},
    "aws:route53/getZone:getZone": {"name": "example.com."},
    "aws:acm/getCertificate:getCertificate": {"domain": "app.example.com", "statuses": ["ISSUED"]},
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": {},
    "aws:ecr/getCredentials:getCredentials": {"registryId": "123456789012"},
    "aws:elb/getServiceAccount:getServiceAccount": {},
    "aws:kms/getKey:getKey": {"keyId": "alias/aws/ebs"},
    "aws:kms/getAlias:getAlias": {"name": "alias/app"},
    "aws:iam/getPolicyDocument:getPolicyDocument": {"statements": [{"actions": ["s3:GetObject"],
                                                                    "resources": ["arn:aws:s3:::b/*"]}]},
}


def sdk_function(token: str):
    """The SDK module of ``token`` (``aws:ec2/getVpc:getVpc`` -> pulumi_aws.ec2.get_vpc) and its function name."""
    module_part, function = token.split(":")[1].split("/")[0], token.split(":")[2]
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", function).lower()
    module = importlib.import_module(f"pulumi_aws.{snake}" if module_part == "index"
                                     else f"pulumi_aws.{module_part}.{snake}")
    return module, function


def result_fields(token: str) -> set[str]:
    """The camelCase fields of the SDK's result type (GetVpcResult)."""
    module, function = sdk_function(token)
    result_type = getattr(module, function[0].upper() + function[1:] + "Result")
    return set(_types._pulumi_to_py_names_from_py_properties(result_type))


def argument_names(token: str) -> set[str]:
    """The invoke's arguments, camelCase: the provider echoes them in the result, None when not given."""
    module, function = sdk_function(token)
    parameters = inspect.signature(getattr(module, re.sub(r"(?<!^)(?=[A-Z])", "_", function).lower())).parameters
    return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name) for name in parameters if name != "opts"}


def test_every_answered_token_has_a_typical_call_here():
    assert set(CALLS) == set(ANSWERS)


@pytest.mark.parametrize("token", sorted(CALLS))
def test_each_answer_fills_every_field_its_result_type_reads(token):
    answer = OfflineCloud("eu-west-1").answer(token, CALLS[token])
    missing = result_fields(token) - set(answer) - argument_names(token)
    assert not missing, f"{token} leaves out {sorted(missing)}"


@pytest.mark.parametrize("token", sorted(CALLS))
def test_each_answer_is_the_same_in_every_run(token):
    assert OfflineCloud("eu-west-1").answer(token, CALLS[token]) == \
        OfflineCloud("eu-west-1").answer(token, CALLS[token])


def test_the_default_vpc_has_one_default_subnet_per_zone_in_its_block():
    cloud = OfflineCloud("eu-west-1")
    vpc = cloud.answer("aws:ec2/getVpc:getVpc", {"default": True})
    ids = cloud.answer("aws:ec2/getSubnets:getSubnets", {"filters": [{"name": "vpc-id", "values": [vpc["id"]]}]})["ids"]
    subnets = [cloud.answer("aws:ec2/getSubnet:getSubnet", {"id": i}) for i in ids]
    assert vpc["cidrBlock"] == "172.31.0.0/16" and vpc["default"] is True
    assert [s["availabilityZone"] for s in subnets] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert {s["vpcId"] for s in subnets} == {vpc["id"]}
    assert all(s["cidrBlock"].startswith("172.31.") and s["defaultForAz"] for s in subnets)


def test_an_ami_parameter_holds_an_image_id_and_the_region_is_the_stacks():
    cloud = OfflineCloud("us-west-2")
    value = cloud.answer("aws:ssm/getParameter:getParameter", CALLS["aws:ssm/getParameter:getParameter"])["value"]
    assert re.fullmatch(r"ami-0[0-9a-f]{16}", value)
    assert cloud.answer("aws:index/getRegion:getRegion", {})["name"] == "us-west-2"
    assert cloud.answer("aws:elb/getServiceAccount:getServiceAccount", {})["arn"] == "arn:aws:iam::797873946194:root"


def test_the_ecr_password_comes_back_secret():
    answer = OfflineCloud("eu-west-1").answer("aws:ecr/getAuthorizationToken:getAuthorizationToken", {})
    assert answer["password"][SIG_KEY] == SECRET_SIG and answer["authorizationToken"][SIG_KEY] == SECRET_SIG


def test_an_aws_managed_key_alias_is_a_key_managed_by_aws():
    key = OfflineCloud("eu-west-1").answer("aws:kms/getKey:getKey", {"keyId": "alias/aws/ebs"})
    assert key["keyManager"] == "AWS" and key["arn"] == f"arn:aws:kms:eu-west-1:123456789012:key/{key['keyId']}"


def test_an_invoke_without_an_answer_names_its_token_and_the_flag():
    with pytest.raises(UnansweredInvoke, match=r"'aws:rds/getEngineVersion:getEngineVersion'.*--invoke-answers"):
        OfflineCloud("eu-west-1").answer("aws:rds/getEngineVersion:getEngineVersion", {})


def test_an_invoke_answers_file_that_is_not_token_to_result_is_refused_with_the_shape_allowed(tmp_path):
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({"aws:rds/getEngineVersion:getEngineVersion": "15.4"}))
    with pytest.raises(InvokeAnswersError, match=r"expected a result object or a list of"):
        load_invoke_answers(path)
    path.write_text(json.dumps({"getEngineVersion": {}}))
    with pytest.raises(InvokeAnswersError, match=r"'getEngineVersion' is not an invoke token"):
        load_invoke_answers(path)


# --- Through the CLI --------------------------------------------------------------------------------------

def preflight(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "preflight", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


@pytest.fixture(scope="module")
def invokes_document() -> dict:
    run = preflight("--stack", "t", "--project-dir", str(PROGRAMS / "invokes"), "--format", "json")
    assert run.returncode in (0, 1), run.stderr
    return json.loads(run.stdout)


def test_a_program_calling_every_answered_invoke_runs(invokes_document):
    outputs = invokes_document["outputs"]
    assert outputs["account"] == "123456789012" and outputs["partition"] == "aws"
    assert outputs["zones"] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert len(outputs["default_subnets"]) == 3 and outputs["subnet_vpc"] == outputs["default_vpc"]
    assert outputs["ami"].startswith("ami-0") and outputs["ami_from_parameter"].startswith("ami-0")
    assert outputs["certificate"].startswith("arn:aws:acm:eu-west-1:123456789012:certificate/")


def test_a_policy_document_reaches_the_policy_resource_as_the_provider_writes_it(invokes_document):
    [policy] = [r for r in invokes_document["resources"] if r["type"] == "aws:iam/policy:Policy"]
    assert json.loads(policy["inputs"]["policy"]) == {"Version": "2012-10-17", "Statement": [{
        "Sid": "ReadLogs", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"],
        "Resource": ["arn:aws:s3:::logs/*", "arn:aws:s3:::logs"]}]}


def test_an_unanswered_invoke_names_its_token_line_and_flag_and_an_answer_file_lets_it_run(tmp_path):
    program = PROGRAMS / "program-error"
    run = preflight("--stack", "unanswered", "--project-dir", str(program))
    assert run.returncode == 2
    assert "'aws:rds/getEngineVersion:getEngineVersion' (called at __main__.py:12)" in run.stderr
    assert "--invoke-answers FILE.json" in run.stderr and "Traceback" not in run.stderr
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"aws:rds/getEngineVersion:getEngineVersion": [
        {"args": {"engine": "postgres"}, "result": {"version": "16.4", "engine": "postgres"}}]}))
    run = preflight("--stack", "unanswered", "--project-dir", str(program), "--invoke-answers", str(answers),
                    "--format", "json")
    assert run.returncode in (0, 1), run.stderr
    [db] = [r for r in json.loads(run.stdout)["resources"] if r["type"] == "aws:rds/instance:Instance"]
    assert db["inputs"]["engineVersion"] == "16.4"


def test_a_malformed_answer_file_stops_the_run_before_the_program(tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text("[1, 2]")
    run = preflight("--stack", "unanswered", "--project-dir", str(PROGRAMS / "program-error"),
                    "--invoke-answers", str(answers))
    assert run.returncode == 2
    assert "expected an object mapping invoke tokens to results, got list" in run.stderr
