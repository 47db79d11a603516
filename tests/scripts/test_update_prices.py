"""scripts/update_prices.py reads AWS's price list files; here from an excerpt written in their format."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OFFERS = ROOT / "tests" / "fixtures" / "price-list"
spec = importlib.util.spec_from_file_location("update_prices", ROOT / "scripts" / "update_prices.py")
update_prices = importlib.util.module_from_spec(spec)
sys.modules["update_prices"] = update_prices  # dataclasses look their module up there
spec.loader.exec_module(update_prices)


def offer(service: str) -> dict:
    return json.loads((OFFERS / service / "eu-west-1" / "index.json").read_text())


def parsed(service: str) -> dict[str, float]:
    found = update_prices.parse_offer(offer(service), update_prices.SERVICES[service])
    return {key: value.usd for key, value in found.items()}


def test_ec2_linux_on_demand_nat_gateway_and_ebs_prices_are_read_and_other_products_skipped():
    # Windows, an instance type the stacks do not use, the free-tier pseudo-product and the regional NAT
    # gateway are in the excerpt and must not be read.
    assert parsed("AmazonEC2") == {"ec2.t3.micro.hour": 0.0114, "natGateway.hour": 0.048, "natGateway.gb": 0.048,
                                   "ebs.gp3.gbMonth": 0.0123, "ebs.snapshot.gbMonth": 0.0456}


def test_alb_hours_and_lcus_are_read_and_outposts_skipped():
    assert parsed("AWSELB") == {"alb.hour": 0.0252, "alb.lcuHour": 0.0077}


def test_kms_requests_are_scaled_to_the_tables_unit_of_ten_thousand():
    assert parsed("awskms") == pytest.approx({"kms.keyMonth": 1.0, "kms.requests.10k": 0.03})


def test_lambda_duration_by_architecture_and_requests_per_million_skip_the_global_free_tier():
    assert parsed("AWSLambda") == pytest.approx({"lambda.x86_64.gbSecond": 0.0000166667,
                                                 "lambda.arm64.gbSecond": 0.0000133334,
                                                 "lambda.requests.million": 0.2})


def test_fargate_vcpu_and_memory_by_architecture_skip_ephemeral_storage():
    assert parsed("AmazonECS") == {"fargate.x86_64.vcpuHour": 0.0401, "fargate.x86_64.gbHour": 0.0044,
                                   "fargate.arm64.vcpuHour": 0.0321, "fargate.arm64.gbHour": 0.0035}


def test_two_products_giving_one_key_different_prices_is_an_error_not_a_silent_pick():
    document = offer("AWSELB")
    sku = "TESTALBOUTPOSTS1"
    document["products"][sku]["attributes"]["usagetype"] = "EU-LoadBalancerUsage"
    with pytest.raises(ValueError, match=r"alb\.hour: two products give different prices"):
        update_prices.parse_offer(document, update_prices.elb)


def test_an_update_writes_each_price_with_its_offer_file_publication_and_reading_dates(tmp_path: Path):
    table = json.loads((ROOT / "preflight" / "prices" / "aws.json").read_text())
    updated = update_prices.update(table, ("eu-west-1",), OFFERS, "2026-12-02")
    entry = updated["regions"]["eu-west-1"]["alb.lcuHour"]
    source = updated["sources"][entry["source"]]
    assert entry["usd"] == 0.0077
    assert source["url"] == ("https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AWSELB/20261201000000/"
                             "eu-west-1/index.json")
    assert (source["published"], source["read"]) == ("2026-12-01", "2026-12-02")
    assert updated["regions"]["us-east-1"] == table["regions"]["us-east-1"]  # regions not asked for are kept
