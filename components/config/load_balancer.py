"""The ``loadBalancer`` section: the stack's one public entry point, an Application Load Balancer.

The fleet and the container service attach to it by listener rule; it exists when either is enabled.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import field_validator

from .base import LOG_RETENTION_ALLOWED, LogRetentionDays, Problem, Section, full_key, setting

# The TLS 1.3 policies that AWS Security Hub accepts for ELB.17 (TLS 1.2 as the floor, forward secrecy).
SSL_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
)
SslPolicy = Literal[
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
]

CERTIFICATE_ARN = re.compile(
    r"^arn:aws[-a-z]*:acm:(?P<region>[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d):\d{12}:"
    r"certificate/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
MAX_INGRESS_CIDRS = 50  # keeps the ALB's security group well under the 60-rule quota
# A DNS name of lowercase labels (1-63 letters, digits, inner hyphens) with at least two labels, 253 at most.
_DOMAIN_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# Route 53 hosted zone IDs: "Z" and uppercase letters and digits (e.g. Z0123456789ABCDEFGHIJ).
HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")


class LoadBalancerSettings(Section):
    certificate_arn: str = setting(
        "", "ACM certificate for the HTTPS listener; empty serves plain HTTP (flagged by the policy pack).",
        "empty, or arn:aws:acm:<stack region>:<12-digit account>:certificate/<uuid>",
    )
    domain_name: str = setting(
        "", "Domain the stack serves HTTPS on: it requests an ACM certificate for it, validates it by DNS in "
        "hostedZoneId, points alias records at the load balancer, and exports url https://<domainName>.",
        "empty, or a DNS name such as app.example.com (lowercase labels, no wildcard) in the hosted zone "
        "hostedZoneId; set together with hostedZoneId, not with certificateArn",
    )
    hosted_zone_id: str = setting(
        "", "Route 53 public hosted zone of domainName, where the validation and alias records are created.",
        "empty, or a hosted zone ID such as Z0123456789ABCDEFGHIJ; set together with domainName",
    )
    ingress_cidrs: tuple[str, ...] = setting(
        ("0.0.0.0/0",), "Client address ranges admitted to the listener ports; the ALB is the public entry point.",
        f"1 to {MAX_INGRESS_CIDRS} IPv4 CIDRs, without repeats",
    )
    ssl_policy: SslPolicy = setting(
        "ELBSecurityPolicy-TLS13-1-2-2021-06", "TLS negotiation policy of the HTTPS listener.",
        " | ".join(SSL_POLICIES),
    )
    access_logs: bool = setting(
        False, "Deliver access logs to a private, encrypted S3 bucket made for them (set true in prod).",
        "true | false",
    )
    access_log_retention_days: int = setting(
        90, "Days that access log objects are kept before they expire.", "an integer from 1 to 3650",
        ge=1, le=3650,
    )
    deletion_protection: bool = setting(
        False, "Refuse to delete the load balancer until this is turned off (set true in prod).", "true | false",
    )
    idle_timeout: int = setting(
        60, "Seconds a connection may stay idle before the load balancer closes it.", "an integer from 1 to 4000",
        ge=1, le=4000,
    )
    desync_mitigation_mode: Literal["defensive", "strictest"] = setting(
        "defensive", "How the load balancer treats requests that could cause HTTP desync.", "defensive | strictest",
    )

    waf: bool = setting(
        True, "Put a WAF web ACL in front of the load balancer: AWS managed rule groups and a per-client rate limit.",
        "true | false",
    )
    waf_log_retention_days: LogRetentionDays = setting(
        365, "Days that the web ACL's request logs (log group aws-waf-logs-<stack>) are kept.",
        LOG_RETENTION_ALLOWED,
    )
    waf_rate_limit: int = setting(
        2000, "Requests one client IP may make in any 5 minutes before the web ACL blocks it.",
        "an integer from 100 to 2000000000", ge=100, le=2_000_000_000,
    )

    @property
    def serves_https(self) -> bool:
        return bool(self.certificate_arn or self.domain_name)

    @field_validator("domain_name")
    @classmethod
    def _dns_name(cls, value: str) -> str:
        labels = value.split(".")
        if value and (len(value) > 253 or len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels)):
            raise ValueError("not a lowercase DNS name of two or more labels")
        return value

    @field_validator("hosted_zone_id")
    @classmethod
    def _zone_id(cls, value: str) -> str:
        if value and not HOSTED_ZONE_ID.match(value):
            raise ValueError("not a Route 53 hosted zone ID")
        return value

    @field_validator("certificate_arn")
    @classmethod
    def _acm_certificate_arn(cls, value: str) -> str:
        if value and not CERTIFICATE_ARN.match(value):
            raise ValueError("not an ACM certificate ARN")
        return value

    @field_validator("ingress_cidrs")
    @classmethod
    def _ipv4_cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not 1 <= len(value) <= MAX_INGRESS_CIDRS:
            raise ValueError(f"{len(value)} ranges")
        for cidr in value:
            try:
                ipaddress.IPv4Network(cidr, strict=True)
            except ValueError as error:
                raise ValueError(f"'{cidr}' is not an IPv4 network in CIDR notation ({error})") from None
        repeated = sorted({c for c in value if value.count(c) > 1})
        if repeated:
            raise ValueError(f"listed more than once: {', '.join(repeated)}")
        return value


def certificate_in_stack_region(config: Any) -> Iterable[Problem]:
    """An ALB can only use an ACM certificate of its own region."""
    arn = config.load_balancer.certificate_arn
    match = CERTIFICATE_ARN.match(arn) if arn else None
    if match and match["region"] != config.region:
        yield Problem(full_key("loadBalancer", "certificateArn"), arn,
                      f"the certificate is in {match['region']}, the stack in {config.region}; allowed: "
                      f"an ACM certificate of {config.region}")


def certificate_source_problems(config: Any) -> Iterable[Problem]:
    """One source of the HTTPS certificate: one the user brings (certificateArn), or one the stack requests
    for domainName and validates in hostedZoneId, which then needs both keys."""
    lb = config.load_balancer
    arn_key, domain_key, zone_key = (full_key("loadBalancer", name)
                                     for name in ("certificateArn", "domainName", "hostedZoneId"))
    if lb.certificate_arn and lb.domain_name:
        yield Problem(arn_key, lb.certificate_arn,
                      f"given together with {domain_key} ({lb.domain_name}), for which the stack requests its own "
                      f"certificate; allowed: {arn_key} (a certificate you bring) or {domain_key} with {zone_key}, "
                      f"not both")
    if lb.domain_name and not lb.hosted_zone_id:
        yield Problem(zone_key, "", f"required with {domain_key} ({lb.domain_name}): the certificate is validated "
                                    f"and the alias records created in it; allowed: the domain's hosted zone ID")
    if lb.hosted_zone_id and not lb.domain_name:
        yield Problem(domain_key, "", f"required with {zone_key} ({lb.hosted_zone_id}); allowed: a DNS name in "
                                      f"that zone, or leave {zone_key} empty")
