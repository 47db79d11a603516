"""The ``loadBalancer`` section: the stack's one public entry point, an Application Load Balancer.

The fleet and the container service attach to it by listener rule; it exists when either is enabled.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import field_validator

from .base import Problem, Section, full_key, setting

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


class LoadBalancerSettings(Section):
    certificate_arn: str = setting(
        "", "ACM certificate for the HTTPS listener; empty serves plain HTTP (flagged by the policy pack).",
        "empty, or arn:aws:acm:<stack region>:<12-digit account>:certificate/<uuid>",
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
    waf_rate_limit: int = setting(
        2000, "Requests one client IP may make in any 5 minutes before the web ACL blocks it.",
        "an integer from 100 to 2000000000", ge=100, le=2_000_000_000,
    )

    @property
    def serves_https(self) -> bool:
        return bool(self.certificate_arn)

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
