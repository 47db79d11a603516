"""Load balancing policies: each refuses what it exists to refuse and accepts the fix, for aws.lb and aws.alb."""

from __future__ import annotations

from typing import Any

import pytest

from policies.rules import Resource, Stack, rule_named
from policies.rules.loadbalancing import LISTENER_RULES, LISTENERS, LOAD_BALANCERS, TARGET_GROUPS, WAF_ASSOCIATIONS
from policies.rules.network import SUBNET

from .pack_client import as_recorded

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
LB_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123456789abcdef"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
LB, ALB_ALIAS = LOAD_BALANCERS
HTTP_TO_HTTPS = {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
FORWARD = {"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:tg"}


def check(policy: str, type_: str, props: dict[str, Any], config: dict[str, Any] | None = None) -> list[str]:
    return rule_named(policy).evaluate(Resource(type_, props), config)


def check_stack(policy: str, *resources: Resource) -> list[tuple[str, str]]:
    return [(r.name, message) for r, message in rule_named(policy).evaluate_stack(Stack(resources))]


def good_balancer(**overrides: Any) -> dict[str, Any]:
    """An application load balancer that every policy accepts, once waived for being internet-facing."""
    return {
        "id": LB_ARN, "arn": LB_ARN, "loadBalancerType": "application", "internal": True,
        "subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-alb"], "dropInvalidHeaderFields": True,
        "enableDeletionProtection": True, "accessLogs": {"bucket": "web-alb-logs", "enabled": True},
        "desyncMitigationMode": "strictest", **overrides,
    }


def https_listener(**overrides: Any) -> dict[str, Any]:
    return {"loadBalancerArn": LB_ARN, "port": 443, "protocol": "HTTPS", "certificateArn": CERTIFICATE,
            "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06", "defaultActions": [FORWARD], **overrides}


def good_target_group(**overrides: Any) -> dict[str, Any]:
    return {"port": 443, "protocol": "HTTPS", "targetType": "instance", "vpcId": "vpc-1",
            "healthCheck": {"enabled": True, "path": "/health", "protocol": "HTTPS"}, **overrides}


def balancer(name: str = "web", **overrides: Any) -> Resource:
    return Resource(LB, good_balancer(**overrides), name=name, urn=f"urn:pulumi:dev::p::{LB}::{name}")


def subnet(subnet_id: str, zone: str) -> Resource:
    return Resource(SUBNET, {"id": subnet_id, "availabilityZone": zone}, name=subnet_id,
                    urn=f"urn:pulumi:dev::p::{SUBNET}::{subnet_id}")


@pytest.mark.parametrize("type_", LOAD_BALANCERS)
def test_the_good_balancer_passes_every_load_balancer_policy_in_both_modules(type_):
    for policy in ("lb-drop-invalid-headers", "lb-access-logs", "lb-deletion-protection", "lb-desync-mitigation",
                   "lb-not-internet-facing", "lb-cross-zone"):
        assert check(policy, type_, good_balancer()) == [], policy


@pytest.mark.parametrize("type_", LISTENERS)
def test_the_good_listeners_pass_in_both_modules(type_):
    for policy in ("lb-listener-no-plaintext", "lb-listener-no-plaintext-tcp-udp", "lb-listener-tls-policy"):
        assert check(policy, type_, https_listener()) == [], policy
        assert check(policy, type_, {"port": 80, "protocol": "HTTP", "defaultActions": [HTTP_TO_HTTPS]}) == []


# --- lb-listener-no-plaintext (L1, L2) ------------------------------------------------------------------------

@pytest.mark.parametrize("type_", LISTENERS)
def test_an_http_listener_that_forwards_is_refused_in_both_modules(type_):
    [message] = check("lb-listener-no-plaintext", type_, {"port": 80, "protocol": "HTTP", "defaultActions": [FORWARD]})
    assert message.startswith("protocol = 'HTTP' and defaultActions[0] is 'forward'")


