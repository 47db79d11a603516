"""Storage policies: S3 buckets (controls B1-B16 of ``policy-controls-storage-messaging.md``).

A bucket's settings live in separate ``aws.s3.Bucket*`` resources (public access block, policy, encryption,
versioning, lifecycle, logging, ACL), each naming its bucket in ``bucket``; the deprecated inline arguments
of ``aws.s3.Bucket`` still work and count as well. So each per-bucket control is a stack policy that first
gathers every bucket's siblings, once per stack: by the bucket's URN in the sibling's propertyDependencies
(what a preview knows, while ``bucket.id`` is unknown), or by the literal bucket name when both are known.
Each finding is reported on the bucket, as Security Hub does, naming the sibling and field to change.

One defect is one finding: each field is judged by one policy only. Public access through an ACL or a
policy is judged by ``s3-bucket-not-public`` (S3.2 and S3.3 merged: one statement that lets everyone read
and write is one defect); a lifecycle configuration missing altogether is ``s3-bucket-lifecycle-configured``'s,
and ``s3-bucket-aborts-incomplete-uploads`` judges only buckets that have an enabled lifecycle rule.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .base import Resource, Stack, as_list, is_unknown, resource_rule, shown, stack_rule, unverifiable
from .iam_documents import Document, Statement, read_document
from .network import References, known_ids

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP_CONTROLS = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
# Each sibling kind with the type tokens of its current class and of its deprecated *V2 alias.
SIBLINGS = {
    "public access block": (PUBLIC_ACCESS_BLOCK,),
    "ownership controls": (OWNERSHIP_CONTROLS,),
    "policy": (BUCKET_POLICY,),
    "acl": ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"),
    "encryption": ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                   "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"),
    "versioning": ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"),
    "lifecycle": ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                  "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"),
    "logging": ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2"),
}
# Load balancers whose access logs S3 receives: they support SSE-S3 only (see elb_log_buckets).
ELB_LOG_SOURCES = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer",
                   "aws:elb/loadBalancer:LoadBalancer")
ELB_LOG_KEYS = ("accessLogs", "connectionLogs", "healthCheckLogs")
ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"
PUBLIC_GROUPS = ("http://acs.amazonaws.com/groups/global/AllUsers",
                 "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
PUBLIC_CANNED_ACLS = {"public-read": "read", "public-read-write": "read and write", "authenticated-read": "read"}
WRITE_PERMISSIONS = ("WRITE", "WRITE_ACP", "FULL_CONTROL")
# One action of each pattern in Steampipe's S3.3 query (s3:Put*, s3:Delete*, s3:Create*, s3:Update*,
# s3:Replicate*, s3:Restore*): a public statement allowing any of them is a public write.
WRITE_ACTIONS = ("s3:PutObject", "s3:PutBucketPolicy", "s3:DeleteObject", "s3:DeleteBucket", "s3:CreateJob",
                 "s3:UpdateJobPriority", "s3:ReplicateObject", "s3:RestoreObject")
READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions")
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
SSE_ALGORITHMS = ("AES256", *KMS_ALGORITHMS)  # the values S3's ServerSideEncryptionByDefault accepts
BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def member(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else None


# --- a bucket and its siblings ---------------------------------------------------------------------

@dataclass
class Bucket:
    """One bucket with the sibling resources that configure it, by kind."""

    resource: Resource
    siblings: dict[str, list[Resource]] = field(default_factory=dict)
    undecided: set[str] = field(default_factory=set)
    """Kinds of which some resource names a bucket that cannot be told apart offline (unknown names)."""

    def of(self, kind: str) -> list[Resource]:
        return self.siblings.get(kind, [])

    def get(self, key: str) -> Any:
        return self.resource.get(key)

    @property
    def arn(self) -> str | None:
        arn = self.resource.get("arn")
        return arn if isinstance(arn, str) and arn.startswith("arn:") and not is_unknown(arn) else None

    def missing(self, kind: str, what: str) -> str:
        """The finding for a bucket that has no sibling of ``kind``: unverifiable when one of them may be its."""
        if kind in self.undecided:
            return unverifiable(f"which aws:s3 {kind} belongs to this bucket")
        return what


def buckets_of(stack: Stack) -> list[Bucket]:
    """Every bucket of the stack with its siblings; built once per stack."""
    return stack.memo("s3 buckets", lambda: _gather(stack))


def _gather(stack: Stack) -> list[Bucket]:
    resources = stack.of_type(*BUCKETS)
    buckets = {id(r): Bucket(r) for r in resources}
    references = References(resources, "bucket", "arn")
    anonymous = any(not known_ids(r, "bucket") for r in resources)
    for kind, types in SIBLINGS.items():
        for sibling in stack.of_type(*types):
            owners = references.named_by(sibling, "bucket")
            for owner in owners:
                buckets[id(owner)].siblings.setdefault(kind, []).append(sibling)
            if not owners and (anonymous or is_unknown(sibling.get("bucket"))):
                for bucket in buckets.values():
                    bucket.undecided.add(kind)
    return list(buckets.values())


def documents_of(bucket: Bucket) -> list[tuple[str, Any]]:
    """(path, policy JSON) of the bucket's inline policy and of each aws:s3/bucketPolicy naming it."""
    separate = [(f"{p.name}.policy", p.get("policy")) for p in bucket.of("policy")]
    # The bucket's own policy counts only without a separate one: an existing bucket's outputs mirror it.
    return separate or ([("policy", bucket.get("policy"))] if bucket.get("policy") not in (None, "") else [])


