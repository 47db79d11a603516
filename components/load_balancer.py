"""The LoadBalancer layer: the stack's one public entry point, an internet-facing Application Load Balancer.

Requests that match no route get a fixed 404; other components reach their targets by calling
``add_route`` with a target group, a priority and path or host conditions. With a certificate the ALB
serves HTTPS and its HTTP listener only redirects; without one (dev) HTTP forwards, which the policy
pack flags. The certificate is one the user brings (``certificateArn``), or one the stack requests for
``domainName`` and validates by DNS in ``hostedZoneId``, where it also points the domain at the ALB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .config.load_balancer import LoadBalancerSettings
from .context import DeployContext
from .iam import Document, document, to_json
from .tags import with_name

HTTP_PORT, HTTPS_PORT = 80, 443
ACCESS_LOG_PREFIX = "alb"
LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"

# Regions opened before August 2022 deliver ALB access logs from these Elastic Load Balancing accounts;
# newer regions use the log delivery service principal instead (both are granted in the old ones).
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-south-1": "718504428378", "ap-northeast-1": "582318560864", "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ap-southeast-3": "589379963580", "ca-central-1": "985666609251", "eu-central-1": "054676820928",
    "eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-west-3": "009996457667",
    "eu-south-1": "635631232127", "eu-north-1": "897822967062", "me-south-1": "076674570225",
    "sa-east-1": "507241528517", "us-gov-west-1": "048591011584", "us-gov-east-1": "190560391635",
    "cn-north-1": "638102146993", "cn-northwest-1": "037604701340",
}


def listener_ports(serves_https: bool) -> list[int]:
    """The ports the ALB listens on: HTTP always (it redirects when there is HTTPS), HTTPS with a certificate."""
    return [HTTP_PORT, HTTPS_PORT] if serves_https else [HTTP_PORT]


def access_log_bucket_policy(partition: str, region: str, account_id: str, bucket_arn: str) -> Document:
    """ELB log delivery may write this account's log objects under the prefix; nobody may use plain HTTP."""
    log_objects = f"{bucket_arn}/{ACCESS_LOG_PREFIX}/AWSLogs/{account_id}/*"
    statements = [{
        "Sid": "ElbLogDeliveryWritesAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": LOG_DELIVERY_SERVICE},
        "Action": "s3:PutObject",
        "Resource": log_objects,
    }]
    legacy_account = ELB_LOG_ACCOUNTS.get(region)
    if legacy_account:
        statements.append({
            "Sid": "RegionalElbAccountWritesAccessLogs",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{legacy_account}:root"},
            "Action": "s3:PutObject",
            "Resource": log_objects,
        })
    statements.append({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })
    return document(*statements)


def access_log_lifecycle_rules(days: int) -> list[dict]:
    """One rule for the whole bucket, which holds nothing but the access logs: expire them after ``days``,
    drop replaced versions the next day, and abort multipart uploads left incomplete. An empty filter covers
    every object (S3 lifecycle "filter {}"); a prefix-filtered abort rule would leave uploads elsewhere."""
    return [{
        "id": "expire-access-logs",
        "status": "Enabled",
        "filter": {},
        "expiration": {"days": days},
        "noncurrent_version_expiration": {"noncurrent_days": 1},
        "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
    }]


# Request headers that carry credentials: WAF logs every header unless told to redact it.
WAF_REDACTED_HEADERS = ("authorization", "cookie")


def waf_log_group_name(name_prefix: str) -> str:
    """WAF accepts only log destinations whose name starts with aws-waf-logs- (PutLoggingConfiguration); the
    stack key admits CloudWatch Logs for log groups under aws-waf-logs-<name prefix>- (DeployContext)."""
    return f"aws-waf-logs-{name_prefix}-alb"


# Ordered by priority: drop known-bad sources first, then the common exploits and known-bad inputs.
WAF_MANAGED_RULE_GROUPS = ("AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet",
                           "AWSManagedRulesKnownBadInputsRuleSet")


