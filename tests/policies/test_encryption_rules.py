"""Encryption policies: KMS keys, CloudWatch log groups and Secrets Manager.

Each policy is called directly with Pulumi inputs as the engine sends them (camelCase); one test sends
a stack through the real pack over gRPC.
"""

from __future__ import annotations

from typing import Any

from policies.rules import Resource, Stack, rule_named

from .pack_client import as_recorded

KEY = "aws:kms/key:Key"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECRET = "aws:secretsmanager/secret:Secret"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
UNKNOWN_NUMBER = "3eeb2bf0-c639-47a8-9e75-3b44932eb421"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GOOD_KEY = {"description": "aws-compute prod: volumes, logs and secrets", "enableKeyRotation": True,
            "policy": '{"Version": "2012-10-17", "Statement": []}'}


def resource(type_: str, name: str = "r", deps: dict[str, list[str]] | None = None, **props: Any) -> Resource:
    return Resource(type_, props, name=name, urn=f"urn:pulumi:test::aws-compute::{type_}::{name}",
                    property_dependencies={k: tuple(v) for k, v in (deps or {}).items()})


def key(**overrides: Any) -> Resource:
    return resource(KEY, "key", **{"id": "key-1", "arn": KEY_ARN, **GOOD_KEY, **overrides})


def check(policy: str, subject: Resource, config: dict[str, Any] | None = None) -> list[str]:
    return rule_named(policy).evaluate(subject, config)


def check_stack(policy: str, *resources: Resource) -> list[tuple[str, str]]:
    return [(r.name, message) for r, message in rule_named(policy).evaluate_stack(Stack(resources))]


# --- K1: rotation -------------------------------------------------------------------------------

def test_a_key_without_rotation_is_refused():
    assert check("kms-key-rotation-enabled", key(enableKeyRotation=False)) == [
        "enableKeyRotation = False; allowed: true"]
    assert check("kms-key-rotation-enabled", resource(KEY)) == [
        "enableKeyRotation is not set (KMS then never rotates the key); allowed: true"]


def test_a_rotating_key_passes():
    assert check("kms-key-rotation-enabled", key()) == []


def test_rotation_does_not_apply_to_asymmetric_or_hmac_keys():
    assert check("kms-key-rotation-enabled", resource(KEY, customerMasterKeySpec="RSA_2048", keyUsage="SIGN_VERIFY")) \
        == []
    assert check("kms-key-rotation-enabled", resource(KEY, customerMasterKeySpec="HMAC_256",
                                                      keyUsage="GENERATE_VERIFY_MAC")) == []


def test_a_rotation_period_longer_than_allowed_is_refused():
    assert check("kms-key-rotation-enabled", key(rotationPeriodInDays=730.0)) == [
        "rotationPeriodInDays = 730; allowed: at most 365"]
    assert check("kms-key-rotation-enabled", key(rotationPeriodInDays=730), {"maxRotationPeriodDays": 730}) == []


# --- K3: explicit key policy --------------------------------------------------------------------

def test_a_key_without_policy_is_reported():
    assert [name for name, _ in check_stack("kms-key-policy-defined", key(policy=None))] == ["key"]


def test_an_unknown_policy_is_the_kms_default_unless_computed_from_other_resources():
    defaulted = key(policy=UNKNOWN_STRING)
    role = "urn:pulumi:test::aws-compute::aws:iam/role:Role::admin"
    computed = resource(KEY, "computed", policy=UNKNOWN_STRING, deps={"policy": [role]})
    assert [name for name, _ in check_stack("kms-key-policy-defined", defaulted, computed)] == ["key"]


def test_a_key_policy_resource_counts_as_an_explicit_policy():
    bare = key(policy=None)
    by_urn = resource(KEY_POLICY, "p", keyId=UNKNOWN_STRING, policy="{}", deps={"keyId": [bare.urn]})
    by_arn = resource(KEY_POLICY, "p", keyId=KEY_ARN, policy="{}")
    assert check_stack("kms-key-policy-defined", bare, by_urn) == []
    assert check_stack("kms-key-policy-defined", bare, by_arn) == []


def test_a_key_policy_for_another_key_does_not_count():
    other = resource(KEY_POLICY, "p", keyId="key-2", policy="{}")
    assert len(check_stack("kms-key-policy-defined", key(policy=None), other)) == 1


# --- K4, K5, K7: enabled, lockout check, description --------------------------------------------

def test_a_disabled_key_is_refused_and_the_default_passes():
    assert check("kms-key-enabled", key(isEnabled=False)) == ["isEnabled = false; allowed: true (the default)"]
    assert check("kms-key-enabled", key()) == []


def test_bypassing_the_lockout_safety_check_is_refused_on_keys_and_key_policies():
    assert len(check("kms-no-policy-lockout-bypass", key(bypassPolicyLockoutSafetyCheck=True))) == 1
    assert len(check("kms-no-policy-lockout-bypass", resource(KEY_POLICY, bypassPolicyLockoutSafetyCheck=True))) == 1
    assert check("kms-no-policy-lockout-bypass", key(bypassPolicyLockoutSafetyCheck=False)) == []


def test_a_key_needs_a_description():
    assert check("kms-key-has-description", key(description="  ")) == [
        "description = '  '; allowed: a sentence saying what the key encrypts"]
    assert check("kms-key-has-description", key()) == []


# --- W1-W3: log groups --------------------------------------------------------------------------

def test_a_log_group_without_retention_keeps_events_forever():
    assert check("log-group-retention-set", resource(LOG_GROUP)) == [
        "retentionInDays is not set, so events never expire; allowed: a retention period in days"]
    assert len(check("log-group-retention-set", resource(LOG_GROUP, retentionInDays=0))) == 1


