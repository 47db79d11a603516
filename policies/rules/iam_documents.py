"""IAM policy documents as data: parsing, action matching, and the action table the IAM rules judge by.

Nothing here matches policy text as strings. A document (JSON string or dict) is parsed into
``Statement`` values; questions such as "which statements allow ``kms:Decrypt`` on every resource?" are
answered with IAM's own semantics:

- actions match case-insensitively, with ``*`` and ``?`` wildcards (``s3:Get*``);
- ``Allow`` + ``NotAction`` allows every action not listed; ``Allow`` + ``NotResource`` and a missing
  ``Resource`` reach (almost) every resource; ``Allow`` + ``NotPrincipal`` grants to everyone else;
- ``Deny`` statements only ever remove permissions: they never produce a finding, and an unconditioned
  ``Deny`` on every resource removes a concrete action from what the document allows.

During a preview parts of a document may be unknown. ``read_document`` therefore resolves each unknown
twice: once the worst way it could turn out and once the best way. A rule that finds a problem in the
best case reports it; one that finds it only in the worst case reports "cannot be verified".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .base import is_unknown
from .star_only_actions import FAMILIES, SINGLES

# ---------------------------------------------------------------------------------------------------
# The action table
# ---------------------------------------------------------------------------------------------------

PRIVILEGE_ESCALATION: dict[str, tuple[str, ...]] = {
    # Each entry is a set of actions that, allowed together, let a principal raise its own privileges.
    # After Rhino Security Labs' escalation methods, as cloudsplaining and Checkov (CKV_AWS_286) use them.
    "create a new version of a managed policy": ("iam:CreatePolicyVersion",),
    "make another version of a managed policy the default": ("iam:SetDefaultPolicyVersion",),
    "create access keys for another user": ("iam:CreateAccessKey",),
    "create a console password for a user": ("iam:CreateLoginProfile",),
    "change a user's console password": ("iam:UpdateLoginProfile",),
    "attach any managed policy to a user": ("iam:AttachUserPolicy",),
    "attach any managed policy to a group": ("iam:AttachGroupPolicy",),
    "attach any managed policy to a role and assume it": ("iam:AttachRolePolicy", "sts:AssumeRole"),
    "write an inline policy on a user": ("iam:PutUserPolicy",),
    "write an inline policy on a group": ("iam:PutGroupPolicy",),
    "write an inline policy on a role and assume it": ("iam:PutRolePolicy", "sts:AssumeRole"),
    "add a user to a more privileged group": ("iam:AddUserToGroup",),
    "rewrite a role's trust policy and assume it": ("iam:UpdateAssumeRolePolicy", "sts:AssumeRole"),
    "pass a role to a new EC2 instance": ("iam:PassRole", "ec2:RunInstances"),
    "pass a role to a new Lambda function and invoke it": (
        "iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"),
    "pass a role to a new Lambda function triggered by an event source": (
        "iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping"),
    "replace the code of a Lambda function that has a role": ("lambda:UpdateFunctionCode",),
    "pass a role to a new ECS task": ("iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:RunTask"),
    "pass a role to a new CloudFormation stack": ("iam:PassRole", "cloudformation:CreateStack"),
    "pass a role to a new Glue development endpoint": ("iam:PassRole", "glue:CreateDevEndpoint"),
    "update a Glue development endpoint's SSH key": ("glue:UpdateDevEndpoint",),
    "pass a role to a new Data Pipeline": ("iam:PassRole", "datapipeline:CreatePipeline"),
    "pass a role to a new SageMaker notebook": ("iam:PassRole", "sagemaker:CreateNotebookInstance"),
}

CREDENTIALS_EXPOSURE: tuple[str, ...] = (
    # Actions whose response carries credentials, passwords or secrets. Left out on purpose:
    # ecr:GetAuthorizationToken and sts:GetSessionToken return tokens for the caller's own identity and
    # permissions (no new privilege; both accept only "*" as resource).
    "iam:CreateAccessKey",
    "iam:UpdateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:CreateServiceSpecificCredential",
    "iam:ResetServiceSpecificCredential",
    "sts:AssumeRole",
    "sts:GetFederationToken",
    "secretsmanager:GetSecretValue",
    "ec2:GetPasswordData",
    "redshift:GetClusterCredentials",
    "rds-db:Connect",
    "cognito-identity:GetCredentialsForIdentity",
    "sso:GetRoleCredentials",
)

DATA_EXFILTRATION: tuple[str, ...] = (
    # Reads that return a resource's data (not its metadata).
    "s3:GetObject",
    "s3:GetObjectVersion",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "secretsmanager:GetSecretValue",
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
    "ebs:GetSnapshotBlock",
)

PERMISSIONS_MANAGEMENT: tuple[str, ...] = (
    # Actions that change who may do what: identity policies, trust, boundaries, resource policies, grants.
    "iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy",
    "iam:DetachRolePolicy", "iam:DetachUserPolicy", "iam:DetachGroupPolicy",
    "iam:PutRolePolicy", "iam:PutUserPolicy", "iam:PutGroupPolicy",
    "iam:DeleteRolePolicy", "iam:DeleteUserPolicy", "iam:DeleteGroupPolicy",
    "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy",
    "iam:CreateRole", "iam:UpdateAssumeRolePolicy", "iam:PassRole", "iam:AddUserToGroup",
    "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary",
    "iam:PutUserPermissionsBoundary", "iam:DeleteUserPermissionsBoundary",
    "kms:PutKeyPolicy", "kms:CreateGrant",
    "secretsmanager:PutResourcePolicy", "logs:PutResourcePolicy", "lambda:AddPermission",
    "ecr:SetRepositoryPolicy", "ecr:PutRegistryPolicy", "s3:PutBucketPolicy", "s3:PutBucketAcl",
    "s3:PutObjectAcl", "sns:AddPermission", "sqs:AddPermission", "ec2:ModifySnapshotAttribute",
    "ec2:ModifyImageAttribute",
)

DECRYPTION: tuple[str, ...] = ("kms:Decrypt", "kms:ReEncryptFrom")
"""What KMS.1 / KMS.2 forbid on every key."""

WRITE_VERBS: tuple[str, ...] = (
    # IAM has no field for an action's access level; an action's name starts with its verb, and these
    # are the verbs of AWS's "Write", "Permissions management" and "Tagging" access levels.
    "Accept", "Add", "Allocate", "Apply", "Associate", "Attach", "Authorize", "Cancel", "Change",
    "Complete", "Copy", "Create", "Deactivate", "Decrease", "Delete", "Deregister", "Detach", "Disable",
    "Disassociate", "Enable", "Execute", "Import", "Increase", "Initiate", "Invoke", "Modify", "Move",
    "Publish", "Purge", "Put", "Reboot", "Register", "Reject", "Release", "Remove", "Replace", "Reset",
    "Restore", "Revoke", "Rotate", "Run", "Schedule", "Send", "Set", "Start", "Stop", "Tag", "Terminate",
    "Untag", "Update", "Upload", "Write",
)

STAR_ONLY_ACTIONS: tuple[str, ...] = (
    # Actions that accept only "*" as their resource: a statement cannot scope them, so "*" on them is not
    # over-broad (the Checkov false positives of checkov#5442, trivy#5090). Action by action, from the AWS
    # Service Authorization Reference (star_only_actions.py names the data and how to rebuild it). Not every
    # such action: those a workload role commonly needs; dangerous ones (e.g. logs:PutResourcePolicy) are
    # left out so that they stay visible.
    *(action for members in FAMILIES.values() for action, star in members.items() if star),
    *SINGLES,
)
RESOURCE_LEVEL_IN_FAMILIES: tuple[str, ...] = tuple(
    # The actions of those families that DO take a resource (ec2:DescribeInstanceAttribute reads every
    # instance's user data on "*"): a pattern that matches one of them is not "*"-only.
    action for members in FAMILIES.values() for action, star in members.items() if not star)

ACTION_TABLE: dict[str, tuple[str, ...]] = {
    "privilege-escalation": tuple(sorted({a for path in PRIVILEGE_ESCALATION.values() for a in path})),
    "credentials-exposure": CREDENTIALS_EXPOSURE,
    "data-exfiltration": DATA_EXFILTRATION,
    "permissions-management": PERMISSIONS_MANAGEMENT,
    "decryption": DECRYPTION,
    "star-only": STAR_ONLY_ACTIONS,
}
"""Every category of the table by name; escalation paths are in PRIVILEGE_ESCALATION, write verbs in
WRITE_VERBS (they classify action names rather than list them)."""

PRINCIPAL_SCOPING_KEYS: frozenset[str] = frozenset(k.lower() for k in (
    # Condition keys that narrow who (or on whose behalf) a "*" principal may act.
    "aws:PrincipalAccount", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:PrincipalArn",
    "aws:SourceAccount", "aws:SourceArn", "aws:SourceOwner", "aws:SourceOrgID", "aws:SourceOrgPaths",
    "aws:SourceVpc", "aws:SourceVpce", "aws:SourceIp", "aws:userid", "aws:username",
    "kms:CallerAccount", "lambda:FunctionUrlAuthType",
))
PASS_ROLE_SCOPING_KEYS: frozenset[str] = frozenset({"iam:passedtoservice", "iam:associatedresourcearn"})
GITHUB_OIDC_PROVIDER = "token.actions.githubusercontent.com"
GITHUB_SUBJECT_KEY = f"{GITHUB_OIDC_PROVIDER}:sub"

# ---------------------------------------------------------------------------------------------------
# The parsed document
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    operator: str
    key: str
    values: tuple[str, ...]
    may_be_anything: bool = False
    """A value was unknown during a preview and is read the worst way: it may match any request."""

    @property
    def is_positive(self) -> bool:
        """True when a request lacking the key fails it, so that it can only narrow: not a negated
        operator, not ...IfExists, not Null, and not ForAllValues (true on an empty key)."""
        op = self.operator.lower()
        return not ("not" in op or op.endswith("ifexists") or op == "null" or op.startswith("forallvalues:"))

    @property
    def has_wildcards(self) -> bool:
        """Whether ``*`` and ``?`` are wildcards in the values: in StringLike and the ARN operators (ArnEquals
        and ArnLike both match them); under StringEquals they are literal characters."""
        op = self.operator.lower().split(":")[-1]
        return "like" in op or op.startswith("arn")

    def is_wildcard(self, value: str) -> bool:
        return self.has_wildcards and any(c in value for c in "*?")

    @property
    def restricts(self) -> bool:
        return (self.is_positive and bool(self.values) and not self.may_be_anything
                and not (self.has_wildcards and any(is_wildcard_only(v) for v in self.values)))


@dataclass(frozen=True)
class Principal:
    everyone: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    index: int
    sid: str
    effect: str
    actions: tuple[str, ...]
    """The Action patterns, or the NotAction patterns when ``not_action``."""
    not_action: bool
    resources: tuple[str, ...] | None
    """The Resource patterns, or the NotResource ones when ``not_resource``; None when neither is given."""
    not_resource: bool
    principal: Principal | None
    not_principal: bool
    conditions: tuple[Condition, ...]

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    @property
    def label(self) -> str:
        return f"Statement[{self.index}]" + (f" ({self.sid})" if self.sid else "")

    def allows_action(self, action: str) -> bool:
        """Whether this statement's Action/NotAction covers the concrete ``action``."""
        matched = any(pattern_matches(p, action) for p in self.actions)
        return not matched if self.not_action else matched

    def covers_all_of(self, pattern: str) -> bool:
        """Whether every action matching ``pattern`` (e.g. ``iam:*``) is covered."""
        if self.not_action:
            return not any(patterns_overlap(p, pattern) for p in self.actions)
        return any(pattern_matches(p, pattern) for p in self.actions)

    @property
    def on_every_resource(self) -> bool:
        """No resource constraint: ``*`` (or an ARN of wildcards), NotResource, or no Resource at all."""
        if self.resources is None or self.not_resource:
            return True
        return any(is_unconstrained_resource(r) for r in self.resources)

    @property
    def grants_to_everyone(self) -> bool:
        return self.not_principal or (self.principal is not None and self.principal.everyone)

    def scoped_by(self, keys: frozenset[str]) -> bool:
        return any(c.restricts and c.key.lower() in keys for c in self.conditions)

    @property
    def is_public(self) -> bool:
        """An Allow to everyone that no condition narrows to known callers."""
        return self.allows and self.grants_to_everyone and not self.scoped_by(PRINCIPAL_SCOPING_KEYS)

    def broad_action_patterns(self) -> tuple[str, ...]:
        """The Action patterns that a resource could restrict (all but the "*"-only actions)."""
        return tuple(p for p in self.actions if not is_star_only(p))


