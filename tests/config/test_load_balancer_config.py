"""The loadBalancer section's certificate sources: a brought ARN, or a domain and its hosted zone."""

from __future__ import annotations

import pytest

from components.config import ConfigError, load_stack_config

ARN_KEY, DOMAIN_KEY, ZONE_KEY = (f"aws-compute:loadBalancer.{k}" for k in ("certificateArn", "domainName",
                                                                           "hostedZoneId"))
CERTIFICATE = "arn:aws:acm:us-east-1:111122223333:certificate/0b5c3c9e-8a4d-4f59-9d55-3f2e8c1a7b10"
ZONE = "Z0123456789ABCDEFGHIJ"


def load(**config: str):
    return load_stack_config({"aws:region": "us-east-1", **config}, "dev").load_balancer


def problems_of(**config: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(**config)
    return [str(p) for p in caught.value.problems]


def test_a_domain_and_its_zone_serve_https():
    settings = load(**{DOMAIN_KEY: "app.mycompany.io", ZONE_KEY: ZONE})
    assert (settings.domain_name, settings.hosted_zone_id, settings.serves_https) == ("app.mycompany.io", ZONE, True)


def test_a_certificate_and_a_domain_together_are_refused_naming_both_keys():
    (problem,) = problems_of(**{ARN_KEY: CERTIFICATE, DOMAIN_KEY: "app.mycompany.io", ZONE_KEY: ZONE})
    assert problem.startswith(ARN_KEY) and DOMAIN_KEY in problem and "not both" in problem


def test_a_domain_without_its_zone_is_refused_naming_the_zone_key():
    (problem,) = problems_of(**{DOMAIN_KEY: "app.mycompany.io"})
    assert problem.startswith(ZONE_KEY) and DOMAIN_KEY in problem


def test_a_zone_without_a_domain_is_refused_naming_the_domain_key():
    (problem,) = problems_of(**{ZONE_KEY: ZONE})
    assert problem.startswith(DOMAIN_KEY) and ZONE_KEY in problem


@pytest.mark.parametrize("domain", ["localhost", "*.mycompany.io", "App.MyCompany.io", "-a.mycompany.io",
                                    "a..mycompany.io", "https://app.mycompany.io"])
def test_a_malformed_domain_is_refused_saying_what_is_allowed(domain):
    (problem,) = problems_of(**{DOMAIN_KEY: domain, ZONE_KEY: ZONE})
    assert problem.startswith(DOMAIN_KEY) and "app.example.com" in problem


@pytest.mark.parametrize("zone", ["0123456789", "z0123", "Z-123", "/hostedzone/Z0123"])
def test_a_malformed_zone_id_is_refused(zone):
    (problem,) = problems_of(**{DOMAIN_KEY: "app.mycompany.io", ZONE_KEY: zone})
    assert problem.startswith(ZONE_KEY) and "hosted zone ID" in problem


WAF_RETENTION_KEY = "aws-compute:loadBalancer.wafLogRetentionDays"


def test_the_web_acl_logs_are_kept_a_year_by_default():
    assert load().waf_log_retention_days == 365


def test_a_waf_log_retention_cloudwatch_does_not_offer_is_refused_naming_the_key():
    (problem,) = problems_of(**{WAF_RETENTION_KEY: "10"})
    assert problem.startswith(f"{WAF_RETENTION_KEY} = 10: CloudWatch Logs does not offer")
    assert "allowed: one of CloudWatch's retention periods" in problem
