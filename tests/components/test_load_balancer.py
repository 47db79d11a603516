"""The LoadBalancer component: pure planners, and the dev (HTTP) and prod (HTTPS) stacks under mocks."""

from __future__ import annotations

import json

import pytest

from components.load_balancer import (
    ELB_LOG_ACCOUNTS,
    LOG_DELIVERY_SERVICE,
    WAF_MANAGED_RULE_GROUPS,
    WAF_REDACTED_HEADERS,
    access_log_bucket_policy,
    access_log_lifecycle_rules,
    listener_ports,
    route_conditions,
    web_acl_rules,
)

ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
RULE = "aws:lb/listenerRule:ListenerRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_ARN = "arn:aws:s3:::lb-logs-0123456"
PROD_CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0b5c3c9e-8a4d-4f59-9d55-3f2e8c1a7b10"


def only(recording, type_token, name=None):
    found = [r for r in recording.of_type(type_token) if name is None or r.name == name]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def listeners_by_port(recording):
    return {int(r.inputs["port"]): r for r in recording.of_type(LISTENER)}


def statements_by_sid(policy):
    return {s["Sid"]: s for s in policy["Statement"]}


# --- pure planners ----------------------------------------------------------------------------------


def test_https_adds_port_443_beside_the_redirecting_port_80():
    assert listener_ports(serves_https=True) == [80, 443]
    assert listener_ports(serves_https=False) == [80]


def test_a_route_without_paths_or_hosts_is_refused():
    with pytest.raises(ValueError, match="path_patterns or host_headers"):
        route_conditions((), ())


def test_a_route_matches_on_paths_and_hosts_together():
    assert route_conditions(["/api/*"], ["api.example.com"]) == [
        {"path_pattern": {"values": ["/api/*"]}}, {"host_header": {"values": ["api.example.com"]}}]


def test_log_delivery_may_write_only_this_accounts_objects_under_the_prefix():
    policy = access_log_bucket_policy("aws", "ap-southeast-5", "123456789012", BUCKET_ARN)
    delivery = statements_by_sid(policy)["ElbLogDeliveryWritesAccessLogs"]
    assert delivery["Principal"] == {"Service": LOG_DELIVERY_SERVICE}
    assert delivery["Action"] == "s3:PutObject"
    assert delivery["Resource"] == f"{BUCKET_ARN}/alb/AWSLogs/123456789012/*"


def test_a_region_opened_before_august_2022_also_admits_its_elb_account():
    statements = statements_by_sid(access_log_bucket_policy("aws", "eu-west-1", "123456789012", BUCKET_ARN))
    legacy = statements["RegionalElbAccountWritesAccessLogs"]
    assert legacy["Principal"] == {"AWS": f"arn:aws:iam::{ELB_LOG_ACCOUNTS['eu-west-1']}:root"}


def test_a_newer_region_admits_only_the_log_delivery_service():
    statements = statements_by_sid(access_log_bucket_policy("aws", "ap-southeast-5", "123456789012", BUCKET_ARN))
    assert "RegionalElbAccountWritesAccessLogs" not in statements