def block_flag(bucket: Bucket, flag: str) -> Any:
    """A public access block flag: True only when every block of the bucket sets it (absent means false)."""
    values = [b.get(flag) for b in bucket.of("public access block")]
    if not values:
        return None
    if any(is_unknown(v) for v in values):
        return next(v for v in values if is_unknown(v))
    return all(v is True for v in values)


# --- B1: public access block ----------------------------------------------------------------------

@stack_rule(
    name="s3-bucket-public-access-block",
    description="Ensure every S3 bucket has a public access block with all four settings on (blockPublicAcls, "
                "blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets).",
    severity="high",
    enforcement="mandatory",
    controls=["fsbp:S3.8", "cis-aws:2.1.4", "cis-aws:3.1.4", "catalog:B1"],
    remediation="Add aws.s3.BucketPublicAccessBlock(bucket=bucket.id, block_public_acls=True, "
                "block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True); each setting "
                "left out is false, which turns off what AWS enables on new buckets.",
)
def s3_public_access_block(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    for bucket in buckets_of(stack):
        blocks = bucket.of("public access block")
        if not blocks:
            yield bucket.resource, bucket.missing(
                "public access block", f"no {PUBLIC_ACCESS_BLOCK} names this bucket; allowed: one with "
                                       f"{', '.join(BLOCK_FLAGS)} all true")
            continue
        for block in blocks:
            off = [f"{flag} = {shown(block.get(flag))}" for flag in BLOCK_FLAGS
                   if block.get(flag) is not True and not is_unknown(block.get(flag))]
            unknown = [flag for flag in BLOCK_FLAGS if is_unknown(block.get(flag))]
            if off:
                yield bucket.resource, f"{block.name}: {', '.join(off)}; allowed: true (a setting left out is false)"
            elif unknown:
                yield bucket.resource, unverifiable(f"{block.name}.{unknown[0]}")


# --- B2, B3: not publicly readable or writable ----------------------------------------------------

def _acl_grants(bucket: Bucket) -> Iterator[tuple[str, str]]:
    """(where, "read" / "write" / "read and write") for each ACL that opens the bucket to everyone. The
    bucket's own acl and grants count only when no aws:s3/bucketAcl manages its ACL (an existing bucket's
    outputs mirror what that resource set, which would report one grant twice)."""
    sources = [(f"{acl.name}.acl", acl.get("acl"), member(acl.get("accessControlPolicy"), "grants"),
                f"{acl.name}.accessControlPolicy.grants") for acl in bucket.of("acl")]
    if not sources:
        sources = [("acl", bucket.get("acl"), bucket.get("grants"), "grants")]
    for path, canned, grants, grants_path in sources:
        if isinstance(canned, str) and canned in PUBLIC_CANNED_ACLS:
            yield f"{path} = {canned!r}", PUBLIC_CANNED_ACLS[canned]
        for index, grant in enumerate(as_list(grants)):
            grantee = member(grant, "grantee") if isinstance(member(grant, "grantee"), Mapping) else grant
            uri = member(grantee, "uri")
            if uri not in PUBLIC_GROUPS:
                continue
            permissions = [str(p) for key in ("permissions", "permission") for p in as_list(member(grant, key))]
            granted = ", ".join(permissions) or "access"
            yield f"{grants_path}[{index}] grants {granted} to {uri}", _acl_access(permissions)


def _acl_access(permissions: list[str]) -> str:
    writes = any(p in WRITE_PERMISSIONS for p in permissions)
    reads = any(p in ("READ", "READ_ACP", "FULL_CONTROL") for p in permissions) or not permissions
    return "read and write" if reads and writes else "write" if writes else "read"


def _public_access(statement: Statement) -> str:
    writes = any(statement.allows_action(action) for action in WRITE_ACTIONS)
    reads = any(statement.allows_action(action) for action in READ_ACTIONS)
    return "read and write" if writes and reads else "write" if writes else "read" if reads else "use"


def _public_statements(document: Document) -> list[Statement]:
    return [s for s in document.statements if s.is_public]


def _acls_disabled(bucket: Bucket) -> bool:
    rules = [member(c.get("rule"), "objectOwnership") for c in bucket.of("ownership controls")]
    return bool(rules) and all(r == "BucketOwnerEnforced" for r in rules)


@stack_rule(
    name="s3-bucket-not-public",
    description="Ensure no S3 bucket is readable or writable by everyone through an ACL or its bucket policy, "
                "unless its public access block neutralizes it.",
    severity="critical",
    enforcement="mandatory",
    controls=["fsbp:S3.2", "fsbp:S3.3", "catalog:B2", "catalog:B3"],
    remediation="Remove public-read / public-read-write / authenticated-read ACLs and grants to AllUsers or "
                "AuthenticatedUsers; give Principal '*' statements a condition on aws:PrincipalOrgID, "
                "aws:SourceArn or aws:SourceVpce, or name the principals; serve public content through CloudFront.",
)
def s3_not_public(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    for bucket in buckets_of(stack):
        if block_flag(bucket, "ignorePublicAcls") is not True and not _acls_disabled(bucket):
            for where, access in _acl_grants(bucket):
                yield bucket.resource, f"{where} lets everyone {access} the bucket; allowed: no public ACL"
        if block_flag(bucket, "restrictPublicBuckets") is True:
            continue
        for path, value in documents_of(bucket):
            reading = read_document(value)
            if reading.status == "unknown":
                yield bucket.resource, unverifiable(path)
            if reading.status != "parsed":
                continue
            certain = _public_statements(reading.best)
            for statement in certain:
                actions = ("NotAction " if statement.not_action else "") + ", ".join(statement.actions)
                yield bucket.resource, (f"{path} {statement.label} lets every principal {_public_access(statement)} "
                                        f"the bucket ({actions}) with no condition that narrows the caller; allowed: "
                                        f"named principals, or a condition on aws:PrincipalOrgID, aws:SourceArn, ...")
            if not certain and reading.partly_unknown and _public_statements(reading.worst):
                yield bucket.resource, unverifiable(path)


# --- B5: TLS only -------------------------------------------------------------------------------------

def _denies_plain_http(statement: Statement, bucket_arn: str | None) -> bool:
    """A Deny to everyone of every S3 action on the bucket's objects when aws:SecureTransport is false (or,
    as Steampipe's S3.5 query also accepts, when s3:TlsVersion is below 1.2)."""
    if statement.allows or not statement.grants_to_everyone or not statement.covers_all_of("s3:*"):
        return False
    if bucket_arn and not statement.not_resource and not statement.on_every_resource and not any(
            fnmatch.fnmatchcase(f"{bucket_arn}/object", pattern) for pattern in statement.resources or ()):
        return False
    for condition in statement.conditions:
        operator, key = condition.operator.lower(), condition.key.lower()
        values = [v.lower() for v in condition.values]
        if operator == "bool" and key == "aws:securetransport" and values == ["false"]:
            return True
        if operator == "numericlessthan" and key == "s3:tlsversion" and all(_number(v) >= 1.2 for v in values):
            return True
    return False


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


@stack_rule(
    name="s3-bucket-ssl-requests-only",
    description="Ensure every S3 bucket's policy denies requests that do not use TLS (aws:SecureTransport false).",
    severity="medium",
    enforcement="mandatory",
    controls=["fsbp:S3.5", "cis-aws:2.1.1", "cis-aws:3.1.1", "catalog:B5"],
    remediation="Add to the bucket policy {'Effect': 'Deny', 'Principal': '*', 'Action': 's3:*', 'Resource': "
                "[bucket_arn, f'{bucket_arn}/*'], 'Condition': {'Bool': {'aws:SecureTransport': 'false'}}} "
                "(components/load_balancer.py access_log_bucket_policy() is the model).",
)
def s3_ssl_requests_only(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    for bucket in buckets_of(stack):
        documents = documents_of(bucket)
        if not documents:
            yield bucket.resource, bucket.missing(
                "policy", "no bucket policy denies requests without TLS; allowed: a Deny of s3:* to '*' when "
                          "aws:SecureTransport is false")
            continue
        verdicts = [_tls_verdict(value, bucket.arn) for _, value in documents]
        if True in verdicts:
            continue
        if None in verdicts:
            undecided = next(path for (path, _), verdict in zip(documents, verdicts, strict=True) if verdict is None)
            yield bucket.resource, unverifiable(undecided)
        else:
            paths = ", ".join(path for path, _ in documents)
            yield bucket.resource, (f"{paths} has no statement denying s3:* to '*' on the bucket's objects when "
                                    f"aws:SecureTransport is false; allowed: such a Deny")


def _tls_verdict(value: Any, bucket_arn: str | None) -> bool | None:
    """True when the document denies plain HTTP, False when it does not, None when unknown values decide."""
    reading = read_document(value)
    if reading.status == "unknown":
        return None
    if reading.status != "parsed":
        return False
    best = any(_denies_plain_http(s, bucket_arn) for s in reading.best.statements)
    worst = any(_denies_plain_http(s, bucket_arn) for s in reading.worst.statements)
    return True if best and worst else None if best or worst else False


# --- B8, B9: default encryption with KMS, except where only SSE-S3 works ---------------------------

def elb_log_buckets(stack: Stack) -> set[str]:
    """URNs of the buckets that receive Elastic Load Balancing logs: named in a load balancer's accessLogs
    (connectionLogs, healthCheckLogs), or whose policy lets ELB's log delivery service put objects."""
    def build() -> set[str]:
        resources = stack.of_type(*BUCKETS)
        references = References(resources, "bucket")
        urns = set()
        for balancer in stack.of_type(*ELB_LOG_SOURCES):
            for key in ELB_LOG_KEYS:
                target = member(balancer.get(key), "bucket")
                if target is None:
                    continue
                named = references.named([target]) or references.named(balancer.property_dependencies.get(key, ()))
                urns.update(b.urn for b in named)
        for bucket in buckets_of(stack):
            if any(_grants_elb_delivery(value) for _, value in documents_of(bucket)):
                urns.add(bucket.resource.urn)
        return urns
    return stack.memo("elb log buckets", build)


def _grants_elb_delivery(value: Any) -> bool:
    reading = read_document(value)
    return reading.status == "parsed" and any(
        s.allows and s.principal is not None and ELB_LOG_DELIVERY in s.principal.service
        and s.allows_action("s3:PutObject") for s in reading.best.statements)


def _algorithms(bucket: Bucket) -> list[tuple[str, Any]]:
    """(path, sseAlgorithm) of every default-encryption rule: of the separate resources, else of the inline
    forms (which, on an existing bucket, mirror what the separate resource set)."""
    found = []
    for sibling in bucket.of("encryption"):
        for j, rule in enumerate(as_list(sibling.get("rules"))):
            found.append((f"{sibling.name}.rules[{j}].applyServerSideEncryptionByDefault.sseAlgorithm",
                          member(member(rule, "applyServerSideEncryptionByDefault"), "sseAlgorithm")))
    if bucket.of("encryption"):
        return found
    inline = bucket.get("serverSideEncryptionConfiguration")
    rule = member(inline, "rule")
    if rule is not None:
        found.append(("serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault.sseAlgorithm",
                      member(member(rule, "applyServerSideEncryptionByDefault"), "sseAlgorithm")))
    for i, configuration in enumerate(as_list(bucket.get("serverSideEncryptionConfigurations"))):
        for j, rule in enumerate(as_list(member(configuration, "rules"))):
            found.append((f"serverSideEncryptionConfigurations[{i}].rules[{j}].applyServerSideEncryptionByDefault"
                          f".sseAlgorithm", member(member(rule, "applyServerSideEncryptionByDefault"), "sseAlgorithm")))
    return found


@stack_rule(
    name="s3-bucket-encrypted-with-kms",
    description="Ensure every S3 bucket encrypts new objects with KMS by default (SSE-KMS or DSSE-KMS), except "
                "buckets that receive load balancer logs, which support SSE-S3 only.",
    severity="medium",
    enforcement="mandatory",
    controls=["fsbp:S3.17", "catalog:B8", "catalog:B9"],
    remediation="Add aws.s3.BucketServerSideEncryptionConfiguration(bucket=bucket.id, rules=[{"
                "'apply_server_side_encryption_by_default': {'sse_algorithm': 'aws:kms', 'kms_master_key_id': "
                "key_arn}, 'bucket_key_enabled': True}]); a load balancer log bucket keeps 'AES256'.",
)
def s3_encrypted_with_kms(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    elb_logs = elb_log_buckets(stack)
    for bucket in buckets_of(stack):
        algorithms = _algorithms(bucket)
        if bucket.resource.urn in elb_logs:
            # ELB log delivery supports SSE-S3 only (docs.aws.amazon.com/elasticloadbalancing/latest/application/
            # enable-access-logging.html); with no configuration S3 applies SSE-S3 itself.
            for path, algorithm in algorithms:
                if algorithm != "AES256" and not is_unknown(algorithm):
                    yield bucket.resource, (f"{path} = {shown(algorithm)} on a bucket that receives load balancer "
                                            f"logs, which support SSE-S3 only; allowed: 'AES256'")
            continue
        if not algorithms:
            if "encryption" in bucket.undecided:
                yield bucket.resource, unverifiable("which aws:s3 encryption configuration belongs to this bucket")
            else:
                yield bucket.resource, ("no default encryption configuration names this bucket, so S3 applies "
                                        "SSE-S3 (AES256); allowed: sseAlgorithm aws:kms or aws:kms:dsse")
        for path, algorithm in algorithms:
            if is_unknown(algorithm):
                yield bucket.resource, unverifiable(path)
            elif algorithm not in KMS_ALGORITHMS:
                yield bucket.resource, f"{path} = {shown(algorithm)}; allowed: aws:kms or aws:kms:dsse"


# --- B4: ACLs disabled --------------------------------------------------------------------------------

@resource_rule(
    name="s3-bucket-acls-disabled",
    description="Ensure S3 bucket ownership controls disable ACLs (BucketOwnerEnforced), so that only policies "
                "grant access.",
    severity="medium",
    enforcement="mandatory",
    controls=["fsbp:S3.12", "checkov:CKV2_AWS_65", "catalog:B4"],
    remediation="Set rule={'object_ownership': 'BucketOwnerEnforced'} on aws.s3.BucketOwnershipControls, and grant "
                "access through the bucket policy.",
    types=[OWNERSHIP_CONTROLS],
)
def s3_acls_disabled(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    # A bucket without ownership controls has ACLs disabled: AWS's default for new buckets since April 2023.
    ownership = member(resource.get("rule"), "objectOwnership")
    if is_unknown(ownership):
        yield unverifiable("rule.objectOwnership")
    elif ownership != "BucketOwnerEnforced":
        yield f"rule.objectOwnership = {shown(ownership)} keeps ACLs in use; allowed: 'BucketOwnerEnforced'"


# --- B13: versioning ----------------------------------------------------------------------------------

def _versioning_states(bucket: Bucket) -> list[tuple[str, Any]]:
    """(path, True/False/unknown) for each versioning setting of the bucket, inline or separate."""
    states = []
    for path, block in [("versioning", bucket.get("versioning")),
                        *((f"versionings[{i}]", b) for i, b in enumerate(as_list(bucket.get("versionings"))))]:
        if isinstance(block, Mapping) and "enabled" in block:
            states.append((f"{path}.enabled", block.get("enabled")))
    for sibling in bucket.of("versioning"):
        status = member(sibling.get("versioningConfiguration"), "status")
        states.append((f"{sibling.name}.versioningConfiguration.status",
                       status if is_unknown(status) else status == "Enabled"))
    return states


@stack_rule(
    name="s3-bucket-versioning",
    description="Ensure every S3 bucket keeps object versions, so that an overwritten or deleted object can be "
                "restored.",
    severity="low",
    enforcement="mandatory",
    controls=["fsbp:S3.14", "checkov:CKV_AWS_21", "trivy:AVD-AWS-0090", "catalog:B13"],
    remediation="Add aws.s3.BucketVersioning(bucket=bucket.id, versioning_configuration={'status': 'Enabled'}) "
                "and a lifecycle rule that expires noncurrent versions.",
)
def s3_versioning(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    for bucket in buckets_of(stack):
        states = _versioning_states(bucket)
        if any(state is True for _, state in states):
            continue
        unknown = [path for path, state in states if is_unknown(state)]
        if unknown:
            yield bucket.resource, unverifiable(unknown[0])
        elif not states:
            yield bucket.resource, bucket.missing(
                "versioning", "no aws:s3/bucketVersioning:BucketVersioning names this bucket; allowed: one with "
                              "versioningConfiguration.status Enabled")
        else:
            yield bucket.resource, f"{states[0][0]} is not Enabled; allowed: Enabled"


# --- B15, B16: lifecycle ------------------------------------------------------------------------------

@dataclass(frozen=True)
class LifecycleRule:
    path: str
    enabled: Any
    """True, False, or an unknown sentinel."""
    aborts_uploads: bool
    whole_bucket: bool


def _lifecycle_rules(bucket: Bucket) -> list[LifecycleRule]:
    rules = []
    for i, rule in enumerate(as_list(bucket.get("lifecycleRules"))):  # the deprecated inline form
        if isinstance(rule, Mapping):
            enabled = rule.get("enabled")
            rules.append(LifecycleRule(f"lifecycleRules[{i}]", enabled,
                                       rule.get("abortIncompleteMultipartUploadDays") is not None,
                                       not rule.get("prefix") and not rule.get("tags")))
    for sibling in bucket.of("lifecycle"):
        for i, rule in enumerate(as_list(sibling.get("rules"))):
            if isinstance(rule, Mapping):
                status = rule.get("status")
                abort = member(rule.get("abortIncompleteMultipartUpload"), "daysAfterInitiation")
                rules.append(LifecycleRule(f"{sibling.name}.rules[{i}]",
                                           status if is_unknown(status) else status == "Enabled",
                                           abort is not None, _whole_bucket(rule)))
    return rules


def _whole_bucket(rule: Mapping[str, Any]) -> bool:
    """A rule with no prefix, tag or size filter applies to every object (CKV_AWS_300's "empty filter")."""
    scope = rule.get("filter")
    return not rule.get("prefix") and (not isinstance(scope, Mapping) or not any(
        value not in (None, "", {}, []) for value in scope.values()))


@stack_rule(
    name="s3-bucket-lifecycle-configured",
    description="Ensure every S3 bucket has a lifecycle configuration with at least one enabled rule, so that "
                "objects do not accumulate forever.",
    severity="low",
    enforcement="mandatory",
    controls=["fsbp:S3.13", "catalog:B15"],
    remediation="Add aws.s3.BucketLifecycleConfiguration(bucket=bucket.id, rules=[{'id': 'expire', 'status': "
                "'Enabled', 'filter': {}, 'expiration': {'days': 365}, 'abort_incomplete_multipart_upload': "
                "{'days_after_initiation': 7}}]).",
)
def s3_lifecycle_configured(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    for bucket in buckets_of(stack):
        rules = _lifecycle_rules(bucket)
        if any(rule.enabled is True for rule in rules):
            continue
        unknown = [rule.path for rule in rules if is_unknown(rule.enabled)]
        if unknown:
            yield bucket.resource, unverifiable(unknown[0])
        elif not rules:
            yield bucket.resource, bucket.missing(
                "lifecycle", "no aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration names this "
                             "bucket; allowed: one with an Enabled rule")
        else:
            yield bucket.resource, (f"no lifecycle rule is enabled ({', '.join(r.path for r in rules)}); allowed: "
                                    f"at least one rule with status Enabled")


@stack_rule(
    name="s3-bucket-aborts-incomplete-uploads",
    description="Ensure every S3 bucket with lifecycle rules aborts incomplete multipart uploads in a rule that "
                "covers the whole bucket, so that their parts are not stored (and paid for) forever.",
    severity="low",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_300", "catalog:B16"],
    remediation="Add a rule {'id': 'abort-incomplete-uploads', 'status': 'Enabled', 'filter': {}, "
                "'abort_incomplete_multipart_upload': {'days_after_initiation': 7}} to the bucket's "
                "aws.s3.BucketLifecycleConfiguration.",
)
def s3_aborts_incomplete_uploads(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    for bucket in buckets_of(stack):
        enabled = [rule for rule in _lifecycle_rules(bucket) if rule.enabled is True]
        if not enabled:
            continue  # no enabled rule at all: s3-bucket-lifecycle-configured reports it
        if not any(rule.aborts_uploads and rule.whole_bucket for rule in enabled):
            yield bucket.resource, (f"no enabled lifecycle rule without a filter aborts incomplete multipart "
                                    f"uploads ({', '.join(r.path for r in enabled)}); allowed: a rule with an "
                                    f"empty filter and abortIncompleteMultipartUpload.daysAfterInitiation")


# --- B12: server access logging -----------------------------------------------------------------------

@stack_rule(
    name="s3-bucket-access-logging",
    description="Ensure every S3 bucket records its requests with server access logging into another bucket.",
    severity="medium",
    enforcement="mandatory",
    controls=["fsbp:S3.9", "checkov:CKV_AWS_18", "catalog:B12"],
    remediation="Add aws.s3.BucketLogging(bucket=bucket.id, target_bucket=log_bucket.id, target_prefix="
                "'s3-access/'); the last bucket of the chain, which holds logs only, needs a waiver that says so.",
)
def s3_access_logging(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    for bucket in buckets_of(stack):
        inline = [member(b, "targetBucket") for b in [bucket.get("logging"), *as_list(bucket.get("loggings"))]]
        separate = [s.get("targetBucket") for s in bucket.of("logging")]
        targets = [t for t in inline + separate if t not in (None, "")]
        if targets:
            continue
        yield bucket.resource, bucket.missing(
            "logging", "no aws:s3/bucketLogging:BucketLogging names this bucket (and logging.targetBucket is not "
                       "set); allowed: server access logs delivered to a log bucket")