@dataclass(frozen=True)
class Document:
    statements: tuple[Statement, ...]

    @property
    def allow_statements(self) -> tuple[Statement, ...]:
        return tuple(s for s in self.statements if s.allows)

    def denied_everywhere(self, action: str) -> bool:
        """An unconditioned Deny of ``action`` on every resource takes it away whatever else allows."""
        return any(not s.allows and not s.conditions and not s.not_resource and s.on_every_resource
                   and s.allows_action(action) for s in self.statements)

    def allows_anywhere(self, action: str) -> bool:
        return not self.denied_everywhere(action) and any(s.allows_action(action) for s in self.allow_statements)

    def unconstrained(self, actions: Iterable[str]) -> Iterator[tuple[Statement, list[str]]]:
        """Each Allow statement on every resource, with those of ``actions`` it allows there (skipping
        "*"-only actions, which no resource could narrow, and actions denied everywhere)."""
        for statement in self.allow_statements:
            if not statement.on_every_resource:
                continue
            found = [a for a in actions if statement.allows_action(a) and not is_star_only(a)
                     and not self.denied_everywhere(a)]
            if found:
                yield statement, found

    def escalation_paths(self) -> Iterator[tuple[str, tuple[str, ...]]]:
        for name, actions in PRIVILEGE_ESCALATION.items():
            if all(self.allows_anywhere(a) for a in actions):
                yield name, actions


