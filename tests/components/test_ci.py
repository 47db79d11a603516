"""CiAccess: the GitHub Actions deploy role's documents as pure functions, then a stack with CI on, under mocks."""

from __future__ import annotations

import json
from pathlib import Path

from components.ci import (
    MAX_MANAGED_POLICY_CHARS,
    PASSED_TO,
    _size,
    deploy_policy_documents,
    github_trust_policy,
)
from policies.rules.base import Resource
from policies.rules.iam import github_oidc_trust_scoped
from policies.rules.iam_documents import is_star_only
from preflight.analyzer import run_pack
from preflight.stackfiles import read_stack_files
from tests.conftest import ROOT, record_stack

ROLE = "aws:iam/role:Role"
PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"
PROVIDER_ARN = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
CI_ON = {"aws-compute:ci.githubRepository": "example-org/aws-compute"}


def documents() -> list[dict]:
    return deploy_policy_documents("aws", "123456789012", ["us-east-1", "eu-central-1"], "/aws-compute/dev/",
                                   "aws-compute-dev-", "aws-compute")


def statements() -> list[dict]:
    return [s for doc in documents() for s in doc["Statement"]]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_the_trust_names_one_repository_environment_and_sts_as_audience():
    [statement] = github_trust_policy(PROVIDER_ARN, "example-org/aws-compute", "prod")["Statement"]
    assert statement["Principal"] == {"Federated": PROVIDER_ARN}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:example-org/aws-compute:environment:prod"}}


def test_the_packs_github_oidc_policy_passes_the_trust():
    trust = json.dumps(github_trust_policy(PROVIDER_ARN, "example-org/aws-compute", "prod"))
    role = Resource(ROLE, {"assumeRolePolicy": trust}, "ci-deploy")
    assert list(github_oidc_trust_scoped(role, {"allowRepositoryWildcards": False})) == []


def test_everything_granted_on_every_resource_accepts_only_star():
    on_star = [a for s in statements() if s["Resource"] == "*" and "Condition" not in s for a in as_list(s["Action"])]
    assert on_star and [a for a in on_star if not is_star_only(a)] == []


def test_ec2_attribute_reads_are_granted_only_on_the_stacks_account_and_regions():
    [statement] = [s for s in statements() if "ec2:DescribeInstanceAttribute" in as_list(s["Action"])]
    assert all(":123456789012:" in r or "::image/" in r or "::snapshot/" in r for r in as_list(statement["Resource"]))


def test_each_deploy_document_fits_the_managed_policy_quota():
    assert all(_size(doc) <= MAX_MANAGED_POLICY_CHARS for doc in documents())


def test_only_actions_that_accept_nothing_else_are_granted_on_every_resource():
    on_star = [s for s in statements() if s["Resource"] == "*"]
    assert {s["Sid"] for s in on_star} == {"ReadWhatAcceptsOnlyStar", "CreateKeysAndCertificatesTaggedForTheProject"}
    creating = next(s for s in on_star if s["Sid"].startswith("Create"))
    assert creating["Condition"] == {"StringEquals": {"aws:RequestTag/Project": "aws-compute"}}


def test_service_writes_are_limited_to_the_stacks_account_and_regions():
    for statement in statements():
        if statement["Resource"] == "*" or statement["Sid"] in ("StackBuckets", "DashboardsAndDnsRecords"):
            continue
        for arn in as_list(statement["Resource"]):
            service, region, account = arn.split(":")[2:5]
            assert region in ("us-east-1", "eu-central-1", "") and account in ("123456789012", ""), arn
            assert service == "iam" or region, arn


def test_iam_writes_reach_only_roles_and_profiles_under_the_stacks_path():
    iam = [s for s in statements() if any(a.startswith("iam:") and a != "iam:CreateServiceLinkedRole"
                                          for a in as_list(s["Action"]))
           and s["Sid"] != "ServiceLinkedRolesOnFirstUse"]
    resources = {arn for s in iam for arn in as_list(s["Resource"])}
    assert resources == {"arn:aws:iam::123456789012:role/aws-compute/dev/*",
                         "arn:aws:iam::123456789012:instance-profile/aws-compute/dev/*"}


def test_roles_are_passed_only_to_the_services_the_stack_uses():
    [passing] = [s for s in statements() if "iam:PassRole" in as_list(s["Action"])]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": list(PASSED_TO)}}


def test_no_action_lets_the_role_change_policy_versions_or_map_event_sources():
    actions = {a for s in statements() for a in as_list(s["Action"])}
    assert not actions & {"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "lambda:Create*",
                          "lambda:CreateEventSourceMapping", "sts:AssumeRole"}


def test_the_committed_stacks_create_no_ci_role(dev_stack, prod_stack):
    assert not dev_stack.of_type(PROVIDER) and not prod_stack.of_type(PROVIDER)
    assert not [r for r in dev_stack.of_type(ROLE) if r.name == "ci-deploy"]


def test_with_a_repository_the_stack_creates_githubs_provider_and_the_role_trusting_it():
    stack = record_stack("dev", CI_ON)
    [provider] = stack.of_type(PROVIDER)
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    [role] = [r for r in stack.of_type(ROLE) if r.name == "ci-deploy"]
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == \
        "repo:example-org/aws-compute:environment:dev"
    assert len(stack.of_type(ATTACHMENT)) == len(stack.of_type(POLICY)) >= 2


def test_an_existing_provider_is_used_rather_than_a_second_one_created():
    stack = record_stack("dev", {**CI_ON, "aws-compute:ci.oidcProviderArn": PROVIDER_ARN})
    assert not stack.of_type(PROVIDER)
    [role] = [r for r in stack.of_type(ROLE) if r.name == "ci-deploy"]
    assert PROVIDER_ARN in role.inputs["assumeRolePolicy"]


def test_the_role_cannot_rewrite_its_own_permissions():
    stack = record_stack("dev", CI_ON)
    assert all(not p.inputs["path"].startswith("/aws-compute/dev/") for p in stack.of_type(POLICY))
    assert "path" not in next(r for r in stack.of_type(ROLE) if r.name == "ci-deploy").inputs


def test_every_other_role_and_profile_lives_under_the_stacks_iam_path(dev_stack):
    roles = dev_stack.of_type(ROLE) + dev_stack.of_type(INSTANCE_PROFILE)
    assert roles and all(r.inputs.get("path") == "/aws-compute/dev/" for r in roles)


def test_the_pack_passes_a_stack_with_ci_given_the_documented_escalation_waivers():
    files = read_stack_files(ROOT, "dev")
    policy_config = json.loads((ROOT / "policies" / "config" / "dev.json").read_text())
    policy_config.update(json.loads((ROOT / "policies" / "config" / "ci-waivers.json").read_text()))
    pack = run_pack(ROOT / "policies", record_stack("dev", CI_ON), {**files.config, **CI_ON}, policy_config)
    mandatory = [f"{v.policy} {v.resource_name}: {v.message}" for v in pack.violations
                 if v.enforcement_level == "mandatory"]
    assert mandatory == []


def test_the_waiver_file_waives_only_escalation_on_the_ci_role():
    waivers = json.loads((Path(ROOT) / "policies" / "config" / "ci-waivers.json").read_text())
    for policy, setting in waivers.items():
        assert "escalation" in policy
        assert all(w["resource"].startswith("ci-deploy") for w in setting["waivers"])
