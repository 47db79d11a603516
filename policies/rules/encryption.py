"""Encryption policies: KMS keys, CloudWatch log groups and Secrets Manager.

Catalog section H, rows K1, K3-K5, K7, W1-W3, S1-S4. K2 (key policy principals) is judged with the IAM
document analysis in iam.py; K6 and S5 need a live account.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .base import Resource, Stack, is_unknown, resource_rule, stack_rule
from .network import References

KMS_KEY = "aws:kms/key:Key"
KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
MAX_ROTATION_DAYS = 2560  # the longest period KMS accepts for rotationPeriodInDays


def _is_set(value: Any) -> bool:
    """Set to something: a non-blank string, another non-empty value, or one known only after the update."""
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None and value != {} and value != []


def _whole_number(value: Any) -> int | None:
    """An integer property or config value; numbers that crossed gRPC arrive as floats (30.0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        return None
    return int(value)


def _rotates_automatically(key: Resource) -> bool:
    """Only symmetric encryption keys whose material KMS holds can rotate automatically; asymmetric, HMAC,
    custom key store and imported keys cannot, so rotation does not apply to them."""
    spec = key.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT")
    usage = key.get("keyUsage", "ENCRYPT_DECRYPT")
    external = _is_set(key.get("customKeyStoreId")) or _is_set(key.get("xksKeyId"))
    return spec in ("SYMMETRIC_DEFAULT", None) and usage in ("ENCRYPT_DECRYPT", None) and not external


# --- KMS keys -----------------------------------------------------------------------------------

@resource_rule(
    name="kms-key-rotation-enabled",
    description="Ensure symmetric KMS keys rotate their key material automatically, at least yearly.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_7", "fsbp:KMS.4", "cis-aws:3.6", "cis-aws:4.6", "trivy:AVD-AWS-0065",
              "awsguard:cmk-backing-key-rotation-enabled", "pulumi-crp:aws-kms-key-enable-key-rotation",
              "catalog:K1"],
    remediation="Pass enable_key_rotation=True to aws.kms.Key (and rotation_period_in_days=365 or less).",
    types=[KMS_KEY],
    config={"maxRotationPeriodDays": {
        "type": "integer", "minimum": 90, "maximum": MAX_ROTATION_DAYS, "default": 365,
        "description": "Longest rotationPeriodInDays allowed; KMS rotates yearly when it is not set."}},
)
def kms_key_rotation(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if not _rotates_automatically(resource):
        return
    enabled = resource.get("enableKeyRotation")
    if enabled is None:
        yield "enableKeyRotation is not set (KMS then never rotates the key); allowed: true"
    elif enabled is not True and not is_unknown(enabled):
        yield f"enableKeyRotation = {enabled!r}; allowed: true"
    period = _whole_number(resource.get("rotationPeriodInDays"))
    limit = _whole_number(config.get("maxRotationPeriodDays"))
    if period is not None and limit is not None and period > limit:
        yield f"rotationPeriodInDays = {period}; allowed: at most {limit}"


def _has_own_policy(key: Resource) -> bool:
    """Stack policies see outputs: during a preview the policy of a key created without one is unknown,
    because KMS fills in its default. An unknown policy counts as the program's own only when it was
    computed from other resources (the engine then lists them as the property's dependencies)."""
    policy = key.get("policy")
    if is_unknown(policy):
        return bool(key.property_dependencies.get("policy"))
    return _is_set(policy)


@stack_rule(
    name="kms-key-policy-defined",
    description="Ensure every KMS key has an explicit key policy rather than the account-wide default.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV2_AWS_64", "catalog:K3"],
    remediation="Pass policy=json.dumps({...}) to aws.kms.Key naming the admins and the services that use the "
                "key, or attach one with aws.kms.KeyPolicy(key_id=key.id, policy=...).",
)
def kms_key_policy_defined(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    keys = References(stack.of_type(KMS_KEY), "keyId", "arn")
    with_policy = {id(key) for policy in stack.of_type(KMS_KEY_POLICY) for key in keys.named_by(policy, "keyId")}
    for key in stack.of_type(KMS_KEY):
        if _has_own_policy(key) or id(key) in with_policy:
            continue
        yield key, ("policy is not set and no aws:kms/keyPolicy:KeyPolicy names this key; allowed: an explicit "
                    "key policy")


@resource_rule(
    name="kms-key-enabled",
    description="Ensure KMS keys are enabled, so that what they encrypt stays readable.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_227", "catalog:K4"],
    remediation="Remove is_enabled=False from aws.kms.Key; to retire a key, delete it from the program, which "
                "schedules its deletion after deletion_window_in_days.",
    types=[KMS_KEY],
)
def kms_key_enabled(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if resource.get("isEnabled") is False:
        yield "isEnabled = false; allowed: true (the default)"


@resource_rule(
    name="kms-no-policy-lockout-bypass",
    description="Ensure no KMS key or key policy bypasses the policy lockout safety check.",
    severity="critical",
    enforcement="mandatory",
    controls=["pulumi-crp:aws-kms-key-disallow-bypass-policy-lockout-safety-check", "catalog:K5"],
    remediation="Remove bypass_policy_lockout_safety_check=True; if KMS then refuses the policy, it would have "
                "locked every principal, including you, out of the key.",
    types=[KMS_KEY, KMS_KEY_POLICY],
)
def kms_no_lockout_bypass(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if resource.get("bypassPolicyLockoutSafetyCheck") is True:
        yield "bypassPolicyLockoutSafetyCheck = true; allowed: false (the default)"


@resource_rule(
    name="kms-key-has-description",
    description="Ensure every KMS key says what it encrypts.",
    severity="low",
    enforcement="advisory",
    controls=["pulumi-crp:aws-kms-key-missing-description", "catalog:K7"],
    remediation="Pass description='<stack>: volumes, logs and secrets' (what the key protects) to aws.kms.Key.",
    types=[KMS_KEY],
)
def kms_key_description(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if not _is_set(resource.get("description")):
        yield f"description = {resource.get('description')!r}; allowed: a sentence saying what the key encrypts"


# --- CloudWatch log groups ----------------------------------------------------------------------

@resource_rule(
    name="log-group-retention-set",
    description="Ensure every CloudWatch log group expires its events instead of keeping them forever.",
    severity="low",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_66", "catalog:W1"],
    remediation="Pass retention_in_days=365 (or another CloudWatch retention period) to aws.cloudwatch.LogGroup.",
    types=[LOG_GROUP],
)
def log_group_retention_set(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    days = resource.get("retentionInDays")
    if is_unknown(days):
        return
    if days is None:
        yield "retentionInDays is not set, so events never expire; allowed: a retention period in days"
    elif _whole_number(days) is None or days <= 0:
        yield f"retentionInDays = {days!r} keeps events forever; allowed: a retention period in days"


@resource_rule(
    name="log-group-retention-minimum",
    description="Ensure CloudWatch log groups keep events for at least a year (by default), long enough to "
                "investigate an incident.",
    severity="low",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_338", "catalog:W2"],
    remediation="Raise retention_in_days to at least the policy's minimumDays (365, 400, 545, 731, ...); for "
                "flow logs set aws-compute:network.flowLogRetentionDays.",
    types=[LOG_GROUP],
    config={"minimumDays": {"type": "integer", "minimum": 1, "default": 365,
                            "description": "Fewest days a log group may keep its events (0 = forever passes)."}},
)
def log_group_retention_minimum(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    days, minimum = _whole_number(resource.get("retentionInDays")), _whole_number(config.get("minimumDays"))
    if days is not None and minimum is not None and 0 < days < minimum:
        yield f"retentionInDays = {days}; allowed: at least {minimum}, or 0 (never expire)"


@resource_rule(
    name="log-group-encrypted-with-kms",
    description="Ensure CloudWatch log groups are encrypted with a customer-managed KMS key.",
    severity="low",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_158", "trivy:AVD-AWS-0017", "catalog:W3"],
    remediation="Pass kms_key_id=<the stack key's ARN> to aws.cloudwatch.LogGroup; the key policy must let "
                "logs.<region>.amazonaws.com use it for this log group's ARN.",
    types=[LOG_GROUP],
)
def log_group_encrypted(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if not _is_set(resource.get("kmsKeyId")):
        yield f"kmsKeyId = {resource.get('kmsKeyId')!r}; allowed: the ARN of a customer-managed KMS key"


# --- Secrets Manager ----------------------------------------------------------------------------

AWS_MANAGED_KEY = re.compile(r"(^|:)alias/aws/")


@resource_rule(
    name="secret-encrypted-with-cmk",
    description="Ensure Secrets Manager secrets are encrypted with a customer-managed KMS key, not the "
                "AWS-managed aws/secretsmanager key.",
    severity="low",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_149", "pulumi-crp:aws-secretsmanager-secret-configure-customer-managed-key",
              "catalog:S1"],
    remediation="Pass kms_key_id=<the stack key's ARN> to aws.secretsmanager.Secret.",
    types=[SECRET],
)
def secret_encrypted_with_cmk(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    key = resource.get("kmsKeyId")
    if not _is_set(key):
        yield f"kmsKeyId = {key!r} (the AWS-managed key aws/secretsmanager); allowed: a customer-managed key"
    elif isinstance(key, str) and AWS_MANAGED_KEY.search(key):
        yield f"kmsKeyId = {key!r} is AWS-managed; allowed: a customer-managed key"


@stack_rule(
    name="secret-rotation-enabled",
    description="Ensure every Secrets Manager secret is rotated automatically.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV2_AWS_57", "fsbp:SecretsManager.1", "catalog:S2"],
    remediation="Add aws.secretsmanager.SecretRotation(secret_id=secret.id, rotation_lambda_arn=..., "
                "rotation_rules={'automatically_after_days': 30}).",
)
def secret_rotation_enabled(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    secrets = References(stack.of_type(SECRET), "arn")
    rotated = {id(secret) for rotation in stack.of_type(SECRET_ROTATION) if rotation.get("rotationEnabled") is not False
               for secret in secrets.named_by(rotation, "secretId")}
    for secret in stack.of_type(SECRET):
        if id(secret) not in rotated:
            yield secret, ("no aws:secretsmanager/secretRotation:SecretRotation rotates this secret; allowed: a "
                           "rotation per secret")


RATE = re.compile(r"^\s*rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)\s*$", re.IGNORECASE)
DAYS_PER_UNIT = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1}


def rotation_interval_days(rules: Mapping[str, Any]) -> float | None:
    """Days between rotations: automaticallyAfterDays, or a rate() schedule; None for cron schedules, which
    Secrets Manager runs at least monthly, and for values not known yet."""
    days = _whole_number(rules.get("automaticallyAfterDays"))
    if days is not None:
        return float(days)
    match = RATE.match(str(rules.get("scheduleExpression", "")))
    if match:
        return int(match.group(1)) * DAYS_PER_UNIT[match.group(2).lower().rstrip("s")]
    return None


@resource_rule(
    name="secret-rotation-interval",
    description="Ensure secrets rotate at least every 90 days (by default).",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_304", "fsbp:SecretsManager.4", "catalog:S3"],
    remediation="Set rotation_rules={'automatically_after_days': 30} (or schedule_expression='rate(30 days)') on "
                "aws.secretsmanager.SecretRotation.",
    types=[SECRET_ROTATION],
    config={"maximumDays": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 90,
                            "description": "Most days allowed between two rotations."}},
)
def secret_rotation_interval(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    rules, limit = resource.get("rotationRules"), _whole_number(config.get("maximumDays"))
    if is_unknown(rules):
        return
    if not isinstance(rules, Mapping):
        yield f"rotationRules = {rules!r}; allowed: automaticallyAfterDays or scheduleExpression"
        return
    interval = rotation_interval_days(rules)
    if interval is not None and limit is not None and interval > limit:
        path = "automaticallyAfterDays" if "automaticallyAfterDays" in rules else "scheduleExpression"
        value = rules.get(path)
        yield f"rotationRules.{path} = {value!r} rotates every {interval:g} days; allowed: at most {limit}"


@resource_rule(
    name="secret-has-description",
    description="Ensure every Secrets Manager secret says what it holds and who uses it.",
    severity="low",
    enforcement="advisory",
    controls=["pulumi-crp:aws-secretsmanager-secret-missing-description", "catalog:S4"],
    remediation="Pass description='Database password for the web service' (or similar) to "
                "aws.secretsmanager.Secret.",
    types=[SECRET],
)
def secret_description(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if not _is_set(resource.get("description")):
        yield f"description = {resource.get('description')!r}; allowed: a sentence saying what the secret holds"
