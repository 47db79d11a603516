"""IAM policies: identity policies, trust policies, managed policy attachments and resource policies.

Catalog section G (rows I1-I20) plus the resource-policy rows K2, E17, F1 and F2. Every judgement of a
policy document goes through ``iam_documents``; this module only says where the documents are, which
question each policy asks of them, and how to word the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from .base import Resource, Stack, as_list, indexed, is_unknown, resource_rule, stack_rule, unverifiable
from .iam_documents import (
    CREDENTIALS_EXPOSURE,
    DATA_EXFILTRATION,
    DECRYPTION,
    GITHUB_OIDC_PROVIDER,
    KNOWN_AFTER_UPDATE,
    PASS_ROLE_SCOPING_KEYS,
    PERMISSIONS_MANAGEMENT,
    PRINCIPAL_SCOPING_KEYS,
    Document,
    Statement,
    is_account_root,
    is_star_only,
    is_unconstrained_resource,
    is_wildcard_only,
    may_match_write,
    read_document,
)

POLICY = "aws:iam/policy:Policy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
USER_POLICY_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
GROUP_POLICY_ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
ROLE_ATTACHMENTS_EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
USER_ATTACHMENTS_EXCLUSIVE = "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive"
GROUP_ATTACHMENTS_EXCLUSIVE = "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive"
USER_POLICIES_EXCLUSIVE = "aws:iam/userPoliciesExclusive:UserPoliciesExclusive"
KMS_KEY = "aws:kms/key:Key"
KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
ECR_REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
ECR_REGISTRY_POLICY = "aws:ecr/registryPolicy:RegistryPolicy"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
LOG_RESOURCE_POLICY = "aws:cloudwatch/logResourcePolicy:LogResourcePolicy"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"

IDENTITY_TYPES = (POLICY, ROLE_POLICY, ROLE, USER_POLICY, GROUP_POLICY)
RESOURCE_POLICY_PROPERTY = {
    KMS_KEY: "policy", KMS_KEY_POLICY: "policy", ECR_REPOSITORY_POLICY: "policy", ECR_REGISTRY_POLICY: "policy",
    SECRET_POLICY: "policy", LOG_RESOURCE_POLICY: "policyDocument",
}
SINGLE_ARN_ATTACHMENTS = (ROLE_POLICY_ATTACHMENT, USER_POLICY_ATTACHMENT, GROUP_POLICY_ATTACHMENT, POLICY_ATTACHMENT)
ARN_LIST_ATTACHMENTS = (ROLE_ATTACHMENTS_EXCLUSIVE, USER_ATTACHMENTS_EXCLUSIVE, GROUP_ATTACHMENTS_EXCLUSIVE)

Finder = Callable[[Document], Iterable[str]]


# ---------------------------------------------------------------------------------------------------
# Where the documents are, and how a finding becomes a message
# ---------------------------------------------------------------------------------------------------


def identity_documents(resource: Resource) -> Iterator[tuple[str, Any]]:
    """(property path, document) of each identity policy the resource carries."""
    if resource.type == ROLE:
        if is_unknown(resource.get("inlinePolicies")):
            yield "inlinePolicies", resource.get("inlinePolicies")
            return
        for i, inline in indexed(resource.get("inlinePolicies")):
            if isinstance(inline, Mapping):
                yield f"inlinePolicies[{i}].policy", inline.get("policy")
    elif resource.type in IDENTITY_TYPES:
        yield "policy", resource.get("policy")


def trust_documents(resource: Resource) -> Iterator[tuple[str, Any]]:
    if resource.type == ROLE:
        yield "assumeRolePolicy", resource.get("assumeRolePolicy")


def resource_documents(resource: Resource) -> Iterator[tuple[str, Any]]:
    key = RESOURCE_POLICY_PROPERTY.get(resource.type)
    if key:
        yield key, resource.get(key)


def judged(documents: Iterable[tuple[str, Any]], finder: Finder) -> Iterator[str]:
    """The finder's findings in each document, prefixed with the document's path.

    A finding in the best case of a partly unknown document is certain; one only in the worst case
    means the unknown decides, and the document is reported as unverifiable."""
    for path, value in documents:
        reading = read_document(value)
        if reading.status != "parsed":
            # absent: nothing granted. Invalid, or wholly unknown during a preview (a document built from
            # other resources' outputs): iam-policy-document-parseable says so once, not every rule.
            continue
        certain = list(finder(reading.best))
        if certain:
            yield from (f"{path} {finding}" for finding in certain)
        elif reading.partly_unknown and any(True for _ in finder(reading.worst)):
            yield unverifiable(path)


def _shown(values: Iterable[str]) -> str:
    values = list(values)
    return values[0] if len(values) == 1 else "[" + ", ".join(values) + "]"


def _actions(statement: Statement) -> str:
    return ("NotAction " if statement.not_action else "Action ") + _shown(statement.actions)


def _resources(statement: Statement) -> str:
    if statement.resources is None:
        return "no Resource"
    return ("NotResource " if statement.not_resource else "Resource ") + _shown(statement.resources)


def _where(statement: Statement) -> str:
    return f"{statement.label}: {_actions(statement)} on {_resources(statement)}"


# One defect, one finding. Several policies judge the same Allow statement of an identity policy; the statement
# is reported by the first of STATEMENT_PRECEDENCE that finds something in it, and the others stay quiet on it.
# Action breadth first (every action on every resource, every action, every IAM action); then, on every
# resource, the policy that names the risk (credentials, permissions management, decryption, data reads,
# PassRole, writes) before the generic iam-no-unconstrained-resource, so that a waiver or a disabled generic
# policy never hides a credential exposure. The reported finding names the policies it stands for.
STATEMENT_PRECEDENCE = (
    "iam-no-full-admin", "iam-no-wildcard-action", "iam-no-iam-wildcard", "iam-no-credentials-exposure",
    "iam-pass-role-scoped", "iam-no-unconstrained-permissions-management", "iam-no-kms-decrypt-on-all-keys",
    "iam-no-data-exfiltration", "iam-no-unconstrained-write", "iam-no-unconstrained-resource",
)


def _finds(policy: str, document: Document, s: Statement) -> bool:
    """Whether ``policy`` finds something in the Allow statement ``s`` of ``document``."""
    category = {"iam-no-credentials-exposure": CREDENTIALS_EXPOSURE, "iam-no-data-exfiltration": DATA_EXFILTRATION,
                "iam-no-unconstrained-permissions-management": PERMISSIONS_MANAGEMENT,
                "iam-no-kms-decrypt-on-all-keys": DECRYPTION}.get(policy)
    if category is not None:
        return any(found is s for found, _ in document.unconstrained(category))
    if policy == "iam-no-full-admin":
        return _every_action(s) and s.on_every_resource
    if policy == "iam-no-wildcard-action":
        return _every_action(s)
    if policy == "iam-no-iam-wildcard":
        return s.covers_all_of("iam:*")
    if policy == "iam-pass-role-scoped":
        return (s.allows_action("iam:PassRole") and s.on_every_resource and not s.scoped_by(PASS_ROLE_SCOPING_KEYS)
                and not document.denied_everywhere("iam:PassRole"))
    if policy == "iam-no-unconstrained-write":
        return s.on_every_resource and (s.not_action or any(may_match_write(p) and not is_star_only(p)
                                                            for p in s.actions))
    if policy == "iam-no-unconstrained-resource":
        return s.on_every_resource and (s.not_action or bool(s.broad_action_patterns()))
    raise KeyError(policy)


def statement_owner(document: Document, s: Statement) -> str | None:
    """The one policy that reports this Allow statement (None: no statement policy finds anything in it)."""
    # Judged on the Allow statements alone, so that adding a Deny never moves a finding to another policy.
    allows = Document(document.allow_statements)
    return next((policy for policy in STATEMENT_PRECEDENCE if _finds(policy, allows, s)), None)


def reports(policy: str, document: Document, s: Statement) -> bool:
    return statement_owner(document, s) == policy


def also_covers(policy: str, document: Document, s: Statement) -> str:
    """The other policies that find something in the statement and stay quiet on it, for the message."""
    others = [p for p in STATEMENT_PRECEDENCE if p != policy and _finds(p, document, s)]
    return f" (one finding for: {', '.join(others)})" if others else ""


def _identity_rule(**metadata: Any):
    return resource_rule(types=IDENTITY_TYPES, **metadata)


# ---------------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------------


@resource_rule(
    name="iam-policy-document-parseable",
    description="Ensure every IAM policy document (identity, trust and resource policies) parses, so that "
                "the other IAM policies can judge it.",
    severity="high",
    enforcement="mandatory",
    controls=[],
    remediation="Build the document as a Python dict with Version '2012-10-17' and a Statement list, and pass "
                "json.dumps(doc) (components/iam.py: document(), to_json()).",
    types=(*IDENTITY_TYPES, *RESOURCE_POLICY_PROPERTY),
)
def policy_document_parseable(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    documents = [*identity_documents(resource), *trust_documents(resource), *resource_documents(resource)]
    for path, value in documents:
        reading = read_document(value)
        if reading.status == "invalid":
            yield (f"{path} cannot be parsed as an IAM policy document: {reading.problem}; allowed: a JSON "
                   f"object with a Statement object or list")
        elif reading.status == "unknown":
            yield unverifiable(path)


# ---------------------------------------------------------------------------------------------------
# Identity policies: wildcards (I1-I4)
# ---------------------------------------------------------------------------------------------------


def _every_action(statement: Statement) -> bool:
    # Every action has a service prefix, so "*:*" is every action. Allow + NotAction grants every action
    # except the few listed: treated as a wildcard.
    return statement.covers_all_of("*:*") or statement.not_action


@_identity_rule(
    name="iam-no-full-admin",
    description="Ensure no IAM policy allows every action on every resource (*:*).",
    severity="critical",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_62", "checkov:CKV_AWS_1", "fsbp:IAM.1", "cis-aws:1.16", "catalog:I1"],
    remediation="List the actions and resource ARNs the workload needs, e.g. {'Effect': 'Allow', 'Action': "
                "['s3:GetObject'], 'Resource': [bucket.arn.apply(lambda a: f'{a}/*')]}.",
)
def no_full_admin(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    def finder(document: Document) -> Iterator[str]:
        for s in document.allow_statements:
            if _every_action(s) and s.on_every_resource:
                covers = also_covers("iam-no-full-admin", document, s)
                yield (f"{_where(s)} allows every action on every resource{covers}; "
                       f"allowed: named actions on named resources")
    return judged(identity_documents(resource), finder)


@_identity_rule(
    name="iam-no-wildcard-action",
    description="Ensure no IAM policy allows Action '*' (or every action through NotAction).",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_63", "checkov:CKV_AWS_49", "trivy:AVD-AWS-0057", "catalog:I2"],
    remediation="Replace 'Action': '*' (or NotAction) with the list of actions the workload calls.",
)
def no_wildcard_action(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    def finder(document: Document) -> Iterator[str]:
        for s in document.allow_statements:
            if reports("iam-no-wildcard-action", document, s):
                yield f"{_where(s)} allows every action{also_covers('iam-no-wildcard-action', document, s)}; " \
                      f"allowed: named actions"
    return judged(identity_documents(resource), finder)


def service_wildcards(statement: Statement) -> list[str]:
    """Action patterns that allow every action of one service (``s3:*``), "*"-only services aside."""
    if statement.not_action:
        return []
    return [p for p in statement.actions if ":" in p and is_wildcard_only(p.split(":", 1)[1])
            and not is_wildcard_only(p.split(":", 1)[0]) and not is_star_only(p)]


@_identity_rule(
    name="iam-no-service-wildcard-action",
    description="Ensure IAM policies do not allow every action of a service (e.g. 's3:*').",
    severity="low",
    enforcement="advisory",
    controls=["fsbp:IAM.21", "catalog:I3"],
    remediation="Replace 'service:*' with the service's actions the workload calls, e.g. "
                "['s3:GetObject', 's3:PutObject'].",
)
def no_service_wildcard_action(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    def finder(document: Document) -> Iterator[str]:
        for s in document.allow_statements:
            wildcards = service_wildcards(s)
            if wildcards and not _every_action(s):
                yield f"{_where(s)} allows every action of {_shown(wildcards)}; allowed: named actions"
    return judged(identity_documents(resource), finder)


@_identity_rule(
    name="iam-no-iam-wildcard",
    description="Ensure no IAM policy allows every IAM action (iam:* or broader).",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV2_AWS_40", "catalog:I4"],
    remediation="Grant the few IAM actions needed on named roles, e.g. 'iam:PassRole' on one role ARN with a "
                "Condition on iam:PassedToService.",
)
def no_iam_wildcard(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    def finder(document: Document) -> Iterator[str]:
        for s in document.allow_statements:
            if reports("iam-no-iam-wildcard", document, s):
                yield (f"{_where(s)} allows every IAM action (iam:*){also_covers('iam-no-iam-wildcard', document, s)}; "
                       f"allowed: named IAM actions")
    return judged(identity_documents(resource), finder)


# ---------------------------------------------------------------------------------------------------
# Identity policies: what may be done on every resource (I5-I11, I18)
# ---------------------------------------------------------------------------------------------------


@_identity_rule(
    name="iam-no-unconstrained-resource",
    description="Ensure IAM policies grant actions that support resource-level permissions only on named "
                "resources, not on '*' (actions that accept only '*' are exempt).",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_355", "checkov:CKV_AWS_356", "catalog:I5"],
    remediation="Set Resource to the ARNs the actions act on (e.g. log_group.arn, table.arn); keep '*' only "
                "for actions that accept nothing else (ec2:DescribeInstances, xray:PutTraceSegments, ...).",
)
def no_unconstrained_resource(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    def finder(document: Document) -> Iterator[str]:
        for s in document.allow_statements:
            if not reports("iam-no-unconstrained-resource", document, s):
                continue
            if s.not_action:
                yield f"{_where(s)} allows every unlisted action on every resource; allowed: named resources"
            elif broad := s.broad_action_patterns():
                yield (f"{_where(s)} allows {_shown(broad)} on every resource, although they support "
                       f"resource-level permissions; allowed: named resource ARNs")
    return judged(identity_documents(resource), finder)


@_identity_rule(
    name="iam-no-privilege-escalation",
    description="Ensure no IAM policy allows a combination of actions that lets a principal raise its own "
                "privileges (e.g. iam:PassRole + lambda:CreateFunction + lambda:InvokeFunction).",
    severity="critical",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_286", "checkov:CKV_AWS_110", "catalog:I6"],
    remediation="Split deployment permissions (PassRole, CreateFunction, Put*Policy, ...) from workload roles; "
                "a role that must pass roles gets iam:PassRole on named role ARNs only.",
)
def no_privilege_escalation(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    def finder(document: Document) -> Iterator[str]:
        # A statement of every action (or every IAM action) grants every path: its own policy reports it.
        rest = Document(tuple(s for s in document.statements
                              if not (s.allows and statement_owner(document, s) in STATEMENT_PRECEDENCE[:3])))
        paths = [f"{name} ({', '.join(actions)})" for name, actions in rest.escalation_paths()]
        if paths:
            yield (f"allows privilege escalation in {len(paths)} way(s): " + "; ".join(paths)
                   + "; allowed: none of these action combinations")
    return judged(identity_documents(resource), finder)


def _unconstrained_rule_finder(actions: tuple[str, ...], what: str, policy: str) -> Finder:
    def finder(document: Document) -> Iterator[str]:
        for s, found in document.unconstrained(actions):
            if reports(policy, document, s):
                yield (f"{_where(s)} allows {what} {_shown(found)} on every resource"
                       f"{also_covers(policy, document, s)}; allowed: named resource ARNs")
    return finder


@_identity_rule(
    name="iam-no-credentials-exposure",
    description="Ensure IAM policies do not allow actions that return credentials or secrets "
                "(iam:CreateAccessKey, secretsmanager:GetSecretValue, sts:AssumeRole, ...) on every resource.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_287", "checkov:CKV_AWS_107", "catalog:I7"],
    remediation="Name the secret, user or role ARNs, e.g. 'secretsmanager:GetSecretValue' on secret.arn.",
)
def no_credentials_exposure(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    return judged(identity_documents(resource),
                  _unconstrained_rule_finder(CREDENTIALS_EXPOSURE, "credential-returning",
                                             "iam-no-credentials-exposure"))


@_identity_rule(
    name="iam-no-data-exfiltration",
    description="Ensure IAM policies do not allow data reads (s3:GetObject, ssm:GetParameter*, dynamodb:Scan, "
                "...) on every resource.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_288", "checkov:CKV_AWS_108", "catalog:I8"],
    remediation="Name the bucket/object, parameter path or table ARNs the workload reads.",
)
def no_data_exfiltration(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    return judged(identity_documents(resource), _unconstrained_rule_finder(DATA_EXFILTRATION, "data reads",
                                                                             "iam-no-data-exfiltration"))


@_identity_rule(
    name="iam-no-unconstrained-permissions-management",
    description="Ensure IAM policies do not allow permissions management (iam:Put*Policy, iam:Attach*Policy, "
                "resource policies, KMS grants, ...) on every resource.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_289", "checkov:CKV_AWS_109", "catalog:I9"],
    remediation="Grant permissions-management actions only on named roles, policies or resources, ideally "
                "only to the deployment role and with a permissions boundary.",
)
def no_unconstrained_permissions_management(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    return judged(identity_documents(resource),
                  _unconstrained_rule_finder(PERMISSIONS_MANAGEMENT, "permissions management",
                                             "iam-no-unconstrained-permissions-management"))


@_identity_rule(
    name="iam-no-unconstrained-write",
    description="Ensure IAM policies do not allow write actions (Create*, Put*, Delete*, Update*, ...) on "
                "every resource.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_290", "checkov:CKV_AWS_111", "catalog:I10"],
    remediation="Set Resource to the ARNs written to, e.g. [log_group.arn, f'{log_group_arn}:*'].",
)
def no_unconstrained_write(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    def finder(document: Document) -> Iterator[str]:
        for s in document.allow_statements:
            if not reports("iam-no-unconstrained-write", document, s):
                continue
            if s.not_action:
                yield f"{_where(s)} allows every unlisted action, writes included, on every resource"
            elif writes := [p for p in s.actions if may_match_write(p) and not is_star_only(p)]:
                yield f"{_where(s)} allows writes {_shown(writes)} on every resource; allowed: named resource ARNs"
    return judged(identity_documents(resource), finder)


@_identity_rule(
    name="iam-no-kms-decrypt-on-all-keys",
    description="Ensure IAM policies do not allow kms:Decrypt or kms:ReEncryptFrom on every KMS key.",
    severity="medium",
    enforcement="mandatory",
    controls=["fsbp:KMS.1", "fsbp:KMS.2", "catalog:I11"],
    remediation="Name the key: 'Resource': [stack_key.key_arn] (components/encryption.py StackKey).",
)
def no_kms_decrypt_on_all_keys(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    return judged(identity_documents(resource), _unconstrained_rule_finder(DECRYPTION, "decryption",
                                                                             "iam-no-kms-decrypt-on-all-keys"))


@_identity_rule(
    name="iam-pass-role-scoped",
    description="Ensure iam:PassRole is allowed only on named roles or with an iam:PassedToService condition.",
    severity="medium",
    enforcement="mandatory",
    controls=["trivy:AVD-AWS-0342", "catalog:I18"],
    remediation="Give iam:PassRole the role ARNs (role.arn) and a Condition {'StringEquals': "
                "{'iam:PassedToService': 'ecs-tasks.amazonaws.com'}}.",
)
def pass_role_scoped(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    def finder(document: Document) -> Iterator[str]:
        if document.denied_everywhere("iam:PassRole"):
            return
        for s in document.allow_statements:
            if reports("iam-pass-role-scoped", document, s):
                yield (f"{_where(s)} allows iam:PassRole on every role with no iam:PassedToService condition; "
                       f"allowed: named role ARNs or that condition")
    return judged(identity_documents(resource), finder)


# ---------------------------------------------------------------------------------------------------
# Managed policy attachments and users (I12, I13, I19)
# ---------------------------------------------------------------------------------------------------


def attached_policy_arns(resource: Resource) -> Iterator[tuple[str, Any]]:
    if resource.type == ROLE:
        for i, arn in indexed(resource.get("managedPolicyArns")):
            yield f"managedPolicyArns[{i}]", arn
    elif resource.type in SINGLE_ARN_ATTACHMENTS:
        yield "policyArn", resource.get("policyArn")
    elif resource.type in ARN_LIST_ATTACHMENTS:
        for i, arn in indexed(resource.get("policyArns")):
            yield f"policyArns[{i}]", arn


_AWS_MANAGED_POLICY = re.compile(r"arn:[a-z-]+:iam::aws:policy/(?:.*/)?(?P<name>[^/]+)")


@resource_rule(
    name="iam-no-privileged-managed-policies",
    description="Ensure the AWS managed policies AdministratorAccess and IAMFullAccess (or others configured) "
                "are not attached to roles, users or groups.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_274", "checkov:CKV_AWS_275", "checkov:CKV2_AWS_56", "catalog:I12", "catalog:I13"],
    remediation="Attach a customer-managed aws.iam.Policy with the actions the role needs instead of "
                "AdministratorAccess / IAMFullAccess.",
    types=(ROLE, *SINGLE_ARN_ATTACHMENTS, *ARN_LIST_ATTACHMENTS),
    config={"deniedManagedPolicies": {
        "type": "array", "items": {"type": "string"}, "default": ["AdministratorAccess", "IAMFullAccess"],
        "description": "Names of AWS managed policies that must not be attached."}},
)
def no_privileged_managed_policies(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    denied = set(config["deniedManagedPolicies"])
    for path, arn in attached_policy_arns(resource):
        # An unknown ARN is another resource's output, hence a customer-managed policy (whose document
        # the identity rules judge), never one of AWS's constant managed-policy ARNs.
        match = _AWS_MANAGED_POLICY.fullmatch(arn) if isinstance(arn, str) else None
        if match and match["name"] in denied:
            yield f"{path} = {arn} attaches an AWS managed policy that is denied; denied: {sorted(denied)}"


@resource_rule(
    name="iam-no-user-policies",
    description="Ensure permissions are granted through roles or groups, never attached to IAM users.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_40", "fsbp:IAM.2", "cis-aws:1.15", "trivy:AVD-AWS-0143",
              "pulumi-crp:aws-iam-policy-attachment-only-attachment-through-groups",
              "pulumi-crp:aws-iam-user-policy-attachment-only-attachment-through-groups", "catalog:I19"],
    remediation="Put the user in an aws.iam.Group and attach the policy to the group (GroupPolicyAttachment), "
                "or let the workload assume a role.",
    types=(USER_POLICY, USER_POLICY_ATTACHMENT, USER_ATTACHMENTS_EXCLUSIVE, USER_POLICIES_EXCLUSIVE,
           POLICY_ATTACHMENT),
)
def no_user_policies(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if resource.type == POLICY_ATTACHMENT:
        users = resource.get("users")
        if is_unknown(users):
            yield unverifiable("users")
        elif as_list(users):
            yield f"users = {as_list(users)} attaches {resource.get('policyArn')} to users; allowed: roles, groups"
    elif resource.type == USER_ATTACHMENTS_EXCLUSIVE and as_list(resource.get("policyArns")):
        yield f"policyArns = {resource.get('policyArns')} attaches policies to user {resource.get('userName')}"
    elif resource.type == USER_POLICIES_EXCLUSIVE and as_list(resource.get("policyNames")):
        yield f"policyNames = {resource.get('policyNames')} keeps inline policies on user {resource.get('userName')}"
    elif resource.type == USER_POLICY:
        yield f"user = {resource.get('user')} gets an inline policy; allowed: policies on roles or groups"
    elif resource.type == USER_POLICY_ATTACHMENT:
        yield (f"user = {resource.get('user')} gets {resource.get('policyArn')} attached; allowed: policies on "
               f"roles or groups")


# ---------------------------------------------------------------------------------------------------
# Trust policies (I14-I16)
# ---------------------------------------------------------------------------------------------------


@resource_rule(
    name="iam-trust-policy-no-public-principal",
    description="Ensure no role's trust policy lets every AWS principal (Principal '*') assume it.",
    severity="critical",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_60", "catalog:I14"],
    remediation="Name the one service or role that assumes it: service_trust_policy('lambda.amazonaws.com', "
                "account_id) in components/iam.py.",
    types=[ROLE],
)
def trust_policy_no_public_principal(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    def finder(document: Document) -> Iterator[str]:
        for s in document.statements:
            if s.is_public:
                yield (f"{s.label} lets every principal ('*') assume the role with no condition on "
                       f"aws:PrincipalAccount/aws:PrincipalOrgID/aws:PrincipalArn; allowed: named principals")
    return judged(trust_documents(resource), finder)


@resource_rule(
    name="iam-trust-policy-no-account-root",
    description="Ensure no role's trust policy trusts a whole account (its root or bare account id) without "
                "a condition naming the principals.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_61", "catalog:I15"],
    remediation="Trust the role ARNs that assume it (Principal {'AWS': role.arn}), or add a Condition on "
                "aws:PrincipalArn.",
    types=[ROLE],
)
def trust_policy_no_account_root(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    def finder(document: Document) -> Iterator[str]:
        for s in document.allow_statements:
            roots = [p for p in (s.principal.aws if s.principal else ()) if is_account_root(p)]
            if roots and not s.scoped_by(PRINCIPAL_SCOPING_KEYS):
                yield (f"{s.label}: Principal.AWS {_shown(roots)} trusts every identity of the account; "
                       f"allowed: role or user ARNs, or a Condition on aws:PrincipalArn")
    return judged(trust_documents(resource), finder)


# GitHub's sub claim is "<claim>:<value>" pairs: by default repo:<owner>/<repository>:<context>, or the
# claims a repository's or organisation's custom template lists (GitHub, "OpenID Connect reference":
# "Customizing the subject claims"). Any repository can choose a template, so a value that names no
# repository (environment:prod, *:ref:refs/heads/main) matches tokens of every repository on GitHub.
_REPOSITORY_CLAIM = re.compile(r"(?:^|:)(repo|repository|job_workflow_ref):([^:]*)")
_REPOSITORY_ID_CLAIM = re.compile(r"(?:^|:)repository_id:([^:]*)")
_OWNER_CLAIM = re.compile(r"(?:^|:)(repository_owner|repository_owner_id):([^:]*)")
_GITHUB_ISSUER = re.compile(rf"(?:^|oidc-provider/)({re.escape(GITHUB_OIDC_PROVIDER)}(?:/[^/:]+)?)$", re.IGNORECASE)


def github_issuer(federated: str) -> str | None:
    """The GitHub Actions issuer a federated principal names: token.actions.githubusercontent.com, or the
    GitHub Enterprise Cloud form token.actions.githubusercontent.com/<enterprise>; None for any other."""
    match = _GITHUB_ISSUER.search(federated)
    return match.group(1).lower() if match else None


def github_subject_breadth(value: str, wildcards: bool, allow_repository_wildcards: bool) -> str:
    """Why a sub value matches tokens of more than the intended repositories ('' when it does not).

    ``wildcards``: whether the condition's operator reads ``*`` and ``?`` as wildcards (StringLike)."""
    def wild(text: str) -> bool:
        return wildcards and any(c in text for c in "*?")

    if value == KNOWN_AFTER_UPDATE:
        return ""
    for match in _REPOSITORY_CLAIM.finditer(value):
        if wild(value[:match.start(2)]):
            return "matches subjects of other repositories (a wildcard before the repository)"
        owner, _, rest = match.group(2).partition("/")
        repository = rest.split("/", 1)[0].split("@", 1)[0]
        if not owner or wild(owner):
            return "matches repositories of other owners"
        if not repository or wild(repository):
            return "" if allow_repository_wildcards else "matches every repository of an owner"
        return ""
    for match in _REPOSITORY_ID_CLAIM.finditer(value):
        pinned = match.group(1).isdigit() and not wild(value[:match.start(1)])
        return "" if pinned else "matches repositories other than one repository_id"
    for match in _OWNER_CLAIM.finditer(value):
        if allow_repository_wildcards and match.group(2) and not wild(value[:match.end(2)]):
            return ""
        return "matches every repository of an owner"
    if ":" not in value and not wild(value):
        return ""  # a literal without a claim (e.g. "*" under StringEquals) matches no token GitHub issues
    return "names no repository (repo:, repository_id:), so it matches tokens of any repository"