def test_a_log_group_with_retention_passes_and_an_unknown_one_is_not_judged():
    assert check("log-group-retention-set", resource(LOG_GROUP, retentionInDays=30.0)) == []
    assert check("log-group-retention-set", resource(LOG_GROUP, retentionInDays=UNKNOWN_NUMBER)) == []


def test_retention_shorter_than_a_year_is_refused():
    assert check("log-group-retention-minimum", resource(LOG_GROUP, retentionInDays=30)) == [
        "retentionInDays = 30; allowed: at least 365, or 0 (never expire)"]


def test_a_year_of_retention_or_forever_meets_the_minimum():
    assert check("log-group-retention-minimum", resource(LOG_GROUP, retentionInDays=365)) == []
    assert check("log-group-retention-minimum", resource(LOG_GROUP, retentionInDays=0)) == []


def test_minimum_retention_is_configurable():
    assert check("log-group-retention-minimum", resource(LOG_GROUP, retentionInDays=90), {"minimumDays": 90}) == []


def test_a_log_group_without_kms_key_is_refused():
    assert check("log-group-encrypted-with-kms", resource(LOG_GROUP)) == [
        "kmsKeyId = None; allowed: the ARN of a customer-managed KMS key"]


def test_a_log_group_with_a_key_not_yet_known_is_encrypted():
    assert check("log-group-encrypted-with-kms", resource(LOG_GROUP, kmsKeyId=UNKNOWN_STRING)) == []
    assert check("log-group-encrypted-with-kms", resource(LOG_GROUP, kmsKeyId=KEY_ARN)) == []


# --- S1-S4: secrets -----------------------------------------------------------------------------

def test_a_secret_on_the_aws_managed_key_is_refused():
    assert len(check("secret-encrypted-with-cmk", resource(SECRET))) == 1
    assert check("secret-encrypted-with-cmk", resource(SECRET, kmsKeyId="alias/aws/secretsmanager")) == [
        "kmsKeyId = 'alias/aws/secretsmanager' is AWS-managed; allowed: a customer-managed key"]
    aws_alias_arn = "arn:aws:kms:eu-west-1:123456789012:alias/aws/secretsmanager"
    assert len(check("secret-encrypted-with-cmk", resource(SECRET, kmsKeyId=aws_alias_arn))) == 1


def test_a_secret_on_a_customer_managed_key_passes():
    assert check("secret-encrypted-with-cmk", resource(SECRET, kmsKeyId=KEY_ARN)) == []
    assert check("secret-encrypted-with-cmk", resource(SECRET, kmsKeyId="alias/aws-compute-prod")) == []


def test_a_secret_without_rotation_is_reported():
    secret = resource(SECRET, "db", id="arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf")
    assert [name for name, _ in check_stack("secret-rotation-enabled", secret)] == ["db"]


def test_a_rotation_resource_for_the_secret_enables_rotation():
    secret = resource(SECRET, "db", id=UNKNOWN_STRING)
    rotation = resource(ROTATION, "db-rotation", secretId=UNKNOWN_STRING, deps={"secretId": [secret.urn]})
    assert check_stack("secret-rotation-enabled", secret, rotation) == []


def test_a_rotation_that_is_switched_off_does_not_count():
    secret = resource(SECRET, "db", id="secret-1")
    rotation = resource(ROTATION, "off", secretId="secret-1", rotationEnabled=False)
    assert len(check_stack("secret-rotation-enabled", secret, rotation)) == 1


def test_rotating_less_often_than_every_90_days_is_refused():
    assert check("secret-rotation-interval", resource(ROTATION, rotationRules={"automaticallyAfterDays": 180})) == [
        "rotationRules.automaticallyAfterDays = 180 rotates every 180 days; allowed: at most 90"]
    assert len(check("secret-rotation-interval", resource(ROTATION, rotationRules={
        "scheduleExpression": "rate(120 days)"}))) == 1


def test_rotation_every_30_days_a_rate_in_hours_or_a_cron_schedule_passes():
    for rules in ({"automaticallyAfterDays": 30.0}, {"scheduleExpression": "rate(12 hours)"},
                  {"scheduleExpression": "cron(0 4 1 * ? *)"}):
        assert check("secret-rotation-interval", resource(ROTATION, rotationRules=rules)) == [], rules


def test_rotation_without_rules_is_refused():
    assert check("secret-rotation-interval", resource(ROTATION, secretId="s")) == [
        "rotationRules = None; allowed: automaticallyAfterDays or scheduleExpression"]


def test_a_secret_needs_a_description():
    assert len(check("secret-has-description", resource(SECRET))) == 1
    assert check("secret-has-description", resource(SECRET, description="Database password for the service")) == []


# --- Through the pack ----------------------------------------------------------------------------

def test_the_pack_reports_encryption_findings_over_grpc(pack):
    bare_key = as_recorded(KEY, {"description": ""}, name="bare")
    logs = as_recorded(LOG_GROUP, {"retentionInDays": 30}, name="logs")
    secret = as_recorded(SECRET, {"description": "db password", "kmsKeyId": KEY_ARN}, name="db")
    found = {(f.policy, f.urn.rsplit("::", 1)[-1]) for f in pack.analyze([bare_key, logs, secret])}
    assert {("kms-key-rotation-enabled", "bare"), ("kms-key-policy-defined", "bare"),
            ("kms-key-has-description", "bare"), ("log-group-retention-minimum", "logs"),
            ("log-group-encrypted-with-kms", "logs"), ("secret-rotation-enabled", "db")} <= found
    assert ("log-group-retention-set", "logs") not in found
    assert ("secret-encrypted-with-cmk", "db") not in found