def test_a_listener_without_protocol_listens_on_http_and_must_redirect():
    assert check("lb-listener-no-plaintext", LISTENERS[0], {"port": 80, "defaultActions": [FORWARD]})


def test_a_redirect_that_keeps_http_is_refused():
    action = {"type": "redirect", "redirect": {"port": "8080", "statusCode": "HTTP_302"}}
    assert check("lb-listener-no-plaintext", LISTENERS[0], {"protocol": "HTTP", "defaultActions": [action]})


def test_an_http_listener_without_default_actions_is_refused():
    assert check("lb-listener-no-plaintext", LISTENERS[0], {"protocol": "HTTP"}) == [
        "protocol = 'HTTP' with no defaultActions; allowed: one redirect to HTTPS"]


@pytest.mark.parametrize("protocol", ["TCP", "UDP", "TCP_UDP"])
def test_a_plain_tcp_or_udp_listener_is_refused_by_its_own_policy_alone(protocol):
    props = {"protocol": protocol, "port": 5432}
    assert check("lb-listener-no-plaintext-tcp-udp", LISTENERS[0], props) == [
        f"protocol = {protocol!r} carries client traffic unencrypted; allowed: TLS"]
    assert check("lb-listener-no-plaintext", LISTENERS[0], props) == []


def test_a_tls_listener_passes_both_listener_policies():
    for policy in ("lb-listener-no-plaintext", "lb-listener-no-plaintext-tcp-udp"):
        assert check(policy, LISTENERS[0], {"protocol": "TLS", "port": 5432}) == [], policy


def test_an_http_listener_that_forwards_is_one_finding_not_two():
    props = {"port": 80, "protocol": "HTTP", "defaultActions": [FORWARD]}
    assert len(check("lb-listener-no-plaintext", LISTENERS[0], props)) == 1
    assert check("lb-listener-no-plaintext-tcp-udp", LISTENERS[0], props) == []


def test_an_unknown_protocol_is_noted_once():
    assert len(check("lb-listener-no-plaintext", LISTENERS[0], {"protocol": UNKNOWN})) == 1
    assert check("lb-listener-no-plaintext-tcp-udp", LISTENERS[0], {"protocol": UNKNOWN}) == []


def listener(name: str, **props: Any) -> Resource:
    arn = f"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/{name}"
    return Resource(LISTENERS[0], {"id": arn, "arn": arn, **props}, name=name, urn=f"urn:pulumi:dev::p::{name}")


def rule_on(target: Resource, *actions: dict[str, Any]) -> Resource:
    return Resource(LISTENER_RULES[1], {"listenerArn": target.get("arn"), "actions": list(actions),
                                        "conditions": [{"pathPattern": {"values": ["/api/*"]}}]}, name="api-rule")


def test_a_forwarding_rule_on_an_http_listener_is_refused_though_the_default_redirects():
    http = listener("http", protocol="HTTP", defaultActions=[HTTP_TO_HTTPS])
    [(name, message)] = check_stack("lb-http-listener-rules-redirect", http, rule_on(http, FORWARD))
    assert name == "api-rule" and message.startswith("actions[0] is 'forward' on HTTP listener http")


def test_forwarding_rules_on_an_https_listener_and_redirect_rules_on_http_pass():
    http = listener("http", protocol="HTTP", defaultActions=[HTTP_TO_HTTPS])
    https = listener("https", **https_listener())
    assert check_stack("lb-http-listener-rules-redirect", http, https, rule_on(https, FORWARD),
                       rule_on(http, HTTP_TO_HTTPS)) == []


# --- lb-listener-tls-policy (L3) --------------------------------------------------------------------------------

def test_an_https_listener_without_ssl_policy_is_refused_because_the_default_allows_tls_1_0():
    props = https_listener()
    del props["sslPolicy"]
    [message] = check("lb-listener-tls-policy", LISTENERS[1], props)
    assert "ELBSecurityPolicy-2016-08, which allows TLS 1.0" in message