def web_acl_rules(rate_limit: int, metric_prefix: str) -> list[dict]:
    """A per-client-IP rate limit, then AWS's managed rule groups, each with its own CloudWatch metrics."""
    def visibility(rule: str) -> dict:
        return {"cloudwatch_metrics_enabled": True, "metric_name": f"{metric_prefix}-{rule}",
                "sampled_requests_enabled": True}

    rules = [{
        "name": "rate-limit-per-ip",
        "priority": 0,
        "action": {"block": {}},
        "statement": {"rate_based_statement": {"limit": rate_limit, "aggregate_key_type": "IP"}},
        "visibility_config": visibility("rate-limit-per-ip"),
    }]
    for index, group in enumerate(WAF_MANAGED_RULE_GROUPS, start=1):
        rules.append({
            "name": group,
            "priority": index * 10,
            "override_action": {"none": {}},
            "statement": {"managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}},
            "visibility_config": visibility(group),
        })
    return rules


def route_conditions(path_patterns: Sequence[str], host_headers: Sequence[str]) -> list[dict]:
    """A listener rule's conditions; a route must match on at least one of paths and hosts."""
    if not path_patterns and not host_headers:
        raise ValueError("a route needs path_patterns or host_headers, else it would catch every request")
    conditions: list[dict] = []
    if path_patterns:
        conditions.append({"path_pattern": {"values": list(path_patterns)}})
    if host_headers:
        conditions.append({"host_header": {"values": list(host_headers)}})
    return conditions


@dataclass(frozen=True)
class LoadBalancerArgs:
    settings: LoadBalancerSettings
    context: DeployContext
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    """The VPC's range: the ALB's security group lets traffic out only to it."""
    public_subnet_ids: Sequence[pulumi.Input[str]]
    """One public subnet per AZ, at least two."""
    target_ports: Sequence[int] = field(default_factory=tuple)
    """The ports targets listen on (the fleet's, the service's): the only ports the ALB may reach."""
    key_arn: pulumi.Input[str] | None = None
    """The stack key, which encrypts the WAF's request logs; required when settings.waf is on."""


class LoadBalancer(pulumi.ComponentResource):
    security_group_id: pulumi.Output[str]
    arn: pulumi.Output[str]
    arn_suffix: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    listener_arn: pulumi.Output[str]
    """The listener that routes to targets: HTTPS when a certificate is configured, else HTTP."""
    vpc_id: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aws-compute:loadbalancer:LoadBalancer", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        if len(args.public_subnet_ids) < 2:
            raise ValueError("an Application Load Balancer needs public subnets in at least two AZs")

        # --- Security group: listener ports from the configured ranges, out only to targets in the VPC ---
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Application Load Balancer: listener ports from clients, target ports into the VPC",
            ingress=[{"description": f"clients to the port {port} listener", "protocol": "tcp", "from_port": port,
                      "to_port": port, "cidr_blocks": list(settings.ingress_cidrs)}
                     for port in listener_ports(settings.serves_https)],
            egress=[{"description": f"to targets on port {port} in the VPC", "protocol": "tcp", "from_port": port,
                     "to_port": port, "cidr_blocks": [args.vpc_cidr]}
                    for port in sorted(set(args.target_ports))],
            tags=self._tags("alb"),
            opts=self._child,
        )

        # --- Access logs -------------------------------------------------------------------------
        access_logs = None
        depends_on: list[pulumi.Resource] = []
        if settings.access_logs:
            bucket, policy = self._access_log_bucket()
            access_logs = {"bucket": bucket.id, "prefix": ACCESS_LOG_PREFIX, "enabled": True}  # id: its name
            depends_on.append(policy)  # ELB checks that it may write before it accepts the bucket

        # --- Load balancer -----------------------------------------------------------------------
        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            # IPv4 only: the VPC has no IPv6 range, which a dualstack ALB needs in its subnets. The domain
            # therefore gets an A alias and no AAAA one, which would answer nothing for an IPv4-only ALB.
            ip_address_type="ipv4",
            subnets=list(args.public_subnet_ids),
            security_groups=[security_group.id],
            drop_invalid_header_fields=True,
            desync_mitigation_mode=settings.desync_mitigation_mode,
            enable_deletion_protection=settings.deletion_protection,
            idle_timeout=settings.idle_timeout,
            access_logs=access_logs,
            tags=self._tags("alb"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )

        if settings.waf:
            self._web_acl(alb)

        # --- Listeners ---------------------------------------------------------------------------
        not_found = {"type": "fixed-response", "fixed_response": {
            "content_type": "text/plain", "message_body": "Not Found", "status_code": "404"}}
        if settings.serves_https:
            certificate_arn = self._validated_certificate() if settings.domain_name else settings.certificate_arn
            serving = aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=alb.arn,
                port=HTTPS_PORT,
                protocol="HTTPS",
                ssl_policy=settings.ssl_policy,
                certificate_arn=certificate_arn,
                default_actions=[not_found],
                tags=self._tags("https"),
                opts=self._child,
            )
            aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=alb.arn,
                port=HTTP_PORT,
                protocol="HTTP",
                default_actions=[{"type": "redirect", "redirect": {
                    "protocol": "HTTPS", "port": str(HTTPS_PORT), "status_code": "HTTP_301"}}],
                tags=self._tags("http-redirect"),
                opts=self._child,
            )
        else:
            serving = aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=alb.arn,
                port=HTTP_PORT,
                protocol="HTTP",
                default_actions=[not_found],
                tags=self._tags("http"),
                opts=self._child,
            )

        self.security_group_id = security_group.id
        self.arn = alb.arn
        self.arn_suffix = alb.arn_suffix
        self.dns_name = alb.dns_name
        self.zone_id = alb.zone_id
        self.listener_arn = serving.arn
        self.vpc_id = pulumi.Output.from_input(args.vpc_id)
        if settings.domain_name:
            self._alias_record(alb)
            self.url = pulumi.Output.from_input(f"https://{settings.domain_name}")
        else:
            # A brought certificate covers the user's own name, not the ALB's: point that name at dnsName.
            scheme = "https" if settings.serves_https else "http"
            self.url = alb.dns_name.apply(lambda dns: f"{scheme}://{dns}")
        self.register_outputs({
            "securityGroupId": self.security_group_id,
            "arn": self.arn,
            "dnsName": self.dns_name,
            "zoneId": self.zone_id,
            "listenerArn": self.listener_arn,
            "url": self.url,
        })

    def add_route(self, name: str, target_group: aws.lb.TargetGroup, *, priority: int,
                  path_patterns: Sequence[str] = (), host_headers: Sequence[str] = ()) -> aws.lb.ListenerRule:
        """Forward requests that match the paths and/or hosts to ``target_group``; lower priorities match first."""
        return aws.lb.ListenerRule(
            f"{self._name}-{name}",
            listener_arn=self.listener_arn,
            priority=priority,
            actions=[{"type": "forward", "target_group_arn": target_group.arn}],
            conditions=route_conditions(path_patterns, host_headers),
            tags=self._tags(name),
            opts=self._child,
        )

    def _tags(self, role: str) -> dict[str, str]:
        return with_name(self._args.context.tags, f"{self._args.context.name_prefix}-{role}")

    def _validated_certificate(self) -> pulumi.Output[str]:
        """An ACM certificate for domainName, validated by the DNS record ACM asks for in hostedZoneId; the ARN
        is known only once ACM has issued it (aws.acm.CertificateValidation waits), so the HTTPS listener is
        never created with a pending certificate. A single domain has exactly one validation option."""
        settings = self._args.settings
        certificate = aws.acm.Certificate(
            f"{self._name}-certificate",
            domain_name=settings.domain_name,
            validation_method="DNS",
            key_algorithm="RSA_2048",  # what every TLS client accepts; the TLS 1.3 policies allow it
            tags=self._tags("certificate"),
            opts=self._child,
        )
        option = certificate.domain_validation_options.apply(
            lambda options: next(o for o in options if o.domain_name == settings.domain_name))
        record = aws.route53.Record(
            f"{self._name}-certificate-validation",
            zone_id=settings.hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=60,
            # ACM asks for the same record again when the certificate is replaced or another stack shares the zone.
            allow_overwrite=True,
            opts=self._child,
        )
        validation = aws.acm.CertificateValidation(
            f"{self._name}-certificate",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
            opts=self._child,
        )
        return validation.certificate_arn

    def _alias_record(self, alb: aws.lb.LoadBalancer) -> aws.route53.Record:
        """domainName -> the ALB, as a Route 53 alias (no charge for queries, follows the ALB's addresses)."""
        settings = self._args.settings
        return aws.route53.Record(
            f"{self._name}-alias-a",
            zone_id=settings.hosted_zone_id,
            name=settings.domain_name,
            type="A",
            aliases=[{"name": alb.dns_name, "zone_id": alb.zone_id, "evaluate_target_health": True}],
            opts=self._child,
        )

    def _web_acl(self, alb: aws.lb.LoadBalancer) -> None:
        settings, ctx = self._args.settings, self._args.context
        metric_prefix = f"{ctx.name_prefix}-alb"
        web_acl = aws.wafv2.WebAcl(
            f"{self._name}-waf",
            description="Rate limit and AWS managed rules in front of the stack's load balancer",
            scope="REGIONAL",
            default_action={"allow": {}},
            rules=web_acl_rules(settings.waf_rate_limit, metric_prefix),
            visibility_config={"cloudwatch_metrics_enabled": True, "metric_name": metric_prefix,
                               "sampled_requests_enabled": True},
            tags=self._tags("waf"),
            opts=self._child,
        )
        aws.wafv2.WebAclAssociation(f"{self._name}-waf", resource_arn=alb.arn, web_acl_arn=web_acl.arn,
                                    opts=self._child)
        self._web_acl_logging(web_acl)

    def _web_acl_logging(self, web_acl: aws.wafv2.WebAcl) -> None:
        """Every request the web ACL inspects, to an encrypted log group (WAF.11). WAF adds the log group's
        resource policy for delivery.logs.amazonaws.com itself when logging is turned on (WAF API,
        PutLoggingConfiguration); credentials in headers are redacted."""
        settings, ctx = self._args.settings, self._args.context
        if self._args.key_arn is None:
            raise ValueError("the WAF web ACL's logs need the stack key: pass key_arn to LoadBalancerArgs")
        log_group = aws.cloudwatch.LogGroup(
            f"{self._name}-waf-logs",
            name=waf_log_group_name(ctx.name_prefix),
            retention_in_days=settings.waf_log_retention_days,
            kms_key_id=self._args.key_arn,
            tags=self._tags("waf-logs"),
            opts=self._child,
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{self._name}-waf-logging",
            resource_arn=web_acl.arn,
            log_destination_configs=[log_group.arn],
            redacted_fields=[{"single_header": {"name": header}} for header in WAF_REDACTED_HEADERS],
            opts=self._child,
        )

    def _access_log_bucket(self) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
        """A private bucket for the access logs: SSE-S3 (the only encryption ELB log delivery supports),
        no ACLs, versioned, objects expiring after the configured days, TLS only."""
        settings, ctx = self._args.settings, self._args.context
        name = f"{self._name}-logs"
        bucket = aws.s3.Bucket(name, bucket_prefix=ctx.bucket_prefix, force_destroy=ctx.environment != "prod",
                               tags=self._tags("alb-logs"), opts=self._child)
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=self._child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=self._child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}], opts=self._child,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=self._child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket.id, rules=access_log_lifecycle_rules(settings.access_log_retention_days),
            opts=self._child,
        )
        policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=bucket.arn.apply(
                lambda arn: to_json(access_log_bucket_policy(ctx.partition, ctx.region, ctx.account_id, arn))),
            # S3 refuses concurrent changes to one bucket's configuration; put the policy last.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        return bucket, policy
