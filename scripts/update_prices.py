"""Rebuild preflight/prices/aws.json from AWS's public price list files, where the network allows.

    python scripts/update_prices.py                       # download the offer files, update the table
    python scripts/update_prices.py --offers DIR --dry-run  # read <DIR>/<service>/<region>/index.json instead

Each offer file is https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<service>/current/<region>/index.json
(the Price List Bulk API; no credentials). Its format: ``products`` maps a SKU to ``{sku, productFamily,
attributes}``; ``terms.OnDemand`` maps the SKU to offer terms whose ``priceDimensions`` carry ``unit``,
``beginRange`` and ``pricePerUnit.USD``. Every price written cites its file, the file's ``publicationDate`` and the
day it was read. Prices the files do not give (or rules below do not find) keep their current entry.
Note: AmazonEC2's region files are several hundred MB each.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "preflight" / "prices" / "aws.json"
OFFER_URL = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{service}/current/{region}/index.json"
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1")
# The instance types the project's stacks and config defaults use.
INSTANCE_TYPES = ("t3.micro", "t3a.micro", "t3.small", "t3a.small", "t4g.micro", "t4g.small", "m6i.large")


@dataclass(frozen=True)
class Found:
    key: str
    usd: float
    unit: str


Matcher = Callable[[str, dict[str, str], str, float], "Found | None"]


# Region prefixes of usage types: us-east-1 mostly has none, eu-west-1 the legacy "EU", eu-central-1 "EUC1".
USAGE_PREFIXES = {"USE1", "USE2", "USW1", "USW2", "CAN1", "SAE1", "EU", "EUC1", "EUW2", "EUW3", "EUN1", "EUS1",
                  "APN1", "APN2", "APN3", "APS1", "APS2", "APS3", "APE1", "MES1", "AFS1"}


def _usage(attributes: dict[str, str]) -> str:
    """The usage type without its region prefix."""
    usage = attributes.get("usagetype", "")
    head, _, tail = usage.partition("-")
    return tail if head in USAGE_PREFIXES and tail else usage


def ec2(family: str, attributes: dict[str, str], unit: str, usd: float) -> Found | None:
    usage = _usage(attributes)
    if family == "Compute Instance" and attributes.get("instanceType") in INSTANCE_TYPES and all(
            attributes.get(k, v) == v for k, v in (("operatingSystem", "Linux"), ("tenancy", "Shared"),
                                                   ("preInstalledSw", "NA"), ("capacitystatus", "Used"),
                                                   ("licenseModel", "No License required"),
                                                   ("marketoption", "OnDemand"))) and usage.startswith("BoxUsage:"):
        return Found(f"ec2.{attributes['instanceType']}.hour", usd, "instance-hour (On-Demand, Linux)")
    if family == "NAT Gateway" and usage in ("NatGateway-Hours", "NatGateway-Bytes"):
        return Found("natGateway.hour" if usage.endswith("Hours") else "natGateway.gb", usd,
                     "NAT gateway-hour" if usage.endswith("Hours") else "GB processed")
    if family == "Storage" and usage.startswith("EBS:VolumeUsage") and attributes.get("volumeApiName"):
        return Found(f"ebs.{attributes['volumeApiName']}.gbMonth", usd, "GB-month")
    if family == "Storage Snapshot" and usage == "EBS:SnapshotUsage":
        return Found("ebs.snapshot.gbMonth", usd, "GB-month")
    return None


def elb(family: str, attributes: dict[str, str], unit: str, usd: float) -> Found | None:
    usage = _usage(attributes)
    if family == "Load Balancer-Application" and usage in ("LoadBalancerUsage", "LCUUsage"):
        return Found("alb.hour" if usage == "LoadBalancerUsage" else "alb.lcuHour", usd,
                     "ALB-hour" if usage == "LoadBalancerUsage" else "LCU-hour")
    return None


def kms(family: str, attributes: dict[str, str], unit: str, usd: float) -> Found | None:
    usage = _usage(attributes)
    if usage == "KMS-Keys":
        return Found("kms.keyMonth", usd, "key-month")
    if usage == "KMS-Requests":
        return Found("kms.requests.10k", usd * 10_000, "10,000 requests")
    return None


def lambda_(family: str, attributes: dict[str, str], unit: str, usd: float) -> Found | None:
    if attributes.get("location") == "Any":
        return None
    group = attributes.get("group", "")
    arch = "arm64" if group.endswith("-ARM") else "x86_64"
    if group.startswith("AWS-Lambda-Duration") and group.removesuffix("-ARM") == "AWS-Lambda-Duration":
        return Found(f"lambda.{arch}.gbSecond", usd, "GB-second")
    if group == "AWS-Lambda-Requests":  # the same price for both architectures
        return Found("lambda.requests.million", usd * 1e6, "million requests")
    return None


def ecs(family: str, attributes: dict[str, str], unit: str, usd: float) -> Found | None:
    usage = _usage(attributes)
    names = {"Fargate-vCPU-Hours:perCPU": ("fargate.x86_64.vcpuHour", "vCPU-hour"),
             "Fargate-GB-Hours": ("fargate.x86_64.gbHour", "GB-hour"),
             "Fargate-ARM-vCPU-Hours:perCPU": ("fargate.arm64.vcpuHour", "vCPU-hour"),
             "Fargate-ARM-GB-Hours": ("fargate.arm64.gbHour", "GB-hour")}
    if usage in names:
        key, label = names[usage]
        return Found(key, usd, label)
    return None


SERVICES: dict[str, Matcher] = {"AmazonEC2": ec2, "AWSELB": elb, "awskms": kms, "AWSLambda": lambda_,
                                "AmazonECS": ecs}


def parse_offer(document: dict[str, Any], matcher: Matcher) -> dict[str, Found]:
    """The table's prices in one offer file: the first-tier (beginRange 0) On-Demand price of each product the
    matcher recognises. Two products giving one key with different prices is an error, never a silent pick."""
    found: dict[str, Found] = {}
    on_demand = document.get("terms", {}).get("OnDemand", {})
    for sku, product in document.get("products", {}).items():
        for term in on_demand.get(sku, {}).values():
            for dimension in term.get("priceDimensions", {}).values():
                if str(dimension.get("beginRange", "0")) not in ("0", "0.0"):
                    continue
                usd = float(dimension["pricePerUnit"]["USD"])
                match = matcher(product.get("productFamily", ""), product.get("attributes", {}),
                                dimension.get("unit", ""), usd)
                if match is None:
                    continue
                if match.key in found and found[match.key].usd != match.usd:
                    raise ValueError(f"{match.key}: two products give different prices "
                                     f"({found[match.key].usd} and {match.usd}); the rule must be narrower")
                found[match.key] = match
    return found


def read_offer(service: str, region: str, offers: Path | None) -> tuple[dict[str, Any], str]:
    url = OFFER_URL.format(service=service, region=region)
    if offers is not None:
        return json.loads((offers / service / region / "index.json").read_text()), url
    with urllib.request.urlopen(url, timeout=600) as response:
        return json.load(response), url


def update(table: dict[str, Any], regions: tuple[str, ...], offers: Path | None, today: str) -> dict[str, Any]:
    for region in regions:
        entries = table["regions"].setdefault(region, {})
        for service, matcher in SERVICES.items():
            document, url = read_offer(service, region, offers)
            source = f"offer-{service}-{region}"
            table["sources"][source] = {
                "url": url.replace("/current/", f"/{document.get('version', 'current')}/"),
                "published": str(document.get("publicationDate", ""))[:10], "read": today,
                "how": "the offer file's first-tier On-Demand prices, read by scripts/update_prices.py"}
            for found in parse_offer(document, matcher).values():
                entries[found.key] = {"usd": found.usd, "unit": found.unit, "source": source}
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", nargs="+", default=list(REGIONS))
    parser.add_argument("--offers", type=Path, help="read offer files from DIR/<service>/<region>/index.json")
    parser.add_argument("--table", type=Path, default=TABLE)
    parser.add_argument("--dry-run", action="store_true", help="print the new table instead of writing it")
    args = parser.parse_args(argv)
    table = json.loads(args.table.read_text())
    try:
        updated = update(table, tuple(args.regions), args.offers, datetime.date.today().isoformat())
    except OSError as error:
        print(f"error: could not read a price list file: {error}", file=sys.stderr)
        return 2
    text = json.dumps(updated, indent=2) + "\n"
    if args.dry_run:
        sys.stdout.write(text)
    else:
        args.table.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