def test_an_outdated_tls_policy_is_refused():
    props = https_listener(sslPolicy="ELBSecurityPolicy-TLS-1-1-2017-01")
    assert check("lb-listener-tls-policy", LISTENERS[0], props)


def test_a_configured_tls_policy_is_allowed():
    props = https_listener(sslPolicy="ELBSecurityPolicy-FS-1-2-Res-2020-10")
    assert check("lb-listener-tls-policy", LISTENERS[0], props,
                 {"allowedSslPolicies": ["ELBSecurityPolicy-FS-1-2-Res-2020-10"]}) == []


# --- target groups (L4, L5) --------------------------------------------------------------------------------------

@pytest.mark.parametrize("type_", TARGET_GROUPS)
def test_an_http_target_group_is_refused_in_both_modules(type_):
    assert check("lb-target-group-encrypted", type_, good_target_group(protocol="HTTP")) == [
        "protocol = 'HTTP' sends requests to the targets in clear text; allowed: HTTPS (or TLS on a NLB)"]


def test_https_and_lambda_target_groups_pass():
    assert check("lb-target-group-encrypted", TARGET_GROUPS[0], good_target_group()) == []
    assert check("lb-target-group-encrypted", TARGET_GROUPS[0], {"targetType": "lambda"}) == []


def test_an_http_target_group_without_a_health_check_path_is_refused():
    assert check("lb-target-group-health-check", TARGET_GROUPS[0], good_target_group(healthCheck=None)) == [
        "healthCheck.path = not set; allowed: an explicit path such as '/health'"]


def test_a_disabled_health_check_is_refused():
    props = good_target_group(healthCheck={"enabled": False, "path": "/health"})
    assert check("lb-target-group-health-check", TARGET_GROUPS[1], props) == [
        "healthCheck.enabled = false; allowed: true"]


def test_a_tcp_target_group_needs_no_health_check_path():
    assert check("lb-target-group-health-check", TARGET_GROUPS[0], {"protocol": "TCP", "port": 22}) == []


# --- load balancer settings (L6-L9, L12, L13) ----------------------------------------------------------------------

@pytest.mark.parametrize("type_", LOAD_BALANCERS)
def test_a_balancer_that_keeps_invalid_headers_is_refused_in_both_modules(type_):
    assert check("lb-drop-invalid-headers", type_, good_balancer(dropInvalidHeaderFields=False)) == [
        "dropInvalidHeaderFields = False; allowed: true"]


def test_a_network_balancer_has_no_header_setting_to_judge():
    assert check("lb-drop-invalid-headers", LB, good_balancer(loadBalancerType="network",
                                                              dropInvalidHeaderFields=None)) == []


def test_a_balancer_without_access_logs_is_refused():
    assert check("lb-access-logs", ALB_ALIAS, good_balancer(accessLogs=None)) == [
        "accessLogs.enabled = not set; allowed: true"]


def test_enabled_access_logs_without_a_bucket_are_refused():
    assert check("lb-access-logs", LB, good_balancer(accessLogs={"enabled": True, "bucket": ""}))


@pytest.mark.parametrize("type_", LOAD_BALANCERS)
def test_a_balancer_without_deletion_protection_is_refused_in_both_modules(type_):
    assert check("lb-deletion-protection", type_, good_balancer(enableDeletionProtection=None)) == [
        "enableDeletionProtection = not set; allowed: true"]


def test_desync_monitor_mode_is_refused_and_the_default_passes():
    assert check("lb-desync-mitigation", LB, good_balancer(desyncMitigationMode="monitor"))
    assert check("lb-desync-mitigation", LB, good_balancer(desyncMitigationMode=None)) == []


def test_an_internet_facing_balancer_is_reported():
    assert check("lb-not-internet-facing", LB, good_balancer(internal=False)) == [
        "internal = False makes the load balancer internet-facing; allowed: true"]


