"""S3 policies: a bucket is judged with the separate aws.s3.Bucket* resources that configure it.

A sibling names its bucket by the bucket's URN in propertyDependencies (during a preview, when the bucket's
name is unknown) or by the literal name; each test changes one sibling of an otherwise compliant bucket.
"""

from __future__ import annotations

import json
from typing import Any

from policies.rules import Resource, Stack, rule_named

from .pack_client import as_recorded

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ACL = "aws:s3/bucketAcl:BucketAcl"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
VERSIONING_V2 = "aws:s3/bucketVersioningV2:BucketVersioningV2"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
ALB = "aws:lb/loadBalancer:LoadBalancer"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
UNKNOWN_BOOL = "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7"
NAME = "data-0123456"
ARN = f"arn:aws:s3:::{NAME}"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALL_BLOCKED = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
               "restrictPublicBuckets": True}
DENY_HTTP = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [ARN, f"{ARN}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
PUBLIC_READ = {"Sid": "Website", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
               "Resource": f"{ARN}/*"}
ABORT_EVERYWHERE = {"id": "abort", "status": "Enabled", "filter": {},
                    "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::aws-compute::{type_}::{name}"


def bucket(name: str = "data", type_: str = BUCKET, **props: Any) -> Resource:
    return Resource(type_, {"id": NAME, "bucket": NAME, "arn": ARN, **props}, name=name, urn=urn(type_, name))


def sibling(type_: str, name: str, of: Resource | None = None, by_name: bool = False, **props: Any) -> Resource:
    """A resource configuring ``of``: through propertyDependencies (bucket unknown), or by its literal name."""
    target = of or bucket()
    if by_name:
        return Resource(type_, {"bucket": target.get("bucket"), **props}, name=name, urn=urn(type_, name))
    return Resource(type_, {"bucket": UNKNOWN, **props}, name=name, urn=urn(type_, name),
                    property_dependencies={"bucket": (target.urn,)})


def policy_doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def compliant(**replace: Resource | None) -> list[Resource]:
    """A bucket with every sibling a compliant one needs; ``replace`` swaps (or with None drops) one of them."""
    data = bucket()
    parts: dict[str, Resource | None] = {
        "pab": sibling(PAB, "data-pab", data, **ALL_BLOCKED),
        "ownership": sibling(OWNERSHIP, "data-ownership", data, rule={"objectOwnership": "BucketOwnerEnforced"}),
        "policy": sibling(POLICY, "data-policy", data, policy=policy_doc(DENY_HTTP)),
        "sse": sibling(SSE, "data-sse", data, rules=[{"applyServerSideEncryptionByDefault": {
            "sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}}]),
        "versioning": sibling(VERSIONING, "data-versioning", data, versioningConfiguration={"status": "Enabled"}),
        "lifecycle": sibling(LIFECYCLE, "data-lifecycle", data, rules=[ABORT_EVERYWHERE]),
        "logging": sibling(LOGGING, "data-logging", data, targetBucket="logs-0123456"),
    }
    parts.update(replace)
    return [data, *(p for p in parts.values() if p is not None)]


def findings(policy: str, *resources: Resource) -> list[tuple[str, str]]:
    return [(r.name, message) for r, message in rule_named(policy).evaluate_stack(Stack(tuple(resources)))]


def messages(policy: str, *resources: Resource) -> list[str]:
    return [message for _, message in findings(policy, *resources)]


STACK_POLICIES = ("s3-bucket-public-access-block", "s3-bucket-not-public", "s3-bucket-ssl-requests-only",
                  "s3-bucket-encrypted-with-kms", "s3-bucket-versioning", "s3-bucket-lifecycle-configured",
                  "s3-bucket-aborts-incomplete-uploads", "s3-bucket-access-logging")


def test_a_bucket_with_every_sibling_in_place_passes_every_s3_policy():
    stack = compliant()
    assert {policy: findings(policy, *stack) for policy in STACK_POLICIES} == {p: [] for p in STACK_POLICIES}


def test_siblings_that_name_the_bucket_literally_count_as_well():
    data = bucket()
    literal = [sibling(r.type, r.name, data, by_name=True, **{k: v for k, v in r.props.items() if k != "bucket"})
               for r in compliant()[1:]]
    assert {policy: findings(policy, data, *literal) for policy in STACK_POLICIES} == {p: [] for p in STACK_POLICIES}


def test_a_sibling_of_another_bucket_does_not_count():
    other = bucket("other", id="other-0123456", bucket="other-0123456", arn="arn:aws:s3:::other-0123456")
    stack = compliant(pab=sibling(PAB, "other-pab", other, **ALL_BLOCKED))
    assert findings("s3-bucket-public-access-block", *stack, other) == [("data", (
        "no aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock names this bucket; allowed: one with "
        "blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets all true"))]


# --- B1 -----------------------------------------------------------------------------------------------

def test_a_bucket_without_a_public_access_block_is_reported_once():
    assert [name for name, _ in findings("s3-bucket-public-access-block", *compliant(pab=None))] == ["data"]


def test_a_public_access_block_that_leaves_settings_out_names_each_in_one_finding():
    partial = sibling(PAB, "data-pab", blockPublicAcls=True, blockPublicPolicy=True)
    assert messages("s3-bucket-public-access-block", *compliant(pab=partial)) == [
        "data-pab: ignorePublicAcls = not set, restrictPublicBuckets = not set; allowed: true (a setting left out "
        "is false)"]


def test_an_unknown_public_access_setting_cannot_be_verified():
    unknown = sibling(PAB, "data-pab", **{**ALL_BLOCKED, "restrictPublicBuckets": UNKNOWN_BOOL})
    (message,) = messages("s3-bucket-public-access-block", *compliant(pab=unknown))
    assert "data-pab.restrictPublicBuckets cannot be verified during preview" in message


def test_a_block_naming_an_unknown_bucket_of_no_known_resource_makes_a_missing_block_unverifiable():
    stray = Resource(PAB, {"bucket": UNKNOWN, **ALL_BLOCKED}, name="stray", urn=urn(PAB, "stray"))
    (message,) = messages("s3-bucket-public-access-block", *compliant(pab=stray))
    assert "cannot be verified during preview" in message


# --- B2, B3 -------------------------------------------------------------------------------------------

def test_a_public_read_policy_is_reported_when_the_block_does_not_restrict_it():
    open_block = sibling(PAB, "data-pab", **{**ALL_BLOCKED, "restrictPublicBuckets": False})
    public = sibling(POLICY, "data-policy", policy=policy_doc(DENY_HTTP, PUBLIC_READ))
    assert messages("s3-bucket-not-public", *compliant(pab=open_block, policy=public)) == [
        "data-policy.policy Statement[1] (Website) lets every principal read the bucket (s3:GetObject) with no "
        "condition that narrows the caller; allowed: named principals, or a condition on aws:PrincipalOrgID, "
        "aws:SourceArn, ..."]


def test_one_statement_that_lets_everyone_read_and_write_is_one_finding():
    everything = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": f"{ARN}/*"}
    stack = compliant(pab=None, policy=sibling(POLICY, "data-policy", policy=policy_doc(DENY_HTTP, everything)))
    (message,) = messages("s3-bucket-not-public", *stack)
    assert "lets every principal read and write the bucket (s3:*)" in message


def test_a_public_statement_narrowed_by_a_condition_passes():
    narrowed = {**PUBLIC_READ, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}
    stack = compliant(pab=None, policy=sibling(POLICY, "data-policy", policy=policy_doc(DENY_HTTP, narrowed)))
    assert findings("s3-bucket-not-public", *stack) == []


def test_restrict_public_buckets_neutralizes_a_public_policy():
    public = sibling(POLICY, "data-policy", policy=policy_doc(DENY_HTTP, PUBLIC_READ))
    assert findings("s3-bucket-not-public", *compliant(policy=public)) == []


def test_a_public_canned_acl_on_a_separate_acl_resource_is_reported():
    acl = sibling(ACL, "data-acl", acl="public-read-write")
    ownership = sibling(OWNERSHIP, "data-ownership", rule={"objectOwnership": "ObjectWriter"})
    assert messages("s3-bucket-not-public", *compliant(pab=None, ownership=ownership), acl) == [
        "data-acl.acl = 'public-read-write' lets everyone read and write the bucket; allowed: no public ACL"]


def test_a_grant_to_all_users_on_the_bucket_itself_is_reported():
    data = bucket(grants=[{"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers",
                           "permissions": ["WRITE"]}])
    assert messages("s3-bucket-not-public", data) == [
        "grants[0] grants WRITE to http://acs.amazonaws.com/groups/global/AllUsers lets everyone write the bucket; "
        "allowed: no public ACL"]


def test_ignore_public_acls_or_disabled_acls_neutralize_a_public_acl():
    acl = sibling(ACL, "data-acl", acl="public-read")
    assert findings("s3-bucket-not-public", *compliant(), acl) == []  # ignorePublicAcls and BucketOwnerEnforced
    assert findings("s3-bucket-not-public", *compliant(pab=None), acl) == []  # BucketOwnerEnforced alone


# --- B5 -----------------------------------------------------------------------------------------------

def test_a_bucket_without_a_policy_does_not_refuse_plain_http():
    assert messages("s3-bucket-ssl-requests-only", *compliant(policy=None)) == [
        "no bucket policy denies requests without TLS; allowed: a Deny of s3:* to '*' when aws:SecureTransport "
        "is false"]


def test_a_policy_without_the_tls_deny_is_reported():
    allow_only = sibling(POLICY, "data-policy", policy=policy_doc({**PUBLIC_READ, "Principal": {
        "AWS": "arn:aws:iam::123456789012:root"}}))
    (message,) = messages("s3-bucket-ssl-requests-only", *compliant(policy=allow_only))
    assert message.startswith("data-policy.policy has no statement denying s3:*")


def test_a_tls_deny_on_another_buckets_objects_does_not_count():
    elsewhere = {**DENY_HTTP, "Resource": "arn:aws:s3:::other-bucket/*"}
    stack = compliant(policy=sibling(POLICY, "data-policy", policy=policy_doc(elsewhere)))
    assert [name for name, _ in findings("s3-bucket-ssl-requests-only", *stack)] == ["data"]


def test_a_deny_below_tls_1_2_also_refuses_plain_http():
    tls = {**DENY_HTTP, "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}}
    assert findings("s3-bucket-ssl-requests-only", *compliant(policy=sibling(POLICY, "data-policy",
                                                                             policy=policy_doc(tls)))) == []


def test_a_policy_known_only_after_the_update_cannot_be_verified():
    (message,) = messages("s3-bucket-ssl-requests-only", *compliant(policy=sibling(POLICY, "data-policy",
                                                                                    policy=UNKNOWN)))
    assert "data-policy.policy cannot be verified" in message


def test_the_deprecated_inline_policy_counts():
    data = bucket(policy=policy_doc(DENY_HTTP))
    assert findings("s3-bucket-ssl-requests-only", data) == []


# --- B8, B9 -------------------------------------------------------------------------------------------

def test_sse_s3_is_not_kms():
    aes = sibling(SSE, "data-sse", rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}])
    assert messages("s3-bucket-encrypted-with-kms", *compliant(sse=aes)) == [
        "data-sse.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm = 'AES256'; allowed: aws:kms or "
        "aws:kms:dsse"]


def test_dsse_kms_is_kms():
    dsse = sibling(SSE, "data-sse", rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms:dsse"}}])
    assert findings("s3-bucket-encrypted-with-kms", *compliant(sse=dsse)) == []


def test_a_bucket_without_encryption_configuration_is_reported():
    (message,) = messages("s3-bucket-encrypted-with-kms", *compliant(sse=None))
    assert message.startswith("no default encryption configuration names this bucket, so S3 applies SSE-S3")


def test_a_load_balancer_log_bucket_keeps_sse_s3_which_is_all_elb_supports():
    data = bucket()
    alb = Resource(ALB, {"accessLogs": {"bucket": UNKNOWN, "enabled": True}}, name="alb", urn=urn(ALB, "alb"),
                   property_dependencies={"accessLogs": (data.urn,)})
    aes = sibling(SSE, "data-sse", data, rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}])
    assert findings("s3-bucket-encrypted-with-kms", *compliant(sse=aes), alb) == []
    assert findings("s3-bucket-encrypted-with-kms", *compliant(sse=None), alb) == []


def test_kms_on_a_load_balancer_log_bucket_is_reported_as_breaking_log_delivery():
    alb = Resource(ALB, {"accessLogs": {"bucket": NAME, "enabled": True}}, name="alb", urn=urn(ALB, "alb"))
    (message,) = messages("s3-bucket-encrypted-with-kms", *compliant(), alb)
    assert "which support SSE-S3 only; allowed: 'AES256'" in message


def test_a_bucket_whose_policy_admits_elb_log_delivery_is_a_log_bucket():
    delivery = {"Effect": "Allow", "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                "Action": "s3:PutObject", "Resource": f"{ARN}/alb/*"}
    aes = sibling(SSE, "data-sse", rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}])
    stack = compliant(sse=aes, policy=sibling(POLICY, "data-policy", policy=policy_doc(DENY_HTTP, delivery)))
    assert findings("s3-bucket-encrypted-with-kms", *stack) == []


# --- B4 -----------------------------------------------------------------------------------------------

def test_ownership_controls_that_keep_acls_are_refused():
    controls = sibling(OWNERSHIP, "data-ownership", rule={"objectOwnership": "BucketOwnerPreferred"})
    assert rule_named("s3-bucket-acls-disabled").evaluate(controls) == [
        "rule.objectOwnership = 'BucketOwnerPreferred' keeps ACLs in use; allowed: 'BucketOwnerEnforced'"]


def test_bucket_owner_enforced_disables_acls():
    controls = sibling(OWNERSHIP, "data-ownership", rule={"objectOwnership": "BucketOwnerEnforced"})
    assert rule_named("s3-bucket-acls-disabled").evaluate(controls) == []


# --- B13 ----------------------------------------------------------------------------------------------

def test_suspended_versioning_is_reported():
    suspended = sibling(VERSIONING, "data-versioning", versioningConfiguration={"status": "Suspended"})
    assert messages("s3-bucket-versioning", *compliant(versioning=suspended)) == [
        "data-versioning.versioningConfiguration.status is not Enabled; allowed: Enabled"]


def test_a_bucket_without_versioning_is_reported():
    assert [name for name, _ in findings("s3-bucket-versioning", *compliant(versioning=None))] == ["data"]


def test_the_v2_aliases_count_like_the_current_types():
    data = bucket(type_=BUCKET_V2)
    versioning = sibling(VERSIONING_V2, "data-versioning", data, versioningConfiguration={"status": "Enabled"})
    assert findings("s3-bucket-versioning", data, versioning) == []
    assert [name for name, _ in findings("s3-bucket-versioning", data)] == ["data"]


def test_inline_versioning_counts():
    assert findings("s3-bucket-versioning", bucket(versioning={"enabled": True})) == []


# --- B15, B16 -----------------------------------------------------------------------------------------

def test_a_bucket_without_lifecycle_rules_is_reported_once_by_the_lifecycle_policy_only():
    stack = compliant(lifecycle=None)
    assert [name for name, _ in findings("s3-bucket-lifecycle-configured", *stack)] == ["data"]
    assert findings("s3-bucket-aborts-incomplete-uploads", *stack) == []


def test_only_disabled_lifecycle_rules_are_reported_once():
    disabled = sibling(LIFECYCLE, "data-lifecycle", rules=[{**ABORT_EVERYWHERE, "status": "Disabled"}])
    assert messages("s3-bucket-lifecycle-configured", *compliant(lifecycle=disabled)) == [
        "no lifecycle rule is enabled (data-lifecycle.rules[0]); allowed: at least one rule with status Enabled"]
    assert findings("s3-bucket-aborts-incomplete-uploads", *compliant(lifecycle=disabled)) == []


def test_an_abort_rule_limited_to_a_prefix_does_not_cover_the_bucket():
    prefixed = sibling(LIFECYCLE, "data-lifecycle", rules=[{**ABORT_EVERYWHERE, "filter": {"prefix": "alb/"}}])
    assert findings("s3-bucket-lifecycle-configured", *compliant(lifecycle=prefixed)) == []
    assert messages("s3-bucket-aborts-incomplete-uploads", *compliant(lifecycle=prefixed)) == [
        "no enabled lifecycle rule without a filter aborts incomplete multipart uploads (data-lifecycle.rules[0]); "
        "allowed: a rule with an empty filter and abortIncompleteMultipartUpload.daysAfterInitiation"]


def test_an_expiry_rule_without_abort_is_reported():
    expiry = sibling(LIFECYCLE, "data-lifecycle", rules=[{"id": "expire", "status": "Enabled", "filter": {},
                                                          "expiration": {"days": 30}}])
    assert [name for name, _ in findings("s3-bucket-aborts-incomplete-uploads", *compliant(lifecycle=expiry))] == [
        "data"]


# --- B12 ----------------------------------------------------------------------------------------------

def test_a_bucket_without_server_access_logging_is_reported():
    assert [name for name, _ in findings("s3-bucket-access-logging", *compliant(logging=None))] == ["data"]


def test_inline_logging_counts():
    assert findings("s3-bucket-access-logging", bucket(logging={"targetBucket": "logs-0123456"})) == []


# --- Through the pack ---------------------------------------------------------------------------------

def test_the_pack_reports_a_public_bucket_over_grpc(pack):
    data = as_recorded(BUCKET, {"bucket": NAME, "arn": ARN}, name="data", id=NAME)
    acl = as_recorded(ACL, {"bucket": NAME, "acl": "public-read"}, name="data-acl")
    found = {(f.policy, f.urn.rsplit("::", 1)[-1]) for f in pack.analyze([data, acl])}
    assert {("s3-bucket-public-access-block", "data"), ("s3-bucket-not-public", "data"),
            ("s3-bucket-ssl-requests-only", "data"), ("s3-bucket-versioning", "data")} <= found
