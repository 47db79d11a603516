"""The cost estimate: the arithmetic of each priced type against the shipped table, usage assumptions and their
overrides, and what has no price (reported, never guessed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from preflight.cost import DEFAULT_USAGE, UsageError, estimate, load_prices, load_usage
from preflight.recorder import RecordedResource, Recording

TABLE = load_prices()
HOURS = TABLE.hours_per_month
US, EU = "us-east-1", "eu-west-1"
DR_PROVIDER = "urn:pulumi:test::shop::pulumi:providers:aws::dr"


def price(key: str, region: str = US) -> float:
    found = TABLE.price(region, key)
    assert found is not None, f"the shipped table lost {key} in {region}"
    return found.usd


def resource(type_: str, name: str, inputs: dict[str, Any], id_: str = "", arn: str = "",
             provider: str = "") -> RecordedResource:
    return RecordedResource(urn=f"urn:pulumi:test::shop::{type_}::{name}", type=type_, name=name, parent="",
                            custom=True, id=id_ or f"{name}-id", inputs=inputs, outputs={"arn": arn} if arn else {},
                            dependencies=[], property_dependencies={}, options={"provider": provider})


def stack(*resources: RecordedResource, region: str = US) -> Recording:
    default = resource("pulumi:providers:aws", "default_7_0_0", {"region": region})
    dr = resource("pulumi:providers:aws", "dr", {"region": "eu-central-1"}, id_="dr-id")
    return Recording("shop", "test", [default, dr, *resources])


def monthly(recording: Recording, name: str, usage: dict[str, Any] | None = None) -> float:
    return next(r.monthly for r in estimate(recording, usage=usage).resources if r.name == name)


def test_every_price_cites_a_source_with_a_url_and_the_day_it_was_read():
    for region, prices in TABLE.prices.items():
        for key, entry in prices.items():
            source = TABLE.sources[entry.source]
            assert source["url"].startswith("https://"), (region, key)
            assert source["read"], (region, key)


def test_the_table_covers_the_regions_the_stacks_use():
    assert {US, EU, "eu-central-1"} <= set(TABLE.prices)


def test_a_nat_gateway_costs_its_hours_and_the_assumed_gb_processed():
    nat = stack(resource("aws:ec2/natGateway:NatGateway", "nat", {"subnetId": "subnet-1"}))
    expected = HOURS * price("natGateway.hour") + DEFAULT_USAGE["natGateway.gbPerMonth"] * price("natGateway.gb")
    assert monthly(nat, "nat") == pytest.approx(expected)


def test_an_application_load_balancer_costs_its_hours_and_its_assumed_lcu_hours():
    for region in (US, EU):
        alb = stack(resource("aws:lb/loadBalancer:LoadBalancer", "alb", {"loadBalancerType": "application"}),
                    region=region)
        lcu_hours = DEFAULT_USAGE["alb.lcuPerHour"] * HOURS
        expected = HOURS * price("alb.hour", region) + lcu_hours * price("alb.lcuHour", region)
        assert monthly(alb, "alb") == pytest.approx(expected), region


@pytest.mark.parametrize(("instance_type", "region"), [
    ("t3.micro", US), ("t4g.micro", US), ("t3.micro", EU), ("t3.small", EU), ("t4g.small", EU)])
def test_an_instance_costs_its_type_on_demand_hours(instance_type: str, region: str):
    server = stack(resource("aws:ec2/instance:Instance", "server", {"instanceType": instance_type}), region=region)
    assert monthly(server, "server") == pytest.approx(HOURS * price(f"ec2.{instance_type}.hour", region))


def test_an_instance_root_volume_with_a_size_is_priced_with_it():
    server = stack(resource("aws:ec2/instance:Instance", "server", {
        "instanceType": "t3.micro", "rootBlockDevice": {"volumeSize": 8, "volumeType": "gp3"}}))
    expected = HOURS * price("ec2.t3.micro.hour") + 8 * price("ebs.gp3.gbMonth")
    assert monthly(server, "server") == pytest.approx(expected)


def test_a_gp3_volume_costs_its_size_and_its_baseline_performance_is_included():
    data = stack(resource("aws:ebs/volume:Volume", "data", {"type": "gp3", "size": 50, "iops": 3000,
                                                             "throughput": 125}))
    assert monthly(data, "data") == pytest.approx(50 * price("ebs.gp3.gbMonth"))


def test_gp3_iops_and_throughput_above_the_baseline_are_priced_per_month():
    data = stack(resource("aws:ebs/volume:Volume", "data", {"type": "gp3", "size": 100, "iops": 6000,
                                                             "throughput": 250}))
    expected = 100 * price("ebs.gp3.gbMonth") + 3000 * price("ebs.gp3.iopsMonth") + \
        125 * price("ebs.gp3.throughputMonth")
    assert monthly(data, "data") == pytest.approx(expected)


def test_a_volume_restored_from_a_snapshot_is_as_large_as_the_snapshot_source():
    source = resource("aws:ebs/volume:Volume", "data", {"type": "gp3", "size": 40}, id_="vol-1")
    snap = resource("aws:ebs/snapshot:Snapshot", "snap", {"volumeId": "vol-1"}, id_="snap-1")
    restored = resource("aws:ebs/volume:Volume", "restored", {"type": "gp3", "snapshotId": "snap-1"})
    assert monthly(stack(source, snap, restored), "restored") == pytest.approx(40 * price("ebs.gp3.gbMonth"))


def test_a_kms_key_costs_one_key_month_and_its_assumed_requests():
    for region in (US, EU):
        expected = price("kms.keyMonth", region) + \
            DEFAULT_USAGE["kms.requestsPerMonth"] / 10_000 * price("kms.requests.10k", region)
        assert monthly(stack(resource("aws:kms/key:Key", "key", {}), region=region), "key") == \
            pytest.approx(expected), region


def test_a_web_acl_costs_its_month_its_rules_and_its_assumed_requests():
    acl = stack(resource("aws:wafv2/webAcl:WebAcl", "waf", {"rules": [{"name": "a"}, {"name": "b"}]}), region=EU)
    expected = price("waf.webAclMonth", EU) + 2 * price("waf.ruleMonth", EU) + \
        DEFAULT_USAGE["waf.requestsPerMonth"] / 1e6 * price("waf.requests.million", EU)
    assert monthly(acl, "waf") == pytest.approx(expected)


def test_an_elastic_ip_costs_its_public_ipv4_hours():
    eip = stack(resource("aws:ec2/eip:Eip", "eip", {"domain": "vpc"}))
    assert monthly(eip, "eip") == pytest.approx(HOURS * price("vpc.publicIpv4.hour"))


def test_a_function_costs_its_assumed_requests_and_gb_seconds_by_architecture():
    for architecture in ("x86_64", "arm64"):
        function = stack(resource("aws:lambda/function:Function", "fn", {"memorySize": 512,
                                                                          "architectures": [architecture]}))
        requests = DEFAULT_USAGE["lambda.requestsPerMonth"]
        gb_seconds = requests * DEFAULT_USAGE["lambda.avgDurationMs"] / 1000 * 512 / 1024
        expected = requests / 1e6 * price("lambda.requests.million") + \
            gb_seconds * price(f"lambda.{architecture}.gbSecond")
        assert monthly(function, "fn") == pytest.approx(expected), architecture


def test_an_http_api_costs_its_assumed_requests():
    api = stack(resource("aws:apigatewayv2/api:Api", "api", {"protocolType": "HTTP"}))
    expected = DEFAULT_USAGE["apigw.requestsPerMonth"] / 1e6 * price("apigw.http.million")
    assert monthly(api, "api") == pytest.approx(expected)


def test_a_fargate_service_costs_vcpu_and_memory_hours_of_its_task_size_by_architecture():
    for architecture, cpu_architecture in (("x86_64", "X86_64"), ("arm64", "ARM64")):
        task = resource("aws:ecs/taskDefinition:TaskDefinition", "task", {
            "cpu": "512", "memory": "1024", "runtimePlatform": {"cpuArchitecture": cpu_architecture}},
            arn="arn:aws:ecs:us-east-1:123456789012:task-definition/task:1")
        service = resource("aws:ecs/service:Service", "svc", {
            "launchType": "FARGATE", "desiredCount": 2, "taskDefinition": task.outputs["arn"]})
        expected = 2 * HOURS * (0.5 * price(f"fargate.{architecture}.vcpuHour") +
                                1.0 * price(f"fargate.{architecture}.gbHour"))
        assert monthly(stack(task, service), "svc") == pytest.approx(expected), architecture


def test_fargate_spot_tasks_are_reported_unpriced_not_priced_as_regular_ones():
    task = resource("aws:ecs/taskDefinition:TaskDefinition", "task", {"cpu": "256", "memory": "512"},
                    arn="arn:aws:ecs:us-east-1:123456789012:task-definition/task:1")
    service = resource("aws:ecs/service:Service", "svc", {
        "desiredCount": 6, "taskDefinition": task.outputs["arn"],
        "capacityProviderStrategies": [{"capacityProvider": "FARGATE", "base": 2, "weight": 1},
                                       {"capacityProvider": "FARGATE_SPOT", "weight": 3}]})
    result = estimate(stack(task, service))
    regular = 3  # base 2, then one of every four of the remaining 4
    expected = regular * HOURS * (0.25 * price("fargate.x86_64.vcpuHour") + 0.5 * price("fargate.x86_64.gbHour"))
    assert next(r.monthly for r in result.resources if r.name == "svc") == pytest.approx(expected)
    assert any("3 FARGATE_SPOT" in u.reason for u in result.unpriced)


def test_an_auto_scaling_group_prices_its_on_demand_share_as_the_first_listed_type():
    template = resource("aws:ec2/launchTemplate:LaunchTemplate", "lt", {
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 20, "volumeType": "gp3"}}]},
        id_="lt-1")
    group = resource("aws:autoscaling/group:Group", "asg", {"desiredCapacity": 4, "mixedInstancesPolicy": {
        "instancesDistribution": {"onDemandBaseCapacity": 1, "onDemandPercentageAboveBaseCapacity": 50},
        "launchTemplate": {"launchTemplateSpecification": {"launchTemplateId": "lt-1"},
                           "overrides": [{"instanceType": "t3.micro"}, {"instanceType": "t3a.micro"}]}}})
    result = estimate(stack(template, group))
    on_demand = 1 + 2  # the base, then half of the remaining 3 rounded up
    expected = on_demand * HOURS * price("ec2.t3.micro.hour") + 4 * 20 * price("ebs.gp3.gbMonth")
    assert next(r.monthly for r in result.resources if r.name == "asg") == pytest.approx(expected)
    assert any("1 x 730 h of t3.micro Spot" in u.reason for u in result.unpriced)


def test_an_interface_endpoint_costs_its_hours_in_each_az_and_its_assumed_data():
    for region in (US, EU):
        endpoint = stack(resource("aws:ec2/vpcEndpoint:VpcEndpoint", "ssm", {
            "vpcEndpointType": "Interface", "subnetIds": ["subnet-a", "subnet-b"]}), region=region)
        expected = 2 * HOURS * price("vpce.interface.hour", region) + \
            DEFAULT_USAGE["vpce.gbPerMonth"] * price("vpce.interface.gb", region)
        assert monthly(endpoint, "ssm") == pytest.approx(expected), region


def test_a_log_group_costs_its_assumed_ingestion_and_storage():
    for region in (US, EU):
        logs = stack(resource("aws:cloudwatch/logGroup:LogGroup", "logs", {"retentionInDays": 30}), region=region)
        gb = DEFAULT_USAGE["logs.ingestedGbPerMonth"]
        expected = gb * price("logs.ingestGb", region) + gb * price("logs.storageGbMonth", region)
        assert monthly(logs, "logs") == pytest.approx(expected), region


def test_a_metric_alarm_costs_one_standard_alarm_month():
    for region in (US, EU):
        alarm = stack(resource("aws:cloudwatch/metricAlarm:MetricAlarm", "cpu-high", {"period": 60}), region=region)
        assert monthly(alarm, "cpu-high") == pytest.approx(price("cloudwatch.alarmMonth", region)), region


def test_a_bucket_costs_its_assumed_standard_storage():
    for region in (US, EU):
        bucket = stack(resource("aws:s3/bucket:Bucket", "logs", {}), region=region)
        expected = DEFAULT_USAGE["s3.gbPerMonth"] * price("s3.standard.gbMonth", region)
        assert monthly(bucket, "logs") == pytest.approx(expected), region


def test_a_snapshot_costs_the_size_of_its_source_volume_in_its_own_region():
    source = resource("aws:ebs/volume:Volume", "data", {"type": "gp3", "size": 50}, id_="vol-1")
    snap = resource("aws:ebs/snapshot:Snapshot", "snap", {"volumeId": "vol-1"}, id_="snap-1")
    copy = resource("aws:ebs/snapshotCopy:SnapshotCopy", "dr", {"sourceSnapshotId": "snap-1"},
                    provider=f"{DR_PROVIDER}::dr-id")
    result = estimate(stack(source, snap, copy, region=EU))
    costs = {r.name: r for r in result.resources}
    assert costs["snap"].monthly == pytest.approx(50 * price("ebs.snapshot.gbMonth", EU))
    assert costs["dr"].region == "eu-central-1"
    assert costs["dr"].monthly == pytest.approx(50 * price("ebs.snapshot.gbMonth", "eu-central-1"))


def test_a_gp2_volume_costs_its_size_at_the_gp2_price():
    for region in (US, EU):
        data = stack(resource("aws:ebs/volume:Volume", "data", {"type": "gp2", "size": 30}), region=region)
        assert monthly(data, "data") == pytest.approx(30 * price("ebs.gp2.gbMonth", region)), region


def test_a_container_repository_costs_its_assumed_image_storage():
    for region in (US, EU):
        repo = stack(resource("aws:ecr/repository:Repository", "web", {}), region=region)
        expected = DEFAULT_USAGE["ecr.gbPerMonth"] * price("ecr.storage.gbMonth", region)
        assert monthly(repo, "web") == pytest.approx(expected), region


def test_eu_west_1_prices_functions_apis_and_fargate_tasks_from_its_own_rates():
    task = resource("aws:ecs/taskDefinition:TaskDefinition", "task", {"cpu": "512", "memory": "1024"},
                    arn="arn:aws:ecs:eu-west-1:123456789012:task-definition/task:1")
    service = resource("aws:ecs/service:Service", "svc", {
        "launchType": "FARGATE", "desiredCount": 1, "taskDefinition": task.outputs["arn"]})
    function = resource("aws:lambda/function:Function", "fn", {"memorySize": 256, "architectures": ["x86_64"]})
    api = resource("aws:apigatewayv2/api:Api", "api", {"protocolType": "HTTP"})
    recording = stack(task, service, function, api, region=EU)
    requests = DEFAULT_USAGE["lambda.requestsPerMonth"]
    gb_seconds = requests * DEFAULT_USAGE["lambda.avgDurationMs"] / 1000 * 256 / 1024
    assert monthly(recording, "svc") == pytest.approx(
        HOURS * (0.5 * price("fargate.x86_64.vcpuHour", EU) + 1.0 * price("fargate.x86_64.gbHour", EU)))
    assert monthly(recording, "fn") == pytest.approx(
        requests / 1e6 * price("lambda.requests.million", EU) + gb_seconds * price("lambda.x86_64.gbSecond", EU))
    assert monthly(recording, "api") == pytest.approx(
        DEFAULT_USAGE["apigw.requestsPerMonth"] / 1e6 * price("apigw.http.million", EU))


def test_a_gateway_endpoint_has_no_charge():
    result = estimate(stack(resource("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", {"vpcEndpointType": "Gateway"})))
    assert result.resources == [] and result.unpriced == []


def test_a_resource_of_an_explicit_provider_is_priced_in_that_providers_region():
    key = resource("aws:kms/key:Key", "dr-key", {}, provider=f"{DR_PROVIDER}::dr-id")
    result = estimate(stack(key))
    [cost] = result.resources
    assert cost.region == "eu-central-1"
    assert cost.monthly == pytest.approx(price("kms.keyMonth", "eu-central-1"))
    assert any("no price for kms.requests.10k in eu-central-1" in u.reason for u in result.unpriced)


def test_a_charge_with_no_price_in_the_table_is_reported_unpriced_and_adds_nothing():
    result = estimate(stack(resource("aws:ec2/instance:Instance", "big", {"instanceType": "x9.huge"})))
    assert result.monthly == 0
    assert any("no price for ec2.x9.huge.hour in us-east-1" in u.reason for u in result.unpriced)


def test_types_without_a_charge_of_their_own_are_neither_priced_nor_unpriced():
    result = estimate(stack(resource("aws:ec2/vpc:Vpc", "vpc", {}), resource("aws:iam/role:Role", "role", {})))
    assert result.resources == [] and result.unpriced == []


def test_the_basis_shows_the_arithmetic_with_the_tables_price():
    [cost] = estimate(stack(resource("aws:ec2/instance:Instance", "server", {"instanceType": "t3.micro"}))).resources
    assert f"730 x ${price('ec2.t3.micro.hour')}" in cost.basis


def test_a_usage_file_overrides_an_assumption_for_every_resource(tmp_path: Path):
    usage_file = tmp_path / "usage.yaml"
    usage_file.write_text("natGateway.gbPerMonth: 500\n")
    nat = stack(resource("aws:ec2/natGateway:NatGateway", "nat", {}))
    result = estimate(nat, usage=load_usage(usage_file))
    expected = HOURS * price("natGateway.hour") + 500 * price("natGateway.gb")
    assert result.monthly == pytest.approx(expected)
    assert result.assumptions["natGateway.gbPerMonth"] == 500


def test_a_usage_file_overrides_an_assumption_for_one_resource_by_name(tmp_path: Path):
    usage_file = tmp_path / "usage.json"
    usage_file.write_text('{"resources": {"busy": {"apigw.requestsPerMonth": 30000000}}}')
    apis = stack(resource("aws:apigatewayv2/api:Api", "busy", {"protocolType": "HTTP"}),
                 resource("aws:apigatewayv2/api:Api", "quiet", {"protocolType": "HTTP"}))
    usage = load_usage(usage_file)
    assert monthly(apis, "busy", usage) == pytest.approx(30 * price("apigw.http.million"))
    assert monthly(apis, "quiet", usage) == pytest.approx(1 * price("apigw.http.million"))


def test_a_usage_file_with_an_unknown_key_names_it_and_the_allowed_keys(tmp_path: Path):
    usage_file = tmp_path / "usage.yaml"
    usage_file.write_text("nat.gb: 5\n")
    with pytest.raises(UsageError, match=r"unknown key nat\.gb; allowed: natGateway\.gbPerMonth"):
        load_usage(usage_file)


def test_a_usage_file_with_a_negative_value_names_the_key_and_what_is_allowed(tmp_path: Path):
    usage_file = tmp_path / "usage.yaml"
    usage_file.write_text("resources:\n  fn:\n    lambda.avgDurationMs: -3\n")
    with pytest.raises(UsageError, match=r"resources\.fn\.lambda\.avgDurationMs is -3; allowed: a number >= 0"):
        load_usage(usage_file)


def test_the_dev_stack_total_is_the_sum_of_its_resources(dev_stack):
    result = estimate(dev_stack)
    assert result.monthly == pytest.approx(sum(r.monthly for r in result.resources))
    assert {"network-nat-a", "lb-alb", "fleet-asg", "web-service", "stack-key"} <= {r.name for r in result.resources}


def test_the_prod_stack_prices_its_three_nat_gateways_and_reports_what_eu_central_1_lacks(prod_stack):
    result = estimate(prod_stack)
    nats = [r for r in result.resources if r.type == "aws:ec2/natGateway:NatGateway"]
    assert len(nats) == 3 and all(r.region == EU for r in nats)
    assert not any("no price" in u.reason and f" in {EU}" in u.reason for u in result.unpriced)
    assert any(u.name == "server-dr-key" and "kms.requests.10k in eu-central-1" in u.reason for u in result.unpriced)


def test_the_text_says_how_many_charges_have_no_price_in_the_right_number():
    def unheard(name: str) -> RecordedResource:  # its hours have no price; its root volume has one
        return resource("aws:ec2/instance:Instance", name, {"instanceType": "x9.unheard",
                                                            "rootBlockDevice": {"volumeSize": 8, "volumeType": "gp3"}})
    assert "a lower bound: 1 charge has no price" in estimate(stack(unheard("a"))).text_lines()[0]
    assert "a lower bound: 2 charges have no price" in estimate(stack(unheard("a"), unheard("b"))).text_lines()[0]