def github_subject_problems(statement: Statement, issuer: str, allow_repository_wildcards: bool) -> list[str]:
    """Why the statement's ``<issuer>:sub`` conditions do not pin the trusted repositories (empty: they do).

    Every condition on the key must hold: one whose every value pins a repository is enough."""
    key = f"{issuer}:sub"
    subjects = [c for c in statement.conditions if c.key.lower() == key and c.restricts]
    if not subjects:
        return [f"no positive condition on {key}: any GitHub repository's workflow can assume it"]
    problems = []
    for condition in subjects:
        found = [(v, why) for v in condition.values
                 if (why := github_subject_breadth(v, condition.has_wildcards, allow_repository_wildcards))]
        if not found:
            return []
        problems += [f"{key} = {value} ({condition.operator}) {why}" for value, why in found]
    return problems


@resource_rule(
    name="iam-github-oidc-trust-scoped",
    description="Ensure a role trusted by GitHub Actions OIDC pins the repository (and branch or environment) "
                "in the token.actions.githubusercontent.com:sub condition.",
    severity="critical",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_393", "checkov:CKV_AWS_358", "catalog:I16"],
    remediation="Add Condition {'StringEquals': {'token.actions.githubusercontent.com:sub': "
                "'repo:my-org/my-repo:environment:prod', 'token.actions.githubusercontent.com:aud': "
                "'sts.amazonaws.com'}}.",
    types=[ROLE],
    config={"allowRepositoryWildcards": {
        "type": "boolean", "default": False,
        "description": "Accept sub values such as repo:my-org/* that trust every repository of one owner."}},
)
def github_oidc_trust_scoped(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    def finder(document: Document) -> Iterator[str]:
        for s in document.allow_statements:
            issuers = sorted({i for f in (s.principal.federated if s.principal else ()) if (i := github_issuer(f))})
            for issuer in issuers:
                for problem in github_subject_problems(s, issuer, config["allowRepositoryWildcards"]):
                    yield f"{s.label}: {problem}; allowed: repo:<owner>/<repository>[:...]"
    return judged(trust_documents(resource), finder)


# ---------------------------------------------------------------------------------------------------
# Resource policies (K2, E17, I17) and Lambda permissions (F1, F2)
# ---------------------------------------------------------------------------------------------------


def public_grants(document: Document) -> Iterator[str]:
    for s in document.statements:
        if s.is_public:
            who = "NotPrincipal (everyone else)" if s.not_principal else "Principal '*'"
            yield (f"{s.label} allows {_actions(s)} to every principal ({who}) with no condition that narrows "
                   f"the caller (aws:PrincipalOrgID, aws:PrincipalAccount, aws:SourceAccount, ...); "
                   f"allowed: named principals")


_PUBLIC_GRANT_REMEDIATION = ("Name the principals (account root ARN, role ARNs or a service), or add a Condition "
                             "such as {'StringEquals': {'aws:PrincipalOrgID': 'o-...'}}.")


@resource_rule(
    name="kms-key-policy-not-public",
    description="Ensure no KMS key policy grants to every principal without a narrowing condition.",
    severity="critical",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_33", "fsbp:KMS.5", "catalog:K2", "catalog:I17"],
    remediation=_PUBLIC_GRANT_REMEDIATION + " components/iam.py stack_key_policy() is the model.",
    types=[KMS_KEY, KMS_KEY_POLICY],
)
def kms_key_policy_not_public(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    return judged(resource_documents(resource), public_grants)


@resource_rule(
    name="ecr-repository-policy-not-public",
    description="Ensure no ECR repository policy grants to every principal without a narrowing condition.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_32", "trivy:AVD-AWS-0032", "catalog:E17", "catalog:I17"],
    remediation=_PUBLIC_GRANT_REMEDIATION,
    types=[ECR_REPOSITORY_POLICY],
)
def ecr_repository_policy_not_public(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    return judged(resource_documents(resource), public_grants)


@resource_rule(
    name="resource-policy-not-public",
    description="Ensure Secrets Manager secret policies, the ECR registry policy and CloudWatch Logs resource "
                "policies grant nothing to every principal without a narrowing condition.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_283", "catalog:I17"],
    remediation=_PUBLIC_GRANT_REMEDIATION,
    types=[SECRET_POLICY, ECR_REGISTRY_POLICY, LOG_RESOURCE_POLICY],
)
def resource_policy_not_public(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    return judged(resource_documents(resource), public_grants)


def names_a_source(value: Any) -> bool:
    """A set source ARN/account/org narrows a permission; an unknown one is set, only its value is unknown. A
    wildcard (``*``) or an ARN of every resource of its kind (``arn:aws:s3:::*``) narrows nothing."""
    return is_unknown(value) or (isinstance(value, str) and value != "" and not is_wildcard_only(value)
                                 and not is_unconstrained_resource(value))


@resource_rule(
    name="lambda-permission-not-public",
    description="Ensure no Lambda permission lets every principal invoke the function (Principal '*' without "
                "a source ARN, account or organization; or a function URL with auth type NONE).",
    severity="critical",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_301", "fsbp:Lambda.1", "catalog:F1", "catalog:I17"],
    remediation="Set principal to the invoking service or account (e.g. 'apigateway.amazonaws.com') with "
                "source_arn=api.execution_arn.apply(lambda a: f'{a}/*/*'); give function URLs "
                "authorization_type='AWS_IAM'.",
    types=[LAMBDA_PERMISSION],
)
def lambda_permission_not_public(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    principal = resource.get("principal")
    if resource.get("functionUrlAuthType") == "NONE":
        yield "functionUrlAuthType = NONE makes the function URL callable by anyone; allowed: AWS_IAM"
    scoped = any(names_a_source(resource.get(k)) for k in ("sourceArn", "sourceAccount", "principalOrgId"))
    if scoped:
        return
    if is_unknown(principal):
        yield unverifiable("principal")
    elif principal == "*":
        yield ("principal = * with no sourceArn, sourceAccount or principalOrgId that names a source (a wildcard "
               "ARN such as arn:aws:s3:::* names none) lets anyone invoke the function; allowed: a named "
               "principal, or one of those set")


@resource_rule(
    name="lambda-permission-source-scoped",
    description="Ensure a Lambda permission for an AWS service principal names the invoking resource "
                "(sourceArn), so that another account's resource cannot invoke the function.",
    severity="critical",
    enforcement="mandatory",
    controls=["trivy:AVD-AWS-0067", "pulumi-crp:aws-lambda-permission-configure-source-arn",
              "catalog:F2"],
    remediation="Set source_arn to the invoker, e.g. api.execution_arn.apply(lambda a: f'{a}/*/*') or "
                "bucket.arn, and source_account for S3.",
    types=[LAMBDA_PERMISSION],
    config={"acceptSourceAccount": {
        "type": "boolean", "default": False,
        "description": "Accept sourceAccount alone (Checkov's rule) instead of requiring sourceArn."}},
)
def lambda_permission_source_scoped(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    principal = resource.get("principal")
    keys = ("sourceArn", "sourceAccount") if config["acceptSourceAccount"] else ("sourceArn",)
    if any(names_a_source(resource.get(k)) for k in keys):
        return
    if is_unknown(principal):
        yield unverifiable("principal")
    elif isinstance(principal, str) and principal.endswith(".amazonaws.com"):
        yield (f"principal = {principal} with sourceArn = {resource.get('sourceArn')!r}: any resource of that "
               f"service, in any account, can invoke the function; allowed: {' or '.join(keys)} set")


# ---------------------------------------------------------------------------------------------------
# Role policy management conflicts (I20)
# ---------------------------------------------------------------------------------------------------


def _roles_targeted(attachment: Resource) -> list[Any]:
    if attachment.type == POLICY_ATTACHMENT:
        return as_list(attachment.get("roles"))
    return [attachment.get("role")]


@stack_rule(
    name="iam-role-no-policy-management-conflicts",
    description="Ensure no role that sets inlinePolicies or managedPolicyArns also gets RolePolicy, "
                "RolePolicyAttachment or PolicyAttachment resources: Pulumi would remove them on every update.",
    severity="high",
    enforcement="mandatory",
    controls=["awsguard:iam-role-no-policy-management-conflicts", "catalog:I20"],
    remediation="Manage a role's policies one way: either inline_policies/managed_policy_arns on the Role, or "
                "only separate aws.iam.RolePolicy / RolePolicyAttachment resources.",
)
def role_no_policy_management_conflicts(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    exclusive = {}
    for role in stack.of_type(ROLE):
        # Even an empty list makes the role's policies exclusive: Pulumi detaches whatever is not listed.
        owned = [key for key in ("inlinePolicies", "managedPolicyArns") if role.get(key) is not None]
        if owned:
            exclusive[role.urn] = (role, owned)
    if not exclusive:
        return
    by_name = {key: urn for urn, (role, _) in exclusive.items()
               for key in (role.id, role.get("name")) if isinstance(key, str) and key}
    for attachment in stack.of_type(ROLE_POLICY, ROLE_POLICY_ATTACHMENT, POLICY_ATTACHMENT):
        targets = set(attachment.property_dependencies.get("role", ()))
        targets |= set(attachment.property_dependencies.get("roles", ()))
        targets |= {by_name[r] for r in _roles_targeted(attachment) if isinstance(r, str) and r in by_name}
        for urn in sorted(targets & exclusive.keys()):
            role, owned = exclusive[urn]
            yield attachment, (f"{attachment.type.rsplit(':', 1)[-1]} {attachment.name} targets role {role.name}, "
                               f"which sets {' and '.join(owned)}; Pulumi removes policies the role does not "
                               f"list on its next update; allowed: one way of managing the role's policies")


# ---------------------------------------------------------------------------------------------------
# Privilege escalation across all of a role's policies (I6, relational)
# ---------------------------------------------------------------------------------------------------


def _attachments_by_role(stack: Stack) -> dict[str, list[Resource]]:
    """Each RolePolicy, RolePolicyAttachment and PolicyAttachment under every role URN or name it targets:
    one pass over the stack, so that finding a role's policies does not scan the stack again per role."""
    index: dict[str, list[Resource]] = {}
    for attachment in stack.of_type(ROLE_POLICY, ROLE_POLICY_ATTACHMENT, POLICY_ATTACHMENT):
        keys = {*attachment.property_dependencies.get("role", ()), *attachment.property_dependencies.get("roles", ()),
                *(r for r in _roles_targeted(attachment) if isinstance(r, str))}
        for key in keys:
            index.setdefault(key, []).append(attachment)
    return index


def _policies_by_key(stack: Stack) -> dict[str, Resource]:
    return {key: p for p in stack.of_type(POLICY) for key in (p.urn, p.id, p.get("arn")) if isinstance(key, str)}


def role_documents(stack: Stack, role: Resource) -> list[tuple[str, Any]]:
    """(where, document) of every identity policy in the stack that grants the role something: its inline
    policies, its RolePolicy resources, and the stack's managed policies attached to it."""
    names = {v for v in (role.id, role.get("name"), role.urn) if isinstance(v, str) and v}
    by_role = stack.memo("attachments by role", lambda: _attachments_by_role(stack))
    seen: dict[int, Resource] = {}
    for name in names:
        seen.update((id(a), a) for a in by_role.get(name, ()))
    order = stack.memo("resource order", lambda: {id(r): i for i, r in enumerate(stack.resources)})
    targeting = sorted(seen.values(), key=lambda a: order.get(id(a), 0))

    found = [(f"{role.name}.{path}", doc) for path, doc in identity_documents(role)]
    found += [(f"{p.name}.policy", p.get("policy")) for p in targeting if p.type == ROLE_POLICY]
    policies = stack.memo("policies by key", lambda: _policies_by_key(stack))
    for attachment in targeting:
        if attachment.type not in (ROLE_POLICY_ATTACHMENT, POLICY_ATTACHMENT):
            continue
        sources = [attachment.get("policyArn"), *attachment.property_dependencies.get("policyArn", ())]
        policy = next((policies[s] for s in sources if isinstance(s, str) and s in policies), None)
        if policy is not None:
            found.append((f"{policy.name}.policy", policy.get("policy")))
    return found


@stack_rule(
    name="iam-no-privilege-escalation-across-policies",
    description="Ensure the policies of one role together allow no privilege-escalation combination, even when "
                "no single policy does (e.g. iam:PassRole in one, lambda:CreateFunction in another).",
    severity="critical",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_286", "catalog:I6"],
    remediation="Split the role, or drop one action of each combination listed; a role that must pass roles gets "
                "iam:PassRole on named role ARNs only, and no function- or instance-creating actions.",
)
def no_privilege_escalation_across_policies(stack: Stack,
                                            config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    for role in stack.of_type(ROLE):
        readings = [(where, read_document(doc)) for where, doc in role_documents(stack, role)]
        parsed = [(where, r.best) for where, r in readings if r.status == "parsed"]
        if len(parsed) < 2:
            continue  # one document alone is judged by iam-no-privilege-escalation
        combined = Document(tuple(s for _, document in parsed for s in document.statements))
        single = {name for _, document in parsed for name, _ in document.escalation_paths()}
        paths = [f"{name} ({', '.join(actions)})" for name, actions in combined.escalation_paths()
                 if name not in single]
        if paths:
            yield role, (f"its policies {', '.join(where for where, _ in parsed)} together allow privilege "
                         f"escalation: " + "; ".join(paths) + "; allowed: none of these action combinations")
