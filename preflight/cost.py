"""The monthly cost of a recorded stack, per resource and in total, from the price table the preflight ships.

Generic over the recording: it reads resource types and their inputs, never the program's own code. Every figure
comes from ``prices/aws.json``, where each price names where it was read and when; a charge with no price there is
reported as unpriced, never guessed. Usage-based charges (requests, GB processed) take the assumptions in
``DEFAULT_USAGE``, which a usage file overrides (``--usage FILE``; see ``load_usage``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .recorder import RecordedResource, Recording
from .relations import Relations

PRICE_TABLE = Path(__file__).resolve().parent / "prices" / "aws.json"

# What usage-based charges assume unless a usage file says otherwise (per month, per resource).
DEFAULT_USAGE: dict[str, float] = {
    "natGateway.gbPerMonth": 10,
    "alb.lcuPerHour": 1,
    "lambda.requestsPerMonth": 1_000_000,
    "lambda.avgDurationMs": 100,
    "apigw.requestsPerMonth": 1_000_000,
    "vpce.gbPerMonth": 1,
    "kms.requestsPerMonth": 100_000,
    "logs.ingestedGbPerMonth": 1,
    "waf.requestsPerMonth": 1_000_000,
    "s3.gbPerMonth": 1,
    "ecr.gbPerMonth": 1,
}
# gp3 includes 3,000 IOPS and 125 MB/s; only provisioned performance above that is billed (EBS pricing page,
# "All gp3 volumes include a free baseline performance of 3,000 provisioned IOPS ... and 125 provisioned MB/s").
GP3_BASELINE_IOPS, GP3_BASELINE_THROUGHPUT = 3000, 125


class UsageError(Exception):
    """A usage file that cannot be read or names a key or value the estimate does not know."""


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str


@dataclass
class PriceTable:
    currency: str
    hours_per_month: float
    prices: dict[str, dict[str, Price]]
    sources: dict[str, dict[str, str]]
    path: Path

    def price(self, region: str, key: str) -> Price | None:
        return self.prices.get(region, {}).get(key)

    def count(self) -> int:
        return sum(len(region) for region in self.prices.values())


def load_prices(path: Path = PRICE_TABLE) -> PriceTable:
    raw = json.loads(path.read_text())
    prices = {region: {key: Price(entry["usd"], entry["unit"], entry["source"]) for key, entry in table.items()}
              for region, table in raw["regions"].items()}
    return PriceTable(raw["currency"], raw["hoursPerMonth"], prices, raw["sources"], path)


def load_usage(path: Path) -> dict[str, Any]:
    """A usage file (YAML or JSON): top-level keys of ``DEFAULT_USAGE`` apply to every resource, and
    ``resources: {<resource name>: {<key>: <value>}}`` to one resource. Values are non-negative numbers."""
    try:
        loaded = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"usage file {path} not found") from None
    except yaml.YAMLError as error:
        raise UsageError(f"usage file {path} is not valid YAML or JSON: {error}") from None
    loaded = loaded or {}
    if not isinstance(loaded, dict):
        raise UsageError(f"usage file {path} must be a mapping of usage keys to numbers")
    per_resource = loaded.pop("resources", {}) or {}
    if not isinstance(per_resource, dict):
        raise UsageError(f"usage file {path}: 'resources' must map resource names to usage keys")
    _check_usage(path, "", loaded)
    for name, values in per_resource.items():
        if not isinstance(values, dict):
            raise UsageError(f"usage file {path}: resources.{name} must map usage keys to numbers")
        _check_usage(path, f"resources.{name}.", values)
    return {**loaded, "resources": per_resource}


def _check_usage(path: Path, prefix: str, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        if key not in DEFAULT_USAGE:
            raise UsageError(f"usage file {path}: unknown key {prefix}{key}; allowed: {', '.join(DEFAULT_USAGE)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise UsageError(f"usage file {path}: {prefix}{key} is {value!r}; allowed: a number >= 0")


@dataclass
class ResourceCost:
    urn: str
    type: str
    name: str
    region: str
    monthly: float
    basis: str

    def as_json(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "name": self.name, "region": self.region,
                "monthly": round(self.monthly, 2), "basis": self.basis}


@dataclass
class Unpriced:
    urn: str
    type: str
    name: str
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"urn": self.urn, "type": self.type, "name": self.name, "reason": self.reason}


@dataclass
class CostEstimate:
    currency: str
    resources: list[ResourceCost]
    unpriced: list[Unpriced]
    assumptions: dict[str, Any]
    price_table: str
    sources: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def monthly(self) -> float:
        return sum(r.monthly for r in self.resources)

    def unpriced_count(self) -> str:
        """"1 charge has" or "N charges have"."""
        count = len(self.unpriced)
        return "1 charge has" if count == 1 else f"{count} charges have"

    def top(self, count: int = 5) -> list[ResourceCost]:
        return sorted(self.resources, key=lambda r: (-r.monthly, r.urn))[:count]

    def text_lines(self, top: int = 5) -> list[str]:
        bound = f", a lower bound: {self.unpriced_count()} no price in the table" if self.unpriced else ""
        lines = [f"Monthly cost estimate: {self.monthly:.2f} {self.currency}{bound} (prices from "
                 f"preflight/prices/{self.price_table}; the JSON document has each resource's arithmetic)"]
        lines += [f"    {r.monthly:9.2f}  {r.name} ({r.type.split(':')[-1]}, {r.region})" for r in self.top(top)]
        order = list(ESTIMATORS)  # the biggest charges first: compute and network before logs and alarms
        names = list(dict.fromkeys(u.name for u in sorted(
            self.unpriced, key=lambda u: (order.index(u.type) if u.type in order else len(order), u.name))))
        if names:
            lines.append(f"    unpriced: {', '.join(names[:8])}" + (f" and {len(names) - 8} more" if len(names) > 8
                                                                     else ""))
        lines.append("    assumptions: " + ", ".join(f"{k}={v}" for k, v in self.assumptions.items()
                                                      if k != "resources"))
        return lines

    def markdown_lines(self, top: int = 10) -> list[str]:
        lines = [f"#### Monthly cost estimate: {self.monthly:.2f} {self.currency}", "",
                 "| Resource | Region | Monthly | Basis |", "|---|---|---|---|"]
        lines += [f"| `{r.name}` ({r.type.split(':')[-1]}) | {r.region} | {r.monthly:.2f} | {r.basis} |"
                  for r in self.top(top)]
        lines += ["", f"{self.unpriced_count()} no price in the table (see the JSON document's "
                  "`cost.unpriced`). Assumptions: " + ", ".join(f"`{k}={v}`" for k, v in self.assumptions.items()
                                                                if k != "resources") + "."]
        return lines

    def as_json(self) -> dict[str, Any]:
        return {"currency": self.currency, "monthly": round(self.monthly, 2),
                "resources": [r.as_json() for r in sorted(self.resources, key=lambda r: r.urn)],
                "unpriced": [u.as_json() for u in sorted(self.unpriced, key=lambda u: (u.urn, u.reason))],
                "assumptions": self.assumptions, "priceTable": self.price_table, "sources": self.sources}


class Bill:
    """The charges of one resource: each is a quantity times a price from the table, or a missing price."""

    def __init__(self, table: PriceTable, region: str):
        self.table, self.region = table, region
        self.monthly = 0.0
        self.parts: list[str] = []
        self.missing: list[str] = []
        self.used_sources: set[str] = set()

    def charge(self, quantity: float, key: str, what: str) -> None:
        if quantity <= 0:
            return
        price = self.table.price(self.region, key)
        if price is None:
            self.missing.append(f"{what}: no price for {key} in {self.region}")
            return
        amount = quantity * price.usd
        self.monthly += amount
        self.used_sources.add(price.source)
        self.parts.append(f"{what} = {_number(quantity)} x ${_number(price.usd)}/{price.unit} = ${amount:.2f}")

    def note_missing(self, reason: str) -> None:
        self.missing.append(reason)


Estimator = Callable[[RecordedResource, Bill, "Context"], None]


@dataclass
class Context:
    relations: Relations
    usage: dict[str, Any]
    hours: float

    def use(self, resource: RecordedResource, key: str) -> float:
        own = self.usage.get("resources", {}).get(resource.name, {})
        return float(own.get(key, self.usage.get(key, DEFAULT_USAGE[key])))


def _number(value: float) -> str:
    return f"{value:,.10f}".rstrip("0").rstrip(".")


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


# --- one function per priced type ------------------------------------------------------------------------------

def nat_gateway(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    bill.charge(ctx.hours, "natGateway.hour", f"{_number(ctx.hours)} NAT gateway-hours")
    gb = ctx.use(resource, "natGateway.gbPerMonth")
    bill.charge(gb, "natGateway.gb", f"{_number(gb)} GB processed (assumed)")


def load_balancer(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    kind = resource.inputs.get("loadBalancerType", "application")
    prefix = {"application": "alb", "network": "nlb", "gateway": "gwlb"}.get(kind, kind)
    bill.charge(ctx.hours, f"{prefix}.hour", f"{_number(ctx.hours)} load balancer-hours")
    lcus = ctx.use(resource, "alb.lcuPerHour") * ctx.hours
    bill.charge(lcus, f"{prefix}.lcuHour", f"{_number(lcus)} LCU-hours (assumed)")


def instance(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    instance_type = resource.inputs.get("instanceType", "?")
    bill.charge(ctx.hours, f"ec2.{instance_type}.hour", f"{_number(ctx.hours)} h of {instance_type} On-Demand")
    root = resource.inputs.get("rootBlockDevice") or {}
    if root.get("volumeSize"):
        _volume_storage(bill, root.get("volumeType", "gp3"), _int(root["volumeSize"]), 0, 0, "root volume ")
    else:
        bill.note_missing("root volume: its size is not in the recorded inputs (the AMI's default)")


def auto_scaling_group(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    inputs = resource.inputs
    desired = _int(inputs.get("desiredCapacity"), _int(inputs.get("minSize")))
    mixed = inputs.get("mixedInstancesPolicy") or {}
    template_spec = (mixed.get("launchTemplate") or {}).get("launchTemplateSpecification") or inputs.get(
        "launchTemplate") or {}
    template = ctx.relations.find(template_spec.get("launchTemplateId") or template_spec.get("id"))
    types = [o.get("instanceType") for o in (mixed.get("launchTemplate") or {}).get("overrides", [])
             if o.get("instanceType")]
    if not types and template is not None and template.inputs.get("instanceType"):
        types = [template.inputs["instanceType"]]
    if not types:
        bill.note_missing("instance type: not found in the group or its launch template")
        return
    distribution = mixed.get("instancesDistribution") or {}
    base = min(desired, _int(distribution.get("onDemandBaseCapacity"), 0))
    share = float(distribution.get("onDemandPercentageAboveBaseCapacity", 100)) / 100 if mixed else 1.0
    on_demand = base + math.ceil((desired - base) * share)
    spot = desired - on_demand
    first = types[0]  # Auto Scaling launches On-Demand capacity in the overrides' order (prioritized strategy)
    bill.charge(on_demand * ctx.hours, f"ec2.{first}.hour",
                f"{on_demand} x {_number(ctx.hours)} h of {first} On-Demand (desired capacity {desired}, "
                f"priced as the first listed type)")
    bill.charge(spot * ctx.hours, f"ec2.{first}.spotHour", f"{spot} x {_number(ctx.hours)} h of {first} Spot")
    for mapping in (template.inputs.get("blockDeviceMappings") or []) if template is not None else []:
        ebs = mapping.get("ebs") or {}
        if ebs.get("volumeSize"):
            _volume_storage(bill, ebs.get("volumeType", "gp2"), desired * _int(ebs["volumeSize"]),
                            0, 0, f"{desired} x {_int(ebs['volumeSize'])} GB volume {mapping.get('deviceName', '')}: ")


def volume(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    inputs = resource.inputs
    size = _int(inputs.get("size")) or _source_volume_size(resource, ctx)
    if not size:
        bill.note_missing("volume size: neither set nor found through its snapshot")
        return
    _volume_storage(bill, inputs.get("type", "gp2"), size, _int(inputs.get("iops")), _int(inputs.get("throughput")))


def _volume_storage(bill: Bill, kind: str, size: int, iops: int, throughput: int, label: str = "") -> None:
    bill.charge(size, f"ebs.{kind}.gbMonth", f"{label}{size} GB-month of {kind}")
    if kind == "gp3":
        bill.charge(iops - GP3_BASELINE_IOPS, "ebs.gp3.iopsMonth", f"{iops - GP3_BASELINE_IOPS} IOPS above 3000")
        bill.charge(throughput - GP3_BASELINE_THROUGHPUT, "ebs.gp3.throughputMonth",
                    f"{throughput - GP3_BASELINE_THROUGHPUT} MB/s above 125")
    elif kind in ("io1", "io2"):
        bill.charge(iops, f"ebs.{kind}.iopsMonth", f"{iops} provisioned IOPS-month")


def _source_volume_size(resource: RecordedResource, ctx: Context) -> int:
    """A volume or snapshot made from a snapshot is as large as the volume that snapshot was taken of."""
    seen = set()
    current: RecordedResource | None = resource
    while current is not None and current.urn not in seen:
        seen.add(current.urn)
        if current is not resource and _int(current.inputs.get("size")):
            return _int(current.inputs["size"])
        source = next((current.inputs.get(k) for k in ("snapshotId", "sourceSnapshotId", "volumeId")
                       if current.inputs.get(k)), None)
        current = ctx.relations.find(source)
    return 0


def snapshot(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    size = _source_volume_size(resource, ctx)
    bill.charge(size, "ebs.snapshot.gbMonth", f"{size} GB-month (a full first snapshot of the source volume)")


def kms_key(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    bill.charge(1, "kms.keyMonth", "1 key-month (a rotated key adds one more a year)")
    requests = ctx.use(resource, "kms.requestsPerMonth")
    bill.charge(requests / 10_000, "kms.requests.10k", f"{_number(requests)} requests (assumed)")


def lambda_function(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    architecture = (resource.inputs.get("architectures") or ["x86_64"])[0]
    memory_gb = _int(resource.inputs.get("memorySize"), 128) / 1024
    requests = ctx.use(resource, "lambda.requestsPerMonth")
    seconds = ctx.use(resource, "lambda.avgDurationMs") / 1000
    bill.charge(requests / 1e6, "lambda.requests.million", f"{_number(requests)} requests (assumed)")
    gb_seconds = requests * seconds * memory_gb
    bill.charge(gb_seconds, f"lambda.{architecture}.gbSecond",
                f"{_number(gb_seconds)} GB-s ({_number(memory_gb * 1024)} MB x {_number(seconds)} s x requests, "
                f"{architecture})")


def http_api(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    protocol = str(resource.inputs.get("protocolType", "HTTP")).lower()
    requests = ctx.use(resource, "apigw.requestsPerMonth")
    bill.charge(requests / 1e6, f"apigw.{protocol}.million", f"{_number(requests)} requests (assumed)")


def fargate_service(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    inputs = resource.inputs
    strategies = inputs.get("capacityProviderStrategies") or []
    if inputs.get("launchType", "FARGATE" if strategies else "EC2") != "FARGATE" and not strategies:
        return  # EC2 launch type: the instances are billed, not the service
    task = ctx.relations.find(inputs.get("taskDefinition"))
    if task is None:
        bill.note_missing("task size: its task definition is not in the recording")
        return
    desired = _int(inputs.get("desiredCount"), 1)
    regular, spot = _fargate_split(desired, strategies)
    vcpu = _int(task.inputs.get("cpu"), 256) / 1024
    memory = _int(task.inputs.get("memory"), 512) / 1024
    arch = "arm64" if str((task.inputs.get("runtimePlatform") or {}).get("cpuArchitecture", "")).upper() == "ARM64" \
        else "x86_64"
    for count, kind, label in ((regular, "", "FARGATE"), (spot, "spot.", "FARGATE_SPOT")):
        task_hours = count * ctx.hours
        bill.charge(task_hours * vcpu, f"fargate.{arch}.{kind}vcpuHour",
                    f"{count} {label} task(s) x {_number(ctx.hours)} h x {_number(vcpu)} vCPU ({arch})")
        bill.charge(task_hours * memory, f"fargate.{arch}.{kind}gbHour",
                    f"{count} {label} task(s) x {_number(ctx.hours)} h x {_number(memory)} GB")


def _fargate_split(desired: int, strategies: list[dict[str, Any]]) -> tuple[int, int]:
    """Tasks on FARGATE and on FARGATE_SPOT: each provider's base first, the rest by weight."""
    if not strategies:
        return desired, 0
    bases = {s.get("capacityProvider"): _int(s.get("base")) for s in strategies}
    weights = {s.get("capacityProvider"): _int(s.get("weight")) for s in strategies}
    regular = min(desired, bases.get("FARGATE", 0))
    spot = min(desired - regular, bases.get("FARGATE_SPOT", 0))
    rest = desired - regular - spot
    total = sum(weights.values()) or 1
    spot_share = math.floor(rest * weights.get("FARGATE_SPOT", 0) / total)
    return regular + rest - spot_share, spot + spot_share