@dataclass(frozen=True)
class Reading:
    """A document as read from a property: absent, unknown, unparseable, or parsed (worst and best case)."""

    status: str
    """"absent", "unknown", "invalid" or "parsed"."""
    problem: str = ""
    worst: Document = Document(())
    best: Document = Document(())

    @property
    def partly_unknown(self) -> bool:
        return self.worst != self.best


# ---------------------------------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _glob(pattern: str) -> re.Pattern[str]:
    # IAM wildcards are only * and ?; everything else (including [ and ]) is literal.
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def pattern_matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, ``*`` any run of characters, ``?`` one character.

    Given another pattern as ``action`` it answers whether ``pattern`` subsumes it (``s3:*`` covers
    ``s3:Get*``) because the wildcard characters of ``action`` are then matched as text."""
    return _glob(pattern).fullmatch(action) is not None


def _literal_prefix(pattern: str) -> str:
    return re.split(r"[*?]", pattern, maxsplit=1)[0].lower()


def patterns_overlap(a: str, b: str) -> bool:
    """Whether some action could match both patterns (sound: never False when they overlap)."""
    pa, pb = _literal_prefix(a), _literal_prefix(b)
    if not pa.startswith(pb) and not pb.startswith(pa):
        return False
    if "*" not in a and "?" not in a:
        return pattern_matches(b, a)
    if "*" not in b and "?" not in b:
        return pattern_matches(a, b)
    return True


_STAR_ONLY_LOWER = frozenset(a.lower() for a in STAR_ONLY_ACTIONS)


@lru_cache(maxsize=4096)
def is_star_only(pattern: str) -> bool:
    """Whether every action ``pattern`` matches accepts only "*" as its resource.

    A concrete action: when the table lists it. A wildcard: only within a family the table lists
    completely (``ec2:Describe*``, ...), when it matches none of the family's resource-level actions;
    elsewhere the table cannot know every action the wildcard matches."""
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() in _STAR_ONLY_LOWER
    for family, members in FAMILIES.items():
        if pattern_matches(family, pattern):
            matched = [star for action, star in members.items() if pattern_matches(pattern, action)]
            return bool(matched) and all(matched)
    return False


def may_match_write(pattern: str) -> bool:
    """Whether ``pattern`` could match a write-level action (see WRITE_VERBS)."""
    if ":" not in pattern:
        return "*" in pattern or "?" in pattern
    action_name = pattern.split(":", 1)[1]
    prefix, wildcard = _literal_prefix(action_name), any(c in action_name for c in "*?")
    # "Put*" and "*Object" may match PutObject; "Get*" matches no write verb.
    return any(prefix.startswith(verb) or (wildcard and verb.startswith(prefix))
               for verb in (v.lower() for v in WRITE_VERBS))


def is_wildcard_only(value: str) -> bool:
    return value.strip("*?") == ""


_ARN_ANY_RESOURCE = re.compile(r"^(?:[A-Za-z0-9-]+[:/])?\*$")


def is_unconstrained_resource(resource: str) -> bool:
    """``*``, or an ARN whose region, account and resource are all wildcards (``arn:aws:s3:::*``,
    ``arn:aws:secretsmanager:*:*:secret:*``): it names every resource of its kind."""
    if is_wildcard_only(resource):
        return True
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return False
    region, account, rest = parts[3], parts[4], parts[5]
    if region not in ("", "*") or account not in ("", "*"):
        return False
    # A resource-type prefix (secret:*) only when region or account is a wildcard: in S3 ARNs, which
    # have neither, the prefix is a bucket name (arn:aws:s3:::bucket/* is one bucket).
    return rest == "*" or ("*" in (region, account) and bool(_ARN_ANY_RESOURCE.match(rest)))


def is_account_root(principal: str) -> bool:
    """A bare account id or ``arn:<partition>:iam::<account>:root``: every identity of that account."""
    if re.fullmatch(r"\d{12}", principal):
        return True
    return bool(re.fullmatch(r"arn:[a-z-]+:iam::\d{12}:root", principal))


# ---------------------------------------------------------------------------------------------------
# Reading a document from a property
# ---------------------------------------------------------------------------------------------------

_SECRET_SIG_KEY, _SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"
KNOWN_AFTER_UPDATE = "(known after update)"
"""What an unknown resource or condition value is taken to be in the best case: a specific value."""

_BEST_CASE_CONDITION = {"StringEquals": {
    key: KNOWN_AFTER_UPDATE for key in (*PRINCIPAL_SCOPING_KEYS, *PASS_ROLE_SCOPING_KEYS, GITHUB_SUBJECT_KEY)}}

# For a list field: what an unknown element becomes in the worst and in the best case (None: dropped).
_UNKNOWN_ELEMENT = {
    "Action": ("*", None), "NotAction": (None, "*"),
    "Resource": ("*", KNOWN_AFTER_UPDATE), "NotResource": (None, "*"),
    "Principal": ("*", None), "NotPrincipal": (None, "*"),
}
_WORST_STATEMENT = {"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}


def read_document(value: Any) -> Reading:
    """Read a policy document given as a JSON string or a dict; never raises."""
    if isinstance(value, Mapping) and value.get(_SECRET_SIG_KEY) == _SECRET_SIG:
        value = value.get("value")
    if value is None or value == "":
        return Reading("absent")
    if is_unknown(value):
        return Reading("unknown", worst=Document((_statement(0, _WORST_STATEMENT, worst=True),)))
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError) as error:
            return Reading("invalid", f"not valid JSON ({error})")
    if not isinstance(value, Mapping):
        return Reading("invalid", f"a policy document is a JSON object, not {type(value).__name__}")
    if "Statement" not in value:
        return Reading("invalid", "it has no Statement")
    try:
        worst = _document(value, worst=True)
        best = _document(value, worst=False)
    except _Invalid as error:
        return Reading("invalid", str(error))
    return Reading("parsed", worst=worst, best=best)


class _Invalid(ValueError):
    pass


def _document(raw: Mapping[str, Any], worst: bool) -> Document:
    statements = raw["Statement"]
    if is_unknown(statements):
        statements = [_WORST_STATEMENT] if worst else []
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        raise _Invalid("Statement is neither an object nor a list")
    parsed = []
    for index, statement in enumerate(statements):
        if is_unknown(statement):
            if worst:
                parsed.append(_statement(index, _WORST_STATEMENT, worst))
            continue
        if not isinstance(statement, Mapping):
            raise _Invalid(f"Statement[{index}] is not an object")
        parsed.append(_statement(index, statement, worst))
    return Document(tuple(parsed))


def _statement(index: int, raw: Mapping[str, Any], worst: bool) -> Statement:
    effect = raw.get("Effect")
    if is_unknown(effect):
        effect = "Allow" if worst else "Deny"
    if not isinstance(effect, str) or effect.lower() not in ("allow", "deny"):
        raise _Invalid(f"Statement[{index}].Effect is {effect!r}; allowed: Allow or Deny")
    actions, not_action = _either(raw, "Action", "NotAction", index, worst)
    resources, not_resource = _either(raw, "Resource", "NotResource", index, worst)
    principal, not_principal = None, False
    if "Principal" in raw or "NotPrincipal" in raw:
        key = "NotPrincipal" if "NotPrincipal" in raw else "Principal"
        principal, not_principal = _principal(raw[key], key, index, worst), key == "NotPrincipal"
    sid = raw.get("Sid")
    return Statement(index=index, sid=sid if isinstance(sid, str) and not is_unknown(sid) else "",
                     effect=effect.capitalize(), actions=actions or (), not_action=not_action,
                     resources=resources, not_resource=not_resource, principal=principal,
                     not_principal=not_principal, conditions=_conditions(raw.get("Condition"), index, worst))


def _either(raw: Mapping[str, Any], key: str, not_key: str, index: int, worst: bool
            ) -> tuple[tuple[str, ...] | None, bool]:
    if key in raw and not_key in raw:
        raise _Invalid(f"Statement[{index}] has both {key} and {not_key}")
    if not_key in raw:
        return _strings(raw[not_key], not_key, index, worst), True
    if key in raw:
        return _strings(raw[key], key, index, worst), False
    return None, False


def _strings(value: Any, field: str, index: int, worst: bool) -> tuple[str, ...]:
    elements = value if isinstance(value, list) else [value]
    replacement = _UNKNOWN_ELEMENT[field][0 if worst else 1]
    result = []
    for element in elements:
        if is_unknown(element):
            if replacement is not None:
                result.append(replacement)
        elif isinstance(element, str):
            result.append(element)
        else:
            raise _Invalid(f"Statement[{index}].{field} holds {element!r}; allowed: strings")
    return tuple(result)


def _principal(value: Any, field: str, index: int, worst: bool) -> Principal:
    if is_unknown(value) or isinstance(value, str):
        values = _strings(value, field, index, worst)
        return Principal(everyone="*" in values, aws=values)
    if not isinstance(value, Mapping):
        raise _Invalid(f"Statement[{index}].{field} is {value!r}; allowed: \"*\" or an object of principal lists")
    kinds = {kind: _strings(value.get(kind, []), field, index, worst)
             for kind in ("AWS", "Service", "Federated", "CanonicalUser")}
    return Principal(everyone="*" in kinds["AWS"], aws=kinds["AWS"], service=kinds["Service"],
                     federated=kinds["Federated"], canonical_user=kinds["CanonicalUser"])


def _conditions(value: Any, index: int, worst: bool) -> tuple[Condition, ...]:
    """The conditions; an unknown value narrows nothing in the worst case and is a specific value in the best
    case, and an unknown operator or key is, in the best case, every scoping key set to a specific value."""
    if value is None:
        return ()
    best_case = () if worst else _conditions(_BEST_CASE_CONDITION, index, worst=True)
    if is_unknown(value):
        return best_case
    if not isinstance(value, Mapping):
        raise _Invalid(f"Statement[{index}].Condition is not an object")
    conditions: list[Condition] = []
    for operator, block in value.items():
        if is_unknown(operator) or not isinstance(block, Mapping):
            conditions += best_case  # an unknown operator block: in the worst case it narrows nothing
            continue
        for key, values in block.items():
            if is_unknown(key):
                conditions += best_case
                continue
            listed = values if isinstance(values, list) else [values]
            unknown = any(is_unknown(v) for v in listed)
            texts = tuple(KNOWN_AFTER_UPDATE if is_unknown(v) else str(v) for v in listed)
            conditions.append(Condition(str(operator), str(key), texts, may_be_anything=unknown and worst))
    return tuple(dict.fromkeys(conditions))
