"""IAM policies: identity, trust and resource policies, managed attachments, Lambda permissions, conflicts.

Each policy is called directly with Pulumi inputs as the engine sends them (camelCase, documents as
JSON strings); one test sends resources through the real pack over gRPC.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.iam import flow_log_delivery_policy, service_trust_policy, stack_key_policy
from policies.rules import Resource, Stack, rule_named
from policies.rules.base import UNKNOWN_SENTINELS

from .pack_client import as_recorded

POLICY = "aws:iam/policy:Policy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
USER_POLICY_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
GROUP_POLICY_ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
KMS_KEY = "aws:kms/key:Key"
ECR_REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
assert UNKNOWN in UNKNOWN_SENTINELS
ACCOUNT = "123456789012"
GITHUB = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
SUBJECT = "token.actions.githubusercontent.com:sub"
LOG_GROUP = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws-compute/dev/app"
IDENTITY_RULES = ("iam-no-full-admin", "iam-no-wildcard-action", "iam-no-service-wildcard-action",
                  "iam-no-iam-wildcard", "iam-no-unconstrained-resource", "iam-no-privilege-escalation",
                  "iam-no-credentials-exposure", "iam-no-data-exfiltration",
                  "iam-no-unconstrained-permissions-management", "iam-no-unconstrained-write",
                  "iam-no-kms-decrypt-on-all-keys", "iam-pass-role-scoped")


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def policy(*statements: dict[str, Any], type_: str = POLICY) -> Resource:
    return Resource(type_, {"policy": doc(*statements)})


def check(name: str, resource: Resource, config: dict[str, Any] | None = None) -> list[str]:
    return rule_named(name).evaluate(resource, config)


def trust(*statements: dict[str, Any]) -> Resource:
    return Resource(ROLE, {"assumeRolePolicy": doc(*statements)})


def assume(principal: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}


# --- Documents in every place they live -----------------------------------------------------------

def test_full_admin_is_found_in_a_policy_a_role_policy_and_a_role_inline_policy():
    admin = doc(allow("*"))
    role = Resource(ROLE, {"inlinePolicies": [{"name": "ok", "policy": doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))},
                                              {"name": "admin", "policy": admin}]})
    assert check("iam-no-full-admin", Resource(POLICY, {"policy": admin}))
    assert check("iam-no-full-admin", Resource(ROLE_POLICY, {"policy": admin}))
    assert [m.split(" ")[0] for m in check("iam-no-full-admin", role)] == ["inlinePolicies[1].policy"]


def test_a_document_given_as_an_object_is_judged_like_its_json():
    as_object = Resource(POLICY, {"policy": {"Version": "2012-10-17", "Statement": allow("*")}})
    assert check("iam-no-full-admin", as_object) == check("iam-no-full-admin", policy(allow("*")))


def test_an_invalid_document_is_reported_once_by_the_parse_policy():
    broken = Resource(ROLE_POLICY, {"policy": "{not json"})
    assert check("iam-policy-document-parseable", broken)[0].startswith("policy cannot be parsed")
    assert all(check(name, broken) == [] for name in IDENTITY_RULES)


def test_invalid_trust_and_key_policies_are_reported():
    assert check("iam-policy-document-parseable", Resource(ROLE, {"assumeRolePolicy": '{"Statement": 3}'}))
    assert check("iam-policy-document-parseable", Resource(KMS_KEY, {"policy": "[]"}))
    assert not check("iam-policy-document-parseable", policy(allow("s3:GetObject")))


def test_a_fully_unknown_document_is_reported_once_as_unverifiable_not_by_every_rule():
    unknown = Resource(ROLE_POLICY, {"policy": UNKNOWN})
    assert check("iam-policy-document-parseable", unknown) == [
        "policy cannot be verified during preview: its value is known only after the update"]
    assert check("iam-no-full-admin", unknown) == []


def test_an_unknown_resource_that_decides_is_unverifiable_and_a_known_finding_stays_certain():
    unknown_key = Resource(POLICY, {"policy": {"Statement": [allow("kms:Decrypt", UNKNOWN)]}})
    assert "cannot be verified" in check("iam-no-kms-decrypt-on-all-keys", unknown_key)[0]
    both = Resource(POLICY, {"policy": {"Statement": [allow("kms:Decrypt", UNKNOWN), allow("kms:Decrypt", "*")]}})
    assert "Statement[1]" in check("iam-no-kms-decrypt-on-all-keys", both)[0]


def test_an_unknown_resource_that_does_not_decide_is_not_reported():
    unknown_bucket = Resource(POLICY, {"policy": {"Statement": [allow("xray:PutTraceSegments", UNKNOWN)]}})
    assert check("iam-no-unconstrained-resource", unknown_bucket) == []


def test_an_unknown_list_of_inline_policies_cannot_be_verified():
    unknown_inline = Resource(ROLE, {"inlinePolicies": UNKNOWN})
    assert check("iam-policy-document-parseable", unknown_inline)[0].startswith("inlinePolicies cannot be verified")


# --- I1-I4: wildcards ------------------------------------------------------------------------------

def test_full_admin_is_refused_and_admin_of_one_bucket_is_not():
    assert check("iam-no-full-admin", policy(allow("*")))
    assert check("iam-no-full-admin", policy(allow("*:*")))
    assert not check("iam-no-full-admin", policy(allow("*", "arn:aws:s3:::bucket")))


def test_allow_with_not_action_on_every_resource_counts_as_full_admin():
    almost_everything = {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}
    message = check("iam-no-full-admin", policy(almost_everything))[0]
    assert "NotAction [iam:*, organizations:*]" in message
    assert not check("iam-no-wildcard-action", policy(almost_everything))  # one finding: iam-no-full-admin's


def test_a_deny_statement_never_makes_a_document_worse():
    guard = deny("*", "*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})
    not_action_deny = {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"}
    for name in IDENTITY_RULES:
        assert check(name, policy(guard, not_action_deny)) == [], name


def test_wildcard_action_is_refused_and_named_actions_pass():
    assert check("iam-no-wildcard-action", policy(allow("*", "arn:aws:s3:::bucket/*")))
    assert not check("iam-no-wildcard-action", policy(allow(["s3:GetObject", "s3:PutObject"])))


def test_service_wildcards_are_reported_but_star_only_services_are_not():
    assert "s3:*" in check("iam-no-service-wildcard-action", policy(allow("s3:*", "arn:aws:s3:::b/*")))[0]
    assert not check("iam-no-service-wildcard-action", policy(allow("ssmmessages:*")))
    assert not check("iam-no-service-wildcard-action", policy(allow("s3:Get*", "arn:aws:s3:::b/*")))


def test_iam_wildcard_is_refused_in_any_of_its_spellings():
    for action in ("iam:*", "IAM:*", "i*"):
        assert check("iam-no-iam-wildcard", policy(allow(action, "arn:aws:iam::123456789012:role/x"))), action
    # "*" is every action: iam-no-wildcard-action reports it, once.
    assert not check("iam-no-iam-wildcard", policy(allow("*", "arn:aws:iam::123456789012:role/x")))
    assert not check("iam-no-iam-wildcard", policy(allow("iam:Get*")))
    assert not check("iam-no-iam-wildcard", policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))


# --- I5-I11, I18: what is allowed on every resource -------------------------------------------------

def test_restrictable_actions_on_every_resource_are_refused():
    message = check("iam-no-unconstrained-resource", policy(allow(["sqs:ReceiveMessage", "ec2:DescribeInstances"])))[0]
    assert "sqs:ReceiveMessage" in message and "ec2:DescribeInstances" not in message.split("allows")[1]


def test_one_statement_of_a_service_wildcard_on_every_resource_gives_one_mandatory_finding():
    findings = [(name, m) for name in IDENTITY_RULES for m in check(name, policy(allow("s3:*")))
                if rule_named(name).enforcement == "mandatory"]
    [(name, message)] = findings
    assert name == "iam-no-unconstrained-permissions-management"
    assert "one finding for: iam-no-data-exfiltration, iam-no-unconstrained-write, iam-no-unconstrained-resource" \
        in message


def test_one_statement_of_every_action_on_every_resource_gives_one_finding():
    findings = [name for name in IDENTITY_RULES if check(name, policy(allow("*")))]
    assert findings == ["iam-no-full-admin"]


def test_a_deny_does_not_move_a_statement_to_a_narrower_policy():
    both = policy(allow("s3:*"), deny("s3:PutBucketPolicy", "*"))
    assert not check("iam-no-unconstrained-write", both)


def test_ec2_describe_on_every_resource_is_unconstrained_since_some_describes_take_a_resource():
    [message] = check("iam-no-unconstrained-resource", policy(allow(["ec2:Describe*"])))
    assert "ec2:Describe*" in message


def test_ec2_describe_instance_attribute_on_every_resource_is_unconstrained():
    [message] = check("iam-no-unconstrained-resource", policy(allow(["ec2:DescribeInstanceAttribute"])))
    assert "ec2:DescribeInstanceAttribute" in message


def test_actions_that_accept_only_star_pass_on_star():
    star_only = policy(allow(["logs:DescribeLogGroups", "ec2:DescribeInstances", "autoscaling:Describe*",
                              "xray:PutTraceSegments",
                              "xray:PutTelemetryRecords", "ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"]))
    for name in IDENTITY_RULES:
        assert check(name, star_only) == [], name


def test_named_resources_pass_the_unconstrained_resource_policy():
    scoped = policy(allow(["logs:CreateLogStream", "logs:PutLogEvents"], [LOG_GROUP, f"{LOG_GROUP}:*"]))
    assert not check("iam-no-unconstrained-resource", scoped)


def test_not_resource_counts_as_every_resource():
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::private/*"}
    assert check("iam-no-data-exfiltration", policy(statement))


def test_privilege_escalation_through_pass_role_and_a_new_lambda_is_refused():
    statements = [allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin"),
                  allow(["lambda:CreateFunction", "lambda:InvokeFunction"])]
    message = check("iam-no-privilege-escalation", policy(*statements))[0]
    assert "pass a role to a new Lambda function and invoke it" in message


def test_privilege_escalation_single_actions_are_refused():
    for action in ("iam:CreatePolicyVersion", "iam:AttachUserPolicy", "iam:Put*Policy"):
        assert check("iam-no-privilege-escalation", policy(allow(action))), action
    assert check("iam-no-privilege-escalation", policy(allow(["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"])))
    assert check("iam-no-privilege-escalation", policy(allow(["ec2:RunInstances", "iam:PassRole"])))


def test_part_of_an_escalation_path_is_not_escalation():
    assert not check("iam-no-privilege-escalation", policy(allow(["lambda:CreateFunction", "lambda:InvokeFunction"])))
    assert not check("iam-no-privilege-escalation", policy(allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/app")))


def test_an_unconditioned_deny_closes_an_escalation_path():
    closed = policy(allow("iam:*"), deny(["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:Create*",
                                          "iam:Update*", "iam:Attach*", "iam:Put*", "iam:AddUserToGroup",
                                          "iam:PassRole"]))
    assert not check("iam-no-privilege-escalation", closed)


def test_credentials_exposure_on_every_resource_is_refused_and_a_named_secret_passes():
    assert check("iam-no-credentials-exposure", policy(allow("secretsmanager:GetSecretValue")))
    assert check("iam-no-credentials-exposure", policy(allow("iam:CreateAccessKey")))
    named = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app-AbCdEf"
    assert not check("iam-no-credentials-exposure", policy(allow("secretsmanager:GetSecretValue", named)))


def test_token_actions_for_the_callers_own_identity_are_not_credentials_exposure():
    assert not check("iam-no-credentials-exposure", policy(allow(["ecr:GetAuthorizationToken", "sts:GetSessionToken"])))


def test_data_exfiltration_on_every_resource_is_refused_and_one_bucket_passes():
    assert check("iam-no-data-exfiltration", policy(allow("s3:Get*")))
    assert check("iam-no-data-exfiltration", policy(allow("ssm:GetParameter*")))
    assert not check("iam-no-data-exfiltration", policy(allow("s3:GetObject", "arn:aws:s3:::bucket/*")))


def test_permissions_management_on_every_resource_is_refused_and_on_one_role_passes():
    assert check("iam-no-unconstrained-permissions-management", policy(allow("iam:PutRolePolicy")))
    assert check("iam-no-unconstrained-permissions-management", policy(allow("kms:PutKeyPolicy")))
    role = f"arn:aws:iam::{ACCOUNT}:role/app"
    assert not check("iam-no-unconstrained-permissions-management", policy(allow("iam:PutRolePolicy", role)))


def test_write_actions_on_every_resource_are_refused_and_reads_pass():
    message = check("iam-no-unconstrained-write", policy(allow(["s3:PutObject", "s3:ListBucket"])))[0]
    assert "writes s3:PutObject" in message
    assert not check("iam-no-unconstrained-write", policy(allow(["s3:GetObject", "ec2:Describe*"])))
    assert not check("iam-no-unconstrained-write", policy(allow("s3:PutObject", "arn:aws:s3:::bucket/*")))


def test_kms_decrypt_on_every_key_is_refused_and_on_the_stack_key_passes():
    assert check("iam-no-kms-decrypt-on-all-keys", policy(allow("kms:Decrypt")))
    assert check("iam-no-kms-decrypt-on-all-keys", policy(allow(["kms:Decrypt*", "kms:Encrypt"])))
    assert check("iam-no-kms-decrypt-on-all-keys", policy(allow("kms:ReEncrypt*"), type_=ROLE_POLICY))
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert not check("iam-no-kms-decrypt-on-all-keys", policy(allow("kms:Decrypt", key)))
    assert not check("iam-no-kms-decrypt-on-all-keys", policy(allow("kms:Encrypt")))


def test_pass_role_on_every_role_is_refused_unless_scoped_by_resource_or_service_condition():
    assert check("iam-pass-role-scoped", policy(allow("iam:PassRole")))
    assert check("iam-pass-role-scoped", policy(allow("iam:Pass*")))
    assert not check("iam-pass-role-scoped", policy(allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/task")))
    to_ecs = allow("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}})
    assert not check("iam-pass-role-scoped", policy(to_ecs))
    not_to_ecs = allow("iam:PassRole", Condition={"StringNotEquals": {"iam:PassedToService": "ec2.amazonaws.com"}})
    assert check("iam-pass-role-scoped", policy(not_to_ecs))


# --- I12, I13, I19: managed policies and users -----------------------------------------------------

def test_administrator_access_and_iam_full_access_attachments_are_refused():
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    assert check("iam-no-privileged-managed-policies", Resource(ROLE_POLICY_ATTACHMENT, {"policyArn": admin}))
    assert check("iam-no-privileged-managed-policies",
                 Resource(GROUP_POLICY_ATTACHMENT, {"policyArn": "arn:aws-us-gov:iam::aws:policy/IAMFullAccess"}))
    message = check("iam-no-privileged-managed-policies", Resource(ROLE, {"managedPolicyArns": ["x", admin]}))[0]
    assert message.startswith("managedPolicyArns[1] = arn:aws:iam::aws:policy/AdministratorAccess")


def test_narrow_managed_policies_and_customer_policies_named_alike_pass():
    for arn in ("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
                f"arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess", UNKNOWN):
        assert not check("iam-no-privileged-managed-policies", Resource(ROLE_POLICY_ATTACHMENT, {"policyArn": arn}))


def test_denied_managed_policies_are_configurable():
    power_user = Resource(ROLE_POLICY_ATTACHMENT, {"policyArn": "arn:aws:iam::aws:policy/PowerUserAccess"})
    assert not check("iam-no-privileged-managed-policies", power_user)
    assert check("iam-no-privileged-managed-policies", power_user, {"deniedManagedPolicies": ["PowerUserAccess"]})


def test_policies_on_users_are_refused_and_on_groups_pass():
    assert check("iam-no-user-policies", Resource(USER_POLICY, {"user": "alice", "policy": doc(allow("s3:GetObject"))}))
    assert check("iam-no-user-policies", Resource(USER_POLICY_ATTACHMENT, {"user": "alice", "policyArn": "arn"}))
    assert check("iam-no-user-policies", Resource(POLICY_ATTACHMENT, {"users": ["alice"], "policyArn": "arn"}))
    assert not check("iam-no-user-policies", Resource(POLICY_ATTACHMENT, {"groups": ["devs"], "policyArn": "arn"}))
    assert "cannot be verified" in check("iam-no-user-policies", Resource(POLICY_ATTACHMENT, {"users": UNKNOWN}))[0]


# --- I14-I16: trust policies -----------------------------------------------------------------------

def test_a_trust_policy_open_to_every_principal_is_refused():
    assert check("iam-trust-policy-no-public-principal", trust(assume("*")))
    assert check("iam-trust-policy-no-public-principal", trust(assume({"AWS": "*"})))


def test_a_trust_policy_for_one_service_or_role_passes():
    assert not check("iam-trust-policy-no-public-principal", trust(assume({"Service": "lambda.amazonaws.com"})))
    assert not check("iam-trust-policy-no-public-principal",
                     trust(assume({"AWS": f"arn:aws:iam::{ACCOUNT}:role/deploy"})))


def test_a_public_trust_narrowed_to_the_organization_passes():
    in_org = assume("*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})
    assert not check("iam-trust-policy-no-public-principal", trust(in_org))


def test_a_public_deny_in_a_trust_policy_is_not_a_grant():
    assert not check("iam-trust-policy-no-public-principal",
                     trust({"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}))


def test_trusting_a_whole_account_is_refused_unless_a_condition_names_the_principals():
    assert check("iam-trust-policy-no-account-root", trust(assume({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})))
    assert check("iam-trust-policy-no-account-root", trust(assume({"AWS": ACCOUNT})))
    named = assume({"AWS": ACCOUNT}, Condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ci-*"}})
    assert not check("iam-trust-policy-no-account-root", trust(named))
    assert not check("iam-trust-policy-no-account-root", trust(assume({"AWS": f"arn:aws:iam::{ACCOUNT}:role/ci"})))


def github(**condition: Any) -> Resource:
    statement = {"Effect": "Allow", "Principal": {"Federated": GITHUB}, "Action": "sts:AssumeRoleWithWebIdentity"}
    if condition:
        statement["Condition"] = condition
    return trust(statement)


def test_github_oidc_trust_without_a_subject_condition_is_refused():
    assert check("iam-github-oidc-trust-scoped", github())
    assert check("iam-github-oidc-trust-scoped",
                 github(StringEquals={"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}))


def test_github_oidc_trust_with_a_wildcard_subject_is_refused():
    for subject in ("*", "repo:*", "repo:*/app:*", "repo:my-org/*"):
        assert check("iam-github-oidc-trust-scoped", github(StringLike={SUBJECT: subject})), subject


def test_github_oidc_trust_pinned_to_a_repository_passes():
    for subject in ("repo:my-org/app:ref:refs/heads/main", "repo:my-org/app:environment:prod", "repo:my-org/app:*"):
        assert not check("iam-github-oidc-trust-scoped", github(StringLike={SUBJECT: subject})), subject


def test_a_negated_github_subject_condition_does_not_scope():
    negated = github(StringNotEquals={SUBJECT: "repo:evil/x:ref:refs/heads/main"})
    assert check("iam-github-oidc-trust-scoped", negated)


def test_organisation_wide_github_subjects_can_be_allowed():
    org_wide = github(StringLike={SUBJECT: "repo:my-org/*"})
    assert not check("iam-github-oidc-trust-scoped", org_wide, {"allowRepositoryWildcards": True})
    any_owner = github(StringLike={SUBJECT: "repo:*/app:*"})
    assert check("iam-github-oidc-trust-scoped", any_owner, {"allowRepositoryWildcards": True})


# --- K2, E17, I17: resource policies ---------------------------------------------------------------

def public(action: Any = "kms:*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": "*", "Action": action, "Resource": "*", **extra}


def test_a_key_policy_granting_to_everyone_is_refused():
    assert check("kms-key-policy-not-public", Resource(KMS_KEY, {"policy": doc(public())}))
    not_principal = {"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                     "Action": "kms:Decrypt", "Resource": "*"}
    assert "NotPrincipal" in check("kms-key-policy-not-public", Resource(KMS_KEY, {"policy": doc(not_principal)}))[0]


def test_a_key_policy_public_only_with_a_caller_account_condition_passes():
    narrowed = public("kms:Decrypt", Condition={"StringEquals": {"kms:CallerAccount": ACCOUNT}})
    assert not check("kms-key-policy-not-public", Resource(KMS_KEY, {"policy": doc(narrowed)}))


def test_a_key_policy_deny_to_everyone_is_not_a_grant():
    denial = {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}
    assert not check("kms-key-policy-not-public", Resource(KMS_KEY, {"policy": doc(denial)}))


def test_the_stacks_own_key_policy_passes_every_policy():
    key_policy = stack_key_policy("aws", "us-east-1", ACCOUNT, ["/aws-compute/dev/"])
    key = Resource(KMS_KEY, {"policy": json.dumps(key_policy)})
    for name in ("kms-key-policy-not-public", "iam-policy-document-parseable"):
        assert check(name, key) == [], name


def test_a_public_ecr_repository_policy_is_refused_and_an_account_pull_policy_passes():
    pull = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    anyone = {"Effect": "Allow", "Principal": "*", "Action": pull}
    assert check("ecr-repository-policy-not-public", Resource(ECR_REPOSITORY_POLICY, {"policy": doc(anyone)}))
    account = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": pull}
    assert not check("ecr-repository-policy-not-public", Resource(ECR_REPOSITORY_POLICY, {"policy": doc(account)}))


def test_a_public_secret_policy_is_refused_and_a_role_grant_passes():
    assert check("resource-policy-not-public", Resource(SECRET_POLICY, {"policy": doc(public("secretsmanager:*"))}))
    role = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/app"},
            "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    assert not check("resource-policy-not-public", Resource(SECRET_POLICY, {"policy": doc(role)}))


def test_an_unknown_key_policy_cannot_be_verified():
    unknown = Resource(KMS_KEY, {"policy": UNKNOWN})
    assert "cannot be verified" in check("iam-policy-document-parseable", unknown)[0]
    assert check("kms-key-policy-not-public", unknown) == []


# --- F1, F2: Lambda permissions ---------------------------------------------------------------------

def permission(**props: Any) -> Resource:
    return Resource(LAMBDA_PERMISSION, {"action": "lambda:InvokeFunction", "function": "fn", **props})


def test_a_lambda_permission_for_everyone_is_refused():
    assert check("lambda-permission-not-public", permission(principal="*"))
    assert check("lambda-permission-not-public",
                 permission(principal="*", action="lambda:InvokeFunctionUrl", functionUrlAuthType="NONE",
                            sourceAccount=ACCOUNT))


def test_a_lambda_permission_for_everyone_in_one_account_or_org_passes():
    assert not check("lambda-permission-not-public", permission(principal="*", sourceAccount=ACCOUNT))
    assert not check("lambda-permission-not-public", permission(principal="*", principalOrgId="o-abc123"))
    assert not check("lambda-permission-not-public", permission(principal=ACCOUNT))


def test_a_lambda_permission_for_everyone_from_a_wildcard_source_arn_is_refused():
    for source in ("arn:aws:s3:::*", "arn:aws:execute-api:*:*:*", "*"):
        [message] = check("lambda-permission-not-public", permission(principal="*", sourceArn=source))
        assert "a wildcard ARN such as arn:aws:s3:::* names none" in message, source


def test_a_service_permission_from_a_wildcard_source_arn_is_refused():
    wildcard = permission(principal="s3.amazonaws.com", sourceArn="arn:aws:s3:::*")
    assert check("lambda-permission-source-scoped", wildcard)


def test_a_missing_source_arn_of_an_api_gateway_permission_is_reported_by_one_policy(pack):
    perm = as_recorded(LAMBDA_PERMISSION, {"principal": "apigateway.amazonaws.com", "action": "lambda:InvokeFunction",
                                           "function": "fn"}, name="perm")
    findings = [f.policy for f in pack.analyze([perm]) if f.urn.endswith("::perm")]
    assert findings == ["lambda-permission-source-scoped"]


def test_an_unknown_lambda_principal_without_a_source_cannot_be_verified():
    assert "cannot be verified" in check("lambda-permission-not-public", permission(principal=UNKNOWN))[0]


def test_a_service_permission_without_a_source_arn_is_refused():
    message = check("lambda-permission-source-scoped", permission(principal="apigateway.amazonaws.com"))[0]
    assert message.startswith("principal = apigateway.amazonaws.com")
    assert check("lambda-permission-source-scoped", permission(principal="s3.amazonaws.com", sourceArn="*"))


def test_a_service_permission_with_a_source_arn_passes_even_while_the_arn_is_unknown():
    api = f"arn:aws:execute-api:us-east-1:{ACCOUNT}:abc123/*/*"
    assert not check("lambda-permission-source-scoped", permission(principal="apigateway.amazonaws.com", sourceArn=api))
    assert not check("lambda-permission-source-scoped",
                     permission(principal="apigateway.amazonaws.com", sourceArn=UNKNOWN))


def test_source_account_alone_passes_only_when_configured():
    s3 = permission(principal="s3.amazonaws.com", sourceAccount=ACCOUNT)
    assert check("lambda-permission-source-scoped", s3)
    assert not check("lambda-permission-source-scoped", s3, {"acceptSourceAccount": True})


def test_an_account_principal_needs_no_source_arn():
    assert not check("lambda-permission-source-scoped", permission(principal=ACCOUNT))


# --- I20: policy management conflicts ---------------------------------------------------------------

def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::aws-compute::{type_}::{name}"


def role(name: str, **props: Any) -> Resource:
    return Resource(ROLE, {"id": f"{name}-id", "assumeRolePolicy": "{}", **props}, name=name, urn=urn(ROLE, name))


def attached(type_: str, name: str, target: Resource, key: str = "role", **props: Any) -> Resource:
    value = [target.id] if key == "roles" else target.id
    return Resource(type_, {key: value, **props}, name=name, urn=urn(type_, name),
                    property_dependencies={key: (target.urn,)})


def conflicts(*resources: Resource) -> list[tuple[str, str]]:
    found = rule_named("iam-role-no-policy-management-conflicts").evaluate_stack(Stack(resources))
    return [(r.name, message) for r, message in found]


def test_a_role_policy_on_a_role_with_inline_policies_is_a_conflict():
    inline = role("app", inlinePolicies=[{"name": "logs", "policy": doc(allow("logs:PutLogEvents", LOG_GROUP))}])
    found = conflicts(inline, attached(ROLE_POLICY, "extra", inline, policy=doc(allow("s3:GetObject"))))
    assert [name for name, _ in found] == ["extra"]
    assert "sets inlinePolicies" in found[0][1]


def test_an_attachment_on_a_role_with_managed_policy_arns_is_a_conflict_even_an_empty_list():
    exclusive = role("app", managedPolicyArns=[])
    assert conflicts(exclusive, attached(ROLE_POLICY_ATTACHMENT, "attach", exclusive, policyArn="arn"))
    assert conflicts(exclusive, attached(POLICY_ATTACHMENT, "shared", exclusive, key="roles", policyArn="arn"))


def test_a_role_managed_only_by_separate_resources_has_no_conflict():
    plain = role("app")
    other = role("other", inlinePolicies=[])
    separate = [attached(ROLE_POLICY, "p", plain), attached(ROLE_POLICY_ATTACHMENT, "a", plain)]
    assert conflicts(plain, other, *separate) == []


def test_a_conflict_is_found_by_role_name_when_no_dependency_is_recorded():
    exclusive = role("app", managedPolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"])
    by_name = Resource(ROLE_POLICY, {"role": "app-id"}, name="p", urn=urn(ROLE_POLICY, "p"))
    assert conflicts(exclusive, by_name)


# --- The project's own documents and robustness -----------------------------------------------------

def test_the_stacks_own_flow_log_documents_pass_every_policy():
    trust_policy = service_trust_policy("vpc-flow-logs.amazonaws.com", ACCOUNT)
    role_ = Resource(ROLE, {"assumeRolePolicy": json.dumps(trust_policy)})
    delivery = Resource(ROLE_POLICY, {"policy": json.dumps(flow_log_delivery_policy(LOG_GROUP))})
    for name in (*IDENTITY_RULES, "iam-trust-policy-no-public-principal", "iam-trust-policy-no-account-root",
                 "iam-github-oidc-trust-scoped", "iam-policy-document-parseable"):
        assert check(name, role_) == [] and check(name, delivery) == [], name


statements = st.fixed_dictionaries({
    "Effect": st.sampled_from(["Allow", "Deny"]),
    "Action": st.lists(st.sampled_from(["*", "s3:*", "s3:GetObject", "iam:PassRole", "kms:Decrypt", "iam:Put*",
                                        "lambda:CreateFunction", "lambda:InvokeFunction", "ec2:Describe*"]),
                       min_size=1, max_size=4),
    "Resource": st.sampled_from(["*", "arn:aws:s3:::bucket/*", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"]),
})


@given(st.lists(statements.filter(lambda s: s["Effect"] == "Allow"), min_size=1, max_size=3),
       st.lists(statements.map(lambda s: {**s, "Effect": "Deny"}), min_size=1, max_size=3))
def test_adding_deny_statements_never_adds_a_finding(allows, denies):
    for name in IDENTITY_RULES:
        # A Deny may shorten a finding's list of actions, never add a finding.
        before, after = check(name, policy(*allows)), check(name, policy(*allows, *denies))
        assert len(after) <= len(before), name


# --- Through the pack ---------------------------------------------------------------------------------

def test_the_pack_reports_iam_findings_over_grpc(pack):
    admin = as_recorded(POLICY, {"policy": doc(allow("*"))}, name="admin")
    scoped = as_recorded(ROLE_POLICY, {"policy": doc(allow("logs:PutLogEvents", f"{LOG_GROUP}:*")), "role": "r"},
                         name="scoped")
    exclusive = as_recorded(ROLE, {"assumeRolePolicy": doc(assume({"Service": "lambda.amazonaws.com"})),
                                   "managedPolicyArns": []}, name="app", id="app-id")
    iam_full_access = "arn:aws:iam::aws:policy/IAMFullAccess"
    extra = as_recorded(ROLE_POLICY_ATTACHMENT, {"role": "app-id", "policyArn": iam_full_access},
                        name="extra", property_dependencies={"role": [exclusive.urn]})
    public_key = as_recorded(KMS_KEY, {"policy": doc(public())}, name="key")
    open_lambda = as_recorded(LAMBDA_PERMISSION, {"principal": "*", "action": "lambda:InvokeFunction",
                                                  "function": "fn"}, name="perm")
    findings = pack.analyze([admin, scoped, exclusive, extra, public_key, open_lambda])
    by_policy = {(f.policy, f.urn.rsplit("::", 1)[-1]) for f in findings}
    assert {("iam-no-full-admin", "admin"), ("iam-no-privileged-managed-policies", "extra"),
            ("iam-role-no-policy-management-conflicts", "extra"), ("kms-key-policy-not-public", "key"),
            ("lambda-permission-not-public", "perm")} <= by_policy
    assert not any(name == "scoped" for _, name in by_policy)


ONE_BAD_STATEMENT = {
    "iam-no-full-admin": allow("*"),
    "iam-no-wildcard-action": allow("*", "arn:aws:s3:::bucket"),
    "iam-no-service-wildcard-action": allow("s3:*", "arn:aws:s3:::bucket"),
    "iam-no-iam-wildcard": allow("iam:*", f"arn:aws:iam::{ACCOUNT}:role/app"),
    "iam-no-unconstrained-resource": allow("sqs:ReceiveMessage"),
    "iam-no-privilege-escalation": allow("iam:CreatePolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/app"),
    "iam-no-credentials-exposure": allow("iam:CreateAccessKey"),
    "iam-no-data-exfiltration": allow("s3:GetObject"),
    "iam-no-unconstrained-permissions-management": allow("iam:AttachRolePolicy"),
    "iam-no-unconstrained-write": allow("dynamodb:PutItem"),
    "iam-no-kms-decrypt-on-all-keys": allow("kms:Decrypt"),
    "iam-pass-role-scoped": allow("iam:PassRole"),
}


@pytest.mark.parametrize("name", IDENTITY_RULES)
@pytest.mark.parametrize("type_", [POLICY, ROLE_POLICY, USER_POLICY, "aws:iam/groupPolicy:GroupPolicy", ROLE])
def test_each_identity_policy_judges_every_kind_of_identity_document(name, type_):
    document = doc(ONE_BAD_STATEMENT[name])
    props = {"inlinePolicies": [{"name": "p", "policy": document}]} if type_ == ROLE else {"policy": document}
    assert check(name, Resource(type_, props)), (name, type_)


# --- I16: every form of GitHub's sub claim, and the Enterprise issuer --------------------------------

ENTERPRISE = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com/octo-enterprise"
ENTERPRISE_SUBJECT = "token.actions.githubusercontent.com/octo-enterprise:sub"


def github_enterprise(**condition: Any) -> Resource:
    statement = {"Effect": "Allow", "Principal": {"Federated": ENTERPRISE}, "Action": "sts:AssumeRoleWithWebIdentity"}
    if condition:
        statement["Condition"] = condition
    return trust(statement)


def test_a_subject_of_the_main_branch_of_every_repository_is_refused():
    [message] = check("iam-github-oidc-trust-scoped", github(StringLike={SUBJECT: "*:ref:refs/heads/main"}))
    assert "*:ref:refs/heads/main" in message


def test_a_subject_of_any_repositorys_prod_environment_is_refused():
    for operator in ("StringEquals", "StringLike"):
        [message] = check("iam-github-oidc-trust-scoped", github(**{operator: {SUBJECT: "environment:prod"}}))
        assert "names no repository" in message, operator


def test_a_custom_subject_naming_a_repository_passes():
    for subject in ("repository:my-org/app:environment:prod", "repository_owner_id:72338:repository_id:512345:"
                    "environment:prod", "job_workflow_ref:my-org/app/.github/workflows/deploy.yml@refs/heads/main",
                    "repository_id:512345"):
        assert not check("iam-github-oidc-trust-scoped", github(StringEquals={SUBJECT: subject})), subject


def test_a_custom_subject_naming_only_the_owner_is_refused_unless_repository_wildcards_are_allowed():
    owner_only = github(StringEquals={SUBJECT: "repository_owner:my-org:environment:prod"})
    assert check("iam-github-oidc-trust-scoped", owner_only)
    assert not check("iam-github-oidc-trust-scoped", owner_only, {"allowRepositoryWildcards": True})


def test_a_wildcard_before_the_repository_claim_is_refused():
    assert check("iam-github-oidc-trust-scoped", github(StringLike={SUBJECT: "*repo:my-org/app:*"}))


def test_a_star_under_string_equals_is_literal_and_matches_no_token():
    assert not check("iam-github-oidc-trust-scoped", github(StringEquals={SUBJECT: "*"}))
    assert not check("iam-github-oidc-trust-scoped", github(StringEquals={SUBJECT: "repo:*/app:*"}))


def test_a_star_under_string_like_is_a_wildcard():
    assert check("iam-github-oidc-trust-scoped", github(StringLike={SUBJECT: "*"}))


def test_an_enterprise_issuer_trust_with_no_condition_is_refused():
    [message] = check("iam-github-oidc-trust-scoped", github_enterprise())
    assert ENTERPRISE_SUBJECT in message


def test_an_enterprise_issuer_trust_pinned_on_its_own_subject_key_passes():
    pinned = github_enterprise(StringEquals={ENTERPRISE_SUBJECT: "repo:my-org/app:environment:prod"})
    assert not check("iam-github-oidc-trust-scoped", pinned)


def test_an_enterprise_issuer_trust_is_not_pinned_by_the_public_issuers_subject_key():
    other_key = github_enterprise(StringEquals={SUBJECT: "repo:my-org/app:environment:prod"})
    assert check("iam-github-oidc-trust-scoped", other_key)


def test_one_pinned_subject_condition_is_enough_as_every_condition_must_hold():
    both = github(StringLike={SUBJECT: "repo:my-org/*"}, StringEquals={SUBJECT: "repo:my-org/app:environment:prod"})
    assert not check("iam-github-oidc-trust-scoped", both)