def test_a_network_balancer_without_cross_zone_balancing_is_refused():
    props = good_balancer(loadBalancerType="network")
    assert check("lb-cross-zone", LB, props) == ["enableCrossZoneLoadBalancing = not set; allowed: true"]
    assert check("lb-cross-zone", LB, {**props, "enableCrossZoneLoadBalancing": True}) == []


# --- relations: lb-multi-az (L10), lb-waf-attached (L11) -----------------------------------------------------------

def test_a_balancer_in_one_zone_is_refused():
    stack = (balancer(loadBalancerType="network", subnets=["subnet-a"]), subnet("subnet-a", "us-east-1a"))
    assert check_stack("lb-multi-az", *stack) == [
        ("web", "its subnets span 1 availability zone(s) (us-east-1a); allowed: at least 2")]


def test_a_balancer_listing_one_subnet_of_another_stack_is_refused_as_one_subnet_is_one_zone():
    [(_, message)] = check_stack("lb-multi-az", balancer(subnets=["subnet-elsewhere"]))
    assert "its subnets name 1 subnet(s) or zone(s), so they span at most 1 availability zone(s)" in message


def test_a_balancer_with_one_known_zone_and_one_outside_subnet_cannot_be_verified():
    stack = (balancer(subnets=["subnet-a", "subnet-elsewhere"]), subnet("subnet-a", "us-east-1a"))
    [(_, message)] = check_stack("lb-multi-az", *stack)
    assert "cannot be verified during preview" in message


def test_subnet_mappings_count_towards_zones():
    props = {"subnets": None, "subnetMappings": [{"subnetId": "subnet-a"}, {"subnetId": "subnet-b"}]}
    stack = (balancer(**props), subnet("subnet-a", "us-east-1a"), subnet("subnet-b", "us-east-1b"))
    assert check_stack("lb-multi-az", *stack) == []


def test_an_internet_facing_alb_without_waf_is_refused():
    [(name, message)] = check_stack("lb-waf-attached", balancer(internal=False))
    assert name == "web" and "no aws:wafv2/webAclAssociation:WebAclAssociation" in message


def test_a_waf_association_found_by_arn_or_by_dependency_passes():
    public = balancer(internal=False)
    by_arn = Resource(WAF_ASSOCIATIONS[0], {"resourceArn": LB_ARN, "webAclArn": "acl"}, name="waf")
    by_urn = Resource(WAF_ASSOCIATIONS[0], {"resourceArn": UNKNOWN}, name="waf",
                      property_dependencies={"resourceArn": (public.urn,)})
    assert check_stack("lb-waf-attached", public, by_arn) == []
    assert check_stack("lb-waf-attached", public, by_urn) == []


def test_internal_and_network_balancers_need_no_waf():
    assert check_stack("lb-waf-attached", balancer(internal=True)) == []
    assert check_stack("lb-waf-attached", balancer(internal=False, loadBalancerType="network")) == []


# --- through the real pack ------------------------------------------------------------------------------------

def test_the_pack_reports_load_balancing_findings_over_grpc_for_both_modules(pack):
    open_alb = as_recorded(ALB_ALIAS, good_balancer(internal=False, dropInvalidHeaderFields=False), name="open")
    plain = as_recorded(LISTENERS[1], {"port": 80, "protocol": "HTTP", "defaultActions": [FORWARD]}, name="plain")
    secure = as_recorded(LISTENERS[0], https_listener(), name="secure")
    redirect = as_recorded(LISTENERS[0], {"port": 80, "protocol": "HTTP", "defaultActions": [HTTP_TO_HTTPS]},
                           name="redirect")
    findings = pack.analyze([open_alb, plain, secure, redirect])
    ours = {(f.policy, f.urn.rsplit("::", 1)[-1]) for f in findings if f.policy.startswith("lb-")}
    assert {("lb-drop-invalid-headers", "open"), ("lb-not-internet-facing", "open"), ("lb-waf-attached", "open"),
            ("lb-listener-no-plaintext", "plain")} <= ours
    assert not [policy for policy, name in ours if name in ("secure", "redirect")]