def test_the_log_bucket_refuses_plain_http():
    deny = statements_by_sid(access_log_bucket_policy("aws", "us-east-1", "123456789012", BUCKET_ARN))[
        "DenyInsecureTransport"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [BUCKET_ARN, f"{BUCKET_ARN}/*"]


def test_the_log_lifecycle_rule_covers_the_whole_bucket_and_aborts_incomplete_uploads():
    (rule,) = access_log_lifecycle_rules(30)
    assert rule["status"] == "Enabled"
    assert rule["filter"] == {}
    assert rule["abort_incomplete_multipart_upload"] == {"days_after_initiation": 1}
    assert rule["expiration"] == {"days": 30}


def test_the_web_acl_rate_limits_each_client_before_the_managed_rule_groups():
    rules = web_acl_rules(500, "stack-alb")
    assert rules[0]["statement"] == {"rate_based_statement": {"limit": 500, "aggregate_key_type": "IP"}}
    assert rules[0]["action"] == {"block": {}}
    assert [r["name"] for r in rules[1:]] == list(WAF_MANAGED_RULE_GROUPS)
    assert sorted(r["priority"] for r in rules) == [r["priority"] for r in rules]


def test_each_web_acl_rule_has_its_own_metric():
    names = [r["visibility_config"]["metric_name"] for r in web_acl_rules(2000, "stack-alb")]
    assert len(set(names)) == len(names)


# --- the ALB itself ---------------------------------------------------------------------------------


def test_the_alb_is_internet_facing_across_every_public_subnet(prod_stack):
    alb = only(prod_stack, ALB)
    public = [r.id for r in prod_stack.of_type("aws:ec2/subnet:Subnet") if r.inputs["tags"]["Tier"] == "public"]
    assert alb.inputs["internal"] is False
    assert alb.inputs["loadBalancerType"] == "application"
    assert sorted(alb.inputs["subnets"]) == sorted(public) and len(public) == 3


def test_the_alb_drops_invalid_headers_and_mitigates_desync(dev_stack, prod_stack):
    assert only(dev_stack, ALB).inputs["dropInvalidHeaderFields"] is True
    assert only(dev_stack, ALB).inputs["desyncMitigationMode"] == "defensive"
    assert only(prod_stack, ALB).inputs["desyncMitigationMode"] == "strictest"


def test_deletion_protection_is_on_in_prod_only(dev_stack, prod_stack):
    assert only(dev_stack, ALB).inputs["enableDeletionProtection"] is False
    assert only(prod_stack, ALB).inputs["enableDeletionProtection"] is True


def test_access_logs_go_to_the_stacks_log_bucket(prod_stack):
    bucket = only(prod_stack, BUCKET, "lb-logs")
    assert only(prod_stack, ALB).inputs["accessLogs"] == {"bucket": bucket.id, "prefix": "alb", "enabled": True}


def test_without_access_logs_there_is_no_log_bucket(stack_with):
    recording = stack_with("dev", {"aws-compute:loadBalancer.accessLogs": "false"})
    assert "accessLogs" not in only(recording, ALB).inputs
    assert [r for r in recording.of_type(BUCKET) if r.name.startswith("lb-")] == []


def test_the_alb_waits_for_the_bucket_policy_that_lets_it_log(prod_stack):
    alb, policy = only(prod_stack, ALB), only(prod_stack, "aws:s3/bucketPolicy:BucketPolicy", "lb-logs-policy")
    assert policy.urn in alb.dependencies


# --- listeners --------------------------------------------------------------------------------------


def test_without_a_certificate_http_serves_routes_and_answers_404_by_default(dev_stack):
    listeners = listeners_by_port(dev_stack)
    assert set(listeners) == {80}
    assert listeners[80].inputs["protocol"] == "HTTP"
    assert listeners[80].inputs["defaultActions"] == [{"type": "fixed-response", "fixedResponse": {
        "contentType": "text/plain", "messageBody": "Not Found", "statusCode": "404"}}]


def test_with_a_certificate_https_uses_it_and_a_tls13_policy(prod_stack):
    https = listeners_by_port(prod_stack)[443]
    assert https.inputs["protocol"] == "HTTPS"
    assert https.inputs["certificateArn"] == PROD_CERTIFICATE
    assert https.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https.inputs["defaultActions"][0]["fixedResponse"]["statusCode"] == "404"


def test_with_a_certificate_http_only_redirects_to_https(prod_stack):
    http = listeners_by_port(prod_stack)[80]
    assert http.inputs["defaultActions"] == [{"type": "redirect", "redirect": {
        "protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]


def test_routes_attach_to_the_serving_listener(dev_stack, prod_stack):
    assert only(dev_stack, RULE, "lb-fleet").inputs["listenerArn"] == listeners_by_port(dev_stack)[80].outputs["arn"]
    assert only(prod_stack, RULE, "lb-fleet").inputs["listenerArn"] == \
        listeners_by_port(prod_stack)[443].outputs["arn"]


def test_every_child_of_the_load_balancer_is_parented_to_it(prod_stack):
    (component,) = [r for r in prod_stack.resources if r.type == "aws-compute:loadbalancer:LoadBalancer"]
    children = [r for r in prod_stack.resources if r.parent == component.urn]
    assert {r.type for r in children} >= {ALB, LISTENER, RULE, SG, BUCKET}


# --- security group ---------------------------------------------------------------------------------


def test_clients_reach_only_the_listener_ports_from_the_configured_ranges(dev_stack, prod_stack, stack_with):
    assert [(r["fromPort"], r["toPort"]) for r in only(dev_stack, SG, "lb-sg").inputs["ingress"]] == [(80, 80)]
    assert [(r["fromPort"], r["toPort"]) for r in only(prod_stack, SG, "lb-sg").inputs["ingress"]] == \
        [(80, 80), (443, 443)]
    narrowed = stack_with("dev", {"aws-compute:loadBalancer.ingressCidrs": json.dumps(["203.0.113.0/24"])})
    assert [r["cidrBlocks"] for r in only(narrowed, SG, "lb-sg").inputs["ingress"]] == [["203.0.113.0/24"]]


def test_the_alb_sends_traffic_only_to_the_target_ports_inside_the_vpc(stack_with):
    recording = stack_with("dev", {"aws-compute:service.enabled": "false"})
    (egress,) = only(recording, SG, "lb-sg").inputs["egress"]
    assert (egress["protocol"], egress["fromPort"], egress["toPort"]) == ("tcp", 8080, 8080)
    assert egress["cidrBlocks"] == [only(recording, "aws:ec2/vpc:Vpc").inputs["cidrBlock"]]


# --- access log bucket ------------------------------------------------------------------------------


def test_the_access_log_bucket_is_private_encrypted_versioned_and_expiring(prod_stack):
    bucket = only(prod_stack, BUCKET, "lb-logs")
    block = only(prod_stack, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "lb-logs-public-access")
    assert block.inputs["bucket"] == bucket.id
    assert all(block.inputs[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                  "restrictPublicBuckets"))
    encryption = only(prod_stack, SSE, "lb-logs-encryption")
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    ownership = only(prod_stack, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "lb-logs-ownership")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    versioning = only(prod_stack, "aws:s3/bucketVersioning:BucketVersioning", "lb-logs-versioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    (rule,) = only(prod_stack, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                   "lb-logs-lifecycle").inputs["rules"]
    assert rule["expiration"] == {"days": 365}
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 1}


def test_the_bucket_policy_admits_eu_west_1_log_delivery_for_the_stacks_account(prod_stack):
    bucket = only(prod_stack, BUCKET, "lb-logs")
    policy = json.loads(only(prod_stack, "aws:s3/bucketPolicy:BucketPolicy", "lb-logs-policy").inputs["policy"])
    statements = statements_by_sid(policy)
    assert statements["ElbLogDeliveryWritesAccessLogs"]["Resource"] == \
        f"{bucket.outputs['arn']}/alb/AWSLogs/123456789012/*"
    assert statements["RegionalElbAccountWritesAccessLogs"]["Principal"]["AWS"] == "arn:aws:iam::156460612806:root"


# --- WAF --------------------------------------------------------------------------------------------


def test_a_regional_web_acl_guards_the_alb(dev_stack):
    acl = only(dev_stack, "aws:wafv2/webAcl:WebAcl")
    association = only(dev_stack, "aws:wafv2/webAclAssociation:WebAclAssociation")
    assert acl.inputs["scope"] == "REGIONAL"
    assert acl.inputs["defaultAction"] == {"allow": {}}
    assert association.inputs == {"resourceArn": only(dev_stack, ALB).outputs["arn"],
                                  "webAclArn": acl.outputs["arn"]}


def test_the_web_acl_can_be_turned_off(stack_with):
    recording = stack_with("dev", {"aws-compute:loadBalancer.waf": "false"})
    assert recording.of_type("aws:wafv2/webAcl:WebAcl") == []
    assert recording.of_type(WAF_LOGGING) == []


WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def test_the_web_acl_logs_to_an_encrypted_log_group_named_as_waf_requires(dev_stack):
    acl = only(dev_stack, "aws:wafv2/webAcl:WebAcl")
    log_group = only(dev_stack, LOG_GROUP, "lb-waf-logs")
    logging = only(dev_stack, WAF_LOGGING)
    assert logging.inputs["resourceArn"] == acl.outputs["arn"]
    assert logging.inputs["logDestinationConfigs"] == [log_group.outputs["arn"]]
    assert log_group.inputs["name"] == "aws-waf-logs-aws-compute-dev-alb"
    assert log_group.inputs["kmsKeyId"] == only(dev_stack, "aws:kms/key:Key").outputs["arn"]


def test_the_web_acl_logs_keep_no_credentials(dev_stack):
    redacted = only(dev_stack, WAF_LOGGING).inputs["redactedFields"]
    assert [field["singleHeader"]["name"] for field in redacted] == list(WAF_REDACTED_HEADERS)
    assert set(WAF_REDACTED_HEADERS) == {"authorization", "cookie"}


def test_the_web_acl_log_retention_comes_from_the_config(dev_stack, stack_with):
    assert only(dev_stack, LOG_GROUP, "lb-waf-logs").inputs["retentionInDays"] == 365
    recording = stack_with("dev", {"aws-compute:loadBalancer.wafLogRetentionDays": "30"})
    assert only(recording, LOG_GROUP, "lb-waf-logs").inputs["retentionInDays"] == 30


# --- wiring -----------------------------------------------------------------------------------------


def test_the_stack_exports_the_albs_dns_name_and_url(dev_stack, prod_stack):
    alb = only(prod_stack, ALB)
    assert prod_stack.outputs["albDnsName"] == alb.outputs["dnsName"]
    assert prod_stack.outputs["url"] == f"https://{alb.outputs['dnsName']}"
    assert dev_stack.outputs["url"].startswith("http://")


def test_without_fleet_or_service_there_is_no_load_balancer(stack_with):
    recording = stack_with("dev", {"aws-compute:fleet.enabled": "false", "aws-compute:service.enabled": "false"})
    assert recording.of_type(ALB) == []
    assert "url" not in recording.outputs


# --- a domain of the user's own: certificate requested, validated by DNS, alias to the ALB ----------

DOMAIN = {"aws-compute:loadBalancer.domainName": "app.mycompany.io",
          "aws-compute:loadBalancer.hostedZoneId": "Z0123456789ABCDEFGHIJ"}


@pytest.fixture(scope="module")
def domain_stack():
    from tests.conftest import record_stack
    return record_stack("prod", DOMAIN, removed=("aws-compute:loadBalancer.certificateArn",))


def test_a_domain_gets_an_acm_certificate_validated_by_dns(domain_stack):
    certificate = only(domain_stack, "aws:acm/certificate:Certificate")
    assert (certificate.inputs["domainName"], certificate.inputs["validationMethod"]) == ("app.mycompany.io", "DNS")
    record = only(domain_stack, "aws:route53/record:Record", "lb-certificate-validation")
    assert record.inputs["zoneId"] == "Z0123456789ABCDEFGHIJ"
    assert certificate.urn in record.dependencies  # its name, type and value are the certificate's ask


def test_https_waits_for_the_validated_certificate(domain_stack):
    validation = only(domain_stack, "aws:acm/certificateValidation:CertificateValidation")
    certificate = only(domain_stack, "aws:acm/certificate:Certificate")
    record = only(domain_stack, "aws:route53/record:Record", "lb-certificate-validation")
    assert validation.inputs["certificateArn"] == certificate.outputs["arn"]
    assert validation.inputs["validationRecordFqdns"] == [record.outputs["fqdn"]]
    https = listeners_by_port(domain_stack)[443]
    assert https.inputs["certificateArn"] == validation.outputs["certificateArn"]
    assert validation.urn in https.dependencies


def test_the_domain_points_at_the_alb_and_is_the_exported_url(domain_stack):
    alb = only(domain_stack, ALB)
    alias = only(domain_stack, "aws:route53/record:Record", "lb-alias-a")
    assert (alias.inputs["name"], alias.inputs["type"], alias.inputs["zoneId"]) == (
        "app.mycompany.io", "A", "Z0123456789ABCDEFGHIJ")
    assert alias.inputs["aliases"] == [{"name": alb.outputs["dnsName"], "zoneId": alb.outputs["zoneId"],
                                        "evaluateTargetHealth": True}]
    assert domain_stack.outputs["url"] == "https://app.mycompany.io"


def test_the_alb_is_ipv4_only_so_the_domain_gets_no_aaaa_record(domain_stack):
    # A dualstack ALB needs IPv6 ranges in its subnets, which the VPC does not have; an AAAA alias to an IPv4
    # ALB would answer nothing.
    assert only(domain_stack, ALB).inputs["ipAddressType"] == "ipv4"
    assert [r.inputs["type"] for r in domain_stack.of_type("aws:route53/record:Record")
            if r.name != "lb-certificate-validation"] == ["A"]


def test_a_brought_certificate_creates_no_certificate_or_records(prod_stack):
    assert prod_stack.of_type("aws:acm/certificate:Certificate") == []
    assert prod_stack.of_type("aws:route53/record:Record") == []