def vpc_endpoint(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    if resource.inputs.get("vpcEndpointType", "Gateway") != "Interface":
        return  # gateway endpoints (S3, DynamoDB) have no charge
    zones = max(1, len(resource.inputs.get("subnetIds") or []))
    bill.charge(zones * ctx.hours, "vpce.interface.hour", f"{zones} AZ(s) x {_number(ctx.hours)} endpoint-hours")
    gb = ctx.use(resource, "vpce.gbPerMonth")
    bill.charge(gb, "vpce.interface.gb", f"{_number(gb)} GB processed (assumed)")


def log_group(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    gb = ctx.use(resource, "logs.ingestedGbPerMonth")
    bill.charge(gb, "logs.ingestGb", f"{_number(gb)} GB ingested (assumed)")
    bill.charge(gb, "logs.storageGbMonth", f"{_number(gb)} GB-month stored (assumed)")


def metric_alarm(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    bill.charge(1, "cloudwatch.alarmMonth", "1 standard-resolution alarm-month")


def web_acl(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    bill.charge(1, "waf.webAclMonth", "1 web ACL-month")
    rules = len(resource.inputs.get("rules") or [])
    bill.charge(rules, "waf.ruleMonth", f"{rules} rule-month(s)")
    requests = ctx.use(resource, "waf.requestsPerMonth")
    bill.charge(requests / 1e6, "waf.requests.million", f"{_number(requests)} requests (assumed)")


def elastic_ip(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    bill.charge(ctx.hours, "vpc.publicIpv4.hour", f"{_number(ctx.hours)} public IPv4 address-hours")


def bucket(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    gb = ctx.use(resource, "s3.gbPerMonth")
    bill.charge(gb, "s3.standard.gbMonth", f"{_number(gb)} GB-month stored (assumed)")


def container_repository(resource: RecordedResource, bill: Bill, ctx: Context) -> None:
    gb = ctx.use(resource, "ecr.gbPerMonth")
    bill.charge(gb, "ecr.storage.gbMonth", f"{_number(gb)} GB-month of images stored (assumed)")


# Types that carry a charge of their own. Every other type (VPC, subnets, routes, security groups, IAM, ...) has
# none, or is billed through the resource it configures.
ESTIMATORS: dict[str, Estimator] = {
    "aws:ec2/natGateway:NatGateway": nat_gateway,
    "aws:lb/loadBalancer:LoadBalancer": load_balancer,
    "aws:alb/loadBalancer:LoadBalancer": load_balancer,
    "aws:ec2/instance:Instance": instance,
    "aws:autoscaling/group:Group": auto_scaling_group,
    "aws:ebs/volume:Volume": volume,
    "aws:ebs/snapshot:Snapshot": snapshot,
    "aws:ebs/snapshotCopy:SnapshotCopy": snapshot,
    "aws:kms/key:Key": kms_key,
    "aws:lambda/function:Function": lambda_function,
    "aws:apigatewayv2/api:Api": http_api,
    "aws:ecs/service:Service": fargate_service,
    "aws:ec2/vpcEndpoint:VpcEndpoint": vpc_endpoint,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": metric_alarm,
    "aws:wafv2/webAcl:WebAcl": web_acl,
    "aws:ec2/eip:Eip": elastic_ip,
    "aws:s3/bucket:Bucket": bucket,
    "aws:s3/bucketV2:BucketV2": bucket,
    "aws:ecr/repository:Repository": container_repository,
}


def estimate(recording: Recording, table: PriceTable | None = None,
             usage: Mapping[str, Any] | None = None) -> CostEstimate:
    """Each resource's monthly cost with the arithmetic that gives it, the charges with no price, the total."""
    table = table or load_prices()
    usage = dict(usage or {})
    relations = Relations(recording)
    ctx = Context(relations, usage, table.hours_per_month)
    stack_region = _stack_region(recording)
    costs, unpriced, used = [], [], set()
    for resource in recording.resources:
        estimator = ESTIMATORS.get(resource.type)
        if estimator is None:
            continue
        region = relations.region_of(resource, stack_region)
        bill = Bill(table, region)
        estimator(resource, bill, ctx)
        used |= bill.used_sources
        if bill.parts:
            costs.append(ResourceCost(resource.urn, resource.type, resource.name, region, bill.monthly,
                                      "; ".join(bill.parts)))
        unpriced += [Unpriced(resource.urn, resource.type, resource.name, reason) for reason in bill.missing]
    assumptions = {**DEFAULT_USAGE, **{k: v for k, v in usage.items() if k != "resources"},
                   "hoursPerMonth": table.hours_per_month, "purchaseOption": "On-Demand unless the resource says Spot",
                   "freeTiers": "not deducted"}
    if usage.get("resources"):
        assumptions["resources"] = usage["resources"]
    return CostEstimate(table.currency, costs, unpriced, assumptions, str(table.path.name),
                        {key: table.sources[key] for key in sorted(used)})


def _stack_region(recording: Recording) -> str:
    for resource in recording.resources:
        if resource.type == "pulumi:providers:aws" and resource.name.startswith("default"):
            return str(resource.inputs.get("region", ""))
    return ""


def main(argv: list[str] | None = None) -> int:
    """``python -m preflight.cost dev prod``: each stack's monthly cost with its assumptions (``make preflight``)."""
    import argparse
    import sys

    from .recorder import ProgramError, run_program
    from .stackfiles import StackFileError, read_stack_files

    parser = argparse.ArgumentParser(prog="python -m preflight.cost", description=main.__doc__)
    parser.add_argument("stacks", nargs="+")
    parser.add_argument("--project-dir", type=Path, default=Path.cwd())
    parser.add_argument("--usage", type=Path)
    args = parser.parse_args(argv)
    try:
        usage = load_usage(args.usage) if args.usage else None
        for stack in args.stacks:
            files = read_stack_files(args.project_dir.resolve(), stack)
            recording = run_program(files.project_dir, files.project, stack, files.config, files.secret_keys,
                                    files.main)
            print(f"{stack}: " + "\n".join(estimate(recording, usage=usage).text_lines()))
    except (UsageError, StackFileError, ProgramError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    from .cli import exit_without_teardown

    exit_without_teardown(main())
