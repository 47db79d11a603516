"""Offline answers to the data sources (invokes) programs call: deterministic, realistic values for the stack's
region under the documentation account 123456789012, consistent with each other within one run (the default
VPC's subnets are in that VPC, a looked-up subnet keeps its zone), plus the answers a user gives in a file.

``iam.get_policy_document`` is computed for real (policy_document.py). An invoke with no answer is an error that
names its token, the program's line that made it and how to give an answer: ``--invoke-answers FILE.json``.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .fakes import ACCOUNT_ID, DEFAULT_AZ_LETTERS, PARTITION, REGION_AZS, SECRET_SIG, SIG_KEY, short_hash
from .jsonfile import read_json
from .policy_document import PolicyDocumentError, policy_document

DEFAULT_VPC_CIDR = "172.31.0.0/16"
"""Every default VPC has this block, with one /20 default subnet per Availability Zone (AWS VPC User Guide,
"Default VPCs")."""

# The Elastic Load Balancing account of each region that has one, as AWS publishes them for access-log bucket
# policies ("Enable access logs for your Classic Load Balancer"); regions opened since ap-southeast-3 use the
# service principal logdelivery.elasticloadbalancing.amazonaws.com instead, and the provider refuses them.
ELB_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-south-1": "718504428378", "ap-northeast-1": "582318560864", "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ca-central-1": "985666609251", "eu-central-1": "054676820928", "eu-west-1": "156460612806",
    "eu-west-2": "652711504416", "eu-west-3": "009996457667", "eu-south-1": "635631232127",
    "eu-north-1": "897822967062", "me-south-1": "076674570225", "sa-east-1": "507241528517",
}
IMAGE_DATE = "2026-01-01T00:00:00.000Z"


class UnansweredInvoke(Exception):
    """A data source the preflight cannot answer offline."""

    def __init__(self, token: str, site: str = "", reason: str = ""):
        where = f" (called at {site})" if site else ""
        why = f": {reason}" if reason else ""
        super().__init__(
            f"the preflight has no offline answer for the invoke '{token}'{where}{why}; give one with "
            f"--invoke-answers FILE.json, a JSON object mapping the token to its result, e.g. "
            f'{{"{token}": {{...}}}}, or to a list of {{"args": {{...}}, "result": {{...}}}} matched by arguments')
        self.token, self.site, self.reason = token, site, reason


class InvokeAnswersError(Exception):
    """The --invoke-answers file is missing or malformed."""


def azs_of(region: str) -> list[str]:
    return REGION_AZS.get(region, [f"{region}{letter}" for letter in DEFAULT_AZ_LETTERS])


def zone_id(region: str, index: int) -> str:
    parts = region.split("-")
    return f"{parts[0]}{parts[1][:1]}{parts[-1]}-az{index + 1}"


def _filter(args: Mapping[str, Any], name: str) -> list[Any]:
    """The values of the EC2 API filter ``name`` among the invoke's ``filters``."""
    for entry in args.get("filters") or []:
        if isinstance(entry, Mapping) and entry.get("name") == name:
            return list(entry.get("values") or [])
    return []


@dataclass
class OfflineCloud:
    """The built-in answers, for one run in one region. Remembers the VPCs and subnets it answered so that later
    look-ups of them agree."""

    region: str
    vpcs: dict[str, dict[str, Any]] = field(default_factory=dict)
    subnets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def answer(self, token: str, args: Mapping[str, Any]) -> dict[str, Any]:
        handler = ANSWERS.get(token)
        if handler is None:
            raise UnansweredInvoke(token)
        return handler(self, args)

    # --- account and region -----------------------------------------------------------------------------
    def caller_identity(self, args: Mapping[str, Any]) -> dict[str, Any]:
        return {"accountId": ACCOUNT_ID, "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/preflight",
                "userId": "AIDAPREFLIGHT00000000", "id": ACCOUNT_ID}

    def region_info(self, args: Mapping[str, Any]) -> dict[str, Any]:
        region = args.get("region") or args.get("name") or self.region
        return {"name": region, "region": region, "endpoint": f"ec2.{region}.amazonaws.com", "id": region,
                "description": region}

    def partition(self, args: Mapping[str, Any]) -> dict[str, Any]:
        return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws",
                "id": PARTITION}

    def availability_zones(self, args: Mapping[str, Any]) -> dict[str, Any]:
        region = args.get("region") or self.region
        names = azs_of(region)
        excluded = set(args.get("excludeNames") or [])
        kept = [(i, n) for i, n in enumerate(names) if n not in excluded]
        return {**_echo(args, "allAvailabilityZones", "excludeNames", "excludeZoneIds", "filters", "state"),
                "names": [n for _, n in kept], "zoneIds": [zone_id(region, i) for i, _ in kept],
                "groupNames": [region for _ in kept], "id": region, "region": region}

    # --- VPC, subnets, security groups ------------------------------------------------------------------
    def default_vpc_id(self) -> str:
        return "vpc-" + short_hash("default-vpc", self.region)

    def vpc(self, args: Mapping[str, Any]) -> dict[str, Any]:
        default = bool(args.get("default")) or _filter(args, "is-default") in (["true"], [True])
        vpc_id = args.get("id") or (_filter(args, "vpc-id") or [None])[0]
        if default or vpc_id == self.default_vpc_id():
            vpc_id, cidr, default = self.default_vpc_id(), DEFAULT_VPC_CIDR, True
        else:
            vpc_id = vpc_id or "vpc-" + short_hash("vpc", self.region, json.dumps(dict(args), sort_keys=True))
            cidr = args.get("cidrBlock") or (_filter(args, "cidr") or ["10.0.0.0/16"])[0]
        if vpc_id in self.vpcs:
            return self.vpcs[vpc_id]
        digest = short_hash(vpc_id)
        answer = {**_echo(args, "filters"), "id": vpc_id,
                  "arn": f"arn:{PARTITION}:ec2:{self.region}:{ACCOUNT_ID}:vpc/{vpc_id}",
                  "cidrBlock": cidr, "default": default, "state": "available",
                  "cidrBlockAssociations": [{"associationId": f"vpc-cidr-assoc-{digest}", "cidrBlock": cidr,
                                             "state": "associated"}],
                  "dhcpOptionsId": f"dopt-{digest}", "enableDnsHostnames": default, "enableDnsSupport": True,
                  "enableNetworkAddressUsageMetrics": False, "instanceTenancy": "default",
                  "ipv6AssociationId": "", "ipv6CidrBlock": "", "ipv6CidrBlockAssociations": [],
                  "mainRouteTableId": f"rtb-{short_hash('main', vpc_id)}", "ownerId": ACCOUNT_ID,
                  "region": self.region, "tags": args.get("tags") or {}}
        self.vpcs[vpc_id] = answer
        return answer

    def subnets_of(self, vpc_id: str) -> list[dict[str, Any]]:
        """One subnet per zone: the default VPC's /20 default subnets, or /24s of another VPC's block."""
        known = [s for s in self.subnets.values() if s["vpcId"] == vpc_id]
        if known:
            return known
        default = vpc_id == self.default_vpc_id()
        zones = azs_of(self.region) if default else azs_of(self.region)[:3]
        base = "172.31" if default else "10.0"
        for index, zone in enumerate(zones):
            subnet_id = "subnet-" + short_hash("subnet", vpc_id, zone)
            cidr = f"{base}.{index * 16}.0/20" if default else f"{base}.{index}.0/24"
            self.subnets[subnet_id] = self._subnet(subnet_id, vpc_id, zone, index, cidr, default)
        return [s for s in self.subnets.values() if s["vpcId"] == vpc_id]

    def _subnet(self, subnet_id: str, vpc_id: str, zone: str, index: int, cidr: str, default: bool) -> dict[str, Any]:
        return {"id": subnet_id, "arn": f"arn:{PARTITION}:ec2:{self.region}:{ACCOUNT_ID}:subnet/{subnet_id}",
                "vpcId": vpc_id, "availabilityZone": zone, "availabilityZoneId": zone_id(self.region, index),
                "cidrBlock": cidr, "defaultForAz": default, "mapPublicIpOnLaunch": default, "state": "available",
                "availableIpAddressCount": 4091 if cidr.endswith("/20") else 251, "ownerId": ACCOUNT_ID,
                "assignIpv6AddressOnCreation": False, "customerOwnedIpv4Pool": "", "enableDns64": False,
                "enableLniAtDeviceIndex": 0, "enableResourceNameDnsARecordOnLaunch": False,
                "enableResourceNameDnsAaaaRecordOnLaunch": False, "ipv6CidrBlock": "",
                "ipv6CidrBlockAssociationId": "", "ipv6Native": False, "mapCustomerOwnedIpOnLaunch": False,
                "outpostArn": "", "privateDnsHostnameTypeOnLaunch": "ip-name", "region": self.region, "tags": {}}

    def _vpc_of_lookup(self, args: Mapping[str, Any]) -> str:
        vpc_ids = _filter(args, "vpc-id")
        if vpc_ids:
            return str(vpc_ids[0])
        if args.get("vpcId"):
            return str(args["vpcId"])
        if _filter(args, "default-for-az") or not (args.get("filters") or args.get("tags")):
            return self.default_vpc_id()
        return self.vpc({"tags": args.get("tags"), "filters": args.get("filters")})["id"]

    def subnet_ids(self, args: Mapping[str, Any]) -> dict[str, Any]:
        subnets = self.subnets_of(self._vpc_of_lookup(args))
        zones = _filter(args, "availability-zone")
        ids = [s["id"] for s in subnets if not zones or s["availabilityZone"] in zones]
        return {**_echo(args, "filters", "tags"), "id": self.region, "ids": ids, "region": self.region}

    def subnet(self, args: Mapping[str, Any]) -> dict[str, Any]:
        subnet_id = args.get("id") or (_filter(args, "subnet-id") or [None])[0]
        if subnet_id in self.subnets:
            return {**self.subnets[subnet_id], **_echo(args, "filters")}
        candidates = self.subnets_of(self._vpc_of_lookup(args))
        zone = args.get("availabilityZone") or (_filter(args, "availability-zone") or [None])[0]
        match = next((s for s in candidates if s["availabilityZone"] == zone), candidates[0]) if not subnet_id \
            else None
        if match is None:  # a subnet the program names by an ID this run never answered: place it in a zone
            index = int(short_hash(str(subnet_id)), 16) % len(azs_of(self.region))
            match = self._subnet(str(subnet_id), self.default_vpc_id(), azs_of(self.region)[index], index,
                                 f"10.0.{index}.0/24", False)
            self.subnets[match["id"]] = match
        return {**match, **_echo(args, "filters")}

    def security_group(self, args: Mapping[str, Any]) -> dict[str, Any]:
        name = args.get("name") or (_filter(args, "group-name") or [None])[0]
        vpc_id = args.get("vpcId") or (_filter(args, "vpc-id") or [None])[0] or self.default_vpc_id()
        group_id = args.get("id") or (_filter(args, "group-id") or [None])[0] or \
            "sg-" + short_hash("sg", vpc_id, str(name), json.dumps(args.get("tags") or {}, sort_keys=True))
        name = name or f"preflight-{short_hash(group_id, length=7)}"
        return {**_echo(args, "filters"), "id": group_id, "name": name, "vpcId": vpc_id,
                "arn": f"arn:{PARTITION}:ec2:{self.region}:{ACCOUNT_ID}:security-group/{group_id}",
                "description": "default VPC security group" if name == "default" else f"{name} security group",
                "region": self.region, "tags": args.get("tags") or {}}

    # --- images and parameters --------------------------------------------------------------------------
    def ami(self, args: Mapping[str, Any]) -> dict[str, Any]:
        key = json.dumps({k: v for k, v in args.items() if k != "region"}, sort_keys=True, default=str)
        image_id = "ami-0" + short_hash("ami", self.region, key, length=16)
        pattern = str((_filter(args, "name") or [args.get("nameRegex") or "preflight-image-*"])[0])
        name = pattern.replace("*", "20260101").replace("?", "0").replace("^", "").replace("$", "")
        architecture = str((_filter(args, "architecture") or ["arm64" if "arm64" in name or "aarch64" in name
                                                              else "x86_64"])[0])
        owners = [str(o) for o in args.get("owners") or []]
        # An owner alias (amazon, aws-marketplace) stands for AWS's own account, which we do not write down.
        owner = next((o for o in owners if o.isdigit()), ACCOUNT_ID)
        alias = next((o for o in owners if not o.isdigit() and o != "self"), "")
        return {**_echo(args, "allowUnsafeFilter", "executableUsers", "filters", "includeDeprecated", "mostRecent",
                        "nameRegex", "owners", "uefiData"),
                "id": image_id, "imageId": image_id, "name": name, "architecture": architecture,
                "arn": f"arn:{PARTITION}:ec2:{self.region}::image/{image_id}", "ownerId": owner,
                "imageOwnerAlias": alias, "imageLocation": f"{alias or owner}/{name}", "imageType": "machine",
                "description": name, "creationDate": IMAGE_DATE, "deprecationTime": "", "lastLaunchedTime": "",
                "state": "available", "stateReason": {"code": "UNSET", "message": "UNSET"}, "public": bool(alias),
                "rootDeviceName": "/dev/xvda", "rootDeviceType": "ebs", "rootSnapshotId": "snap-" + image_id[4:],
                "virtualizationType": "hvm", "hypervisor": "xen", "enaSupport": True, "sriovNetSupport": "simple",
                "bootMode": "uefi-preferred", "imdsSupport": "v2.0", "tpmSupport": "", "kernelId": "",
                "ramdiskId": "", "platform": "", "platformDetails": "Linux/UNIX", "usageOperation": "RunInstances",
                "productCodes": [], "region": self.region, "tags": args.get("tags") or {},
                "blockDeviceMappings": [{"deviceName": "/dev/xvda", "noDevice": "", "virtualName": "",
                                         "ebs": {"delete_on_termination": "true", "encrypted": "false",
                                                 "iops": "3000", "snapshot_id": "snap-" + image_id[4:],
                                                 "throughput": "125", "volume_size": "8", "volume_type": "gp3"}}]}

    def ami_ids(self, args: Mapping[str, Any]) -> dict[str, Any]:
        first = self.ami(args)["id"]
        second = "ami-0" + short_hash("ami-previous", first, length=16)
        return {**_echo(args, "executableUsers", "filters", "includeDeprecated", "nameRegex", "owners",
                        "sortAscending"),
                "id": self.region, "ids": [second, first] if args.get("sortAscending") else [first, second],
                "region": self.region}

    def parameter(self, args: Mapping[str, Any]) -> dict[str, Any]:
        name = str(args.get("name", ""))
        # Public AMI parameters (/aws/service/ami-amazon-linux-latest/..., .../canonical/ubuntu/...) hold an image ID.
        value = "ami-0" + short_hash(name, self.region, length=16) if "ami" in name.lower() or "image" in name \
            else "preflight-" + short_hash("parameter", name, length=16)
        return {"name": name, "type": "String", "value": value, "insecureValue": value, "id": name,
                "arn": f"arn:{PARTITION}:ssm:{self.region}:{ACCOUNT_ID}:parameter{'' if name.startswith('/') else '/'}"
                       f"{name}",
                "version": 1, "withDecryption": args.get("withDecryption", True), "region": self.region}

    # --- DNS, certificates, registries, load balancer logs, keys ----------------------------------------
    def zone(self, args: Mapping[str, Any]) -> dict[str, Any]:
        given_id = args.get("zoneId")
        name = str(args.get("name") or f"zone-{short_hash(str(given_id), length=7)}.example.com").rstrip(".")
        zone = given_id or "Z" + short_hash("zone", name, str(bool(args.get("privateZone"))), length=20).upper()
        servers = [f"ns-{int(short_hash(name, str(i), length=4), 16) % 2048}.awsdns-{i:02d}.{tld}"
                   for i, tld in enumerate(("com", "net", "org", "co.uk"))]
        return {**_echo(args, "enableAcceleratedRecovery"), "id": zone, "zoneId": zone, "name": name,
                "arn": f"arn:{PARTITION}:route53:::hostedzone/{zone}", "callerReference": short_hash(zone),
                "comment": "", "linkedServiceDescription": "", "linkedServicePrincipal": "",
                "nameServers": servers, "primaryNameServer": servers[0],
                "privateZone": bool(args.get("privateZone")), "resourceRecordSetCount": 2,
                "tags": args.get("tags") or {}, "vpcId": args.get("vpcId") or ""}

    def certificate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        domain = str(args.get("domain") or "")
        certificate_id = str(uuid.UUID(short_hash("certificate", self.region, domain, length=32)))
        return {**_echo(args, "keyTypes", "mostRecent", "statuses", "types"),
                "id": domain, "domain": domain, "status": "ISSUED",
                "arn": f"arn:{PARTITION}:acm:{self.region}:{ACCOUNT_ID}:certificate/{certificate_id}",
                "certificate": _placeholder_pem(domain), "certificateChain": _placeholder_pem("chain"),
                "region": self.region, "tags": args.get("tags") or {}}

    def ecr_token(self, args: Mapping[str, Any]) -> dict[str, Any]:
        registry = str(args.get("registryId") or ACCOUNT_ID)
        password = "preflight-" + short_hash(registry, self.region, length=16)
        token = base64.b64encode(f"AWS:{password}".encode()).decode()
        # The provider marks the token and the password secret; so does the engine's answer.
        return {"id": self.region, "userName": "AWS", "password": secret(password),
                "authorizationToken": secret(token), "registryId": registry, "region": self.region,
                "proxyEndpoint": f"https://{registry}.dkr.ecr.{self.region}.amazonaws.com",
                "expiresAt": "2030-01-01T00:00:00Z"}

    def elb_service_account(self, args: Mapping[str, Any]) -> dict[str, Any]:
        region = args.get("region") or self.region
        account = ELB_ACCOUNTS.get(region)
        if account is None:
            raise UnansweredInvoke("aws:elb/getServiceAccount:getServiceAccount",
                                   reason=f"{region} has no Elastic Load Balancing account (regions opened since "
                                          f"ap-southeast-3 use the service principal "
                                          f"logdelivery.elasticloadbalancing.amazonaws.com)")
        return {"id": account, "arn": f"arn:{PARTITION}:iam::{account}:root", "region": region}

    def kms_key(self, args: Mapping[str, Any]) -> dict[str, Any]:
        given = str(args.get("keyId") or "")
        alias = given.split(":", 5)[-1] if given.startswith("arn:") and ":alias/" in given else given
        managed_by_aws = alias.startswith("alias/aws/")
        key_id = given.rsplit("/", 1)[-1] if given.startswith("arn:") and ":key/" in given else \
            given if given and not given.startswith("alias/") else _key_id(alias)
        return {**_echo(args, "grantTokens"), "id": key_id, "keyId": key_id,
                "arn": f"arn:{PARTITION}:kms:{self.region}:{ACCOUNT_ID}:key/{key_id}",
                "awsAccountId": ACCOUNT_ID, "keyManager": "AWS" if managed_by_aws else "CUSTOMER",
                "keyState": "Enabled", "enabled": True, "keyUsage": "ENCRYPT_DECRYPT",
                "keySpec": "SYMMETRIC_DEFAULT", "customerMasterKeySpec": "SYMMETRIC_DEFAULT", "origin": "AWS_KMS",
                "description": f"Default key that protects my {alias.split('/')[-1]} data" if managed_by_aws
                else "", "creationDate": IMAGE_DATE, "deletionDate": "", "validTo": "", "expirationModel": "",
                "cloudHsmClusterId": "", "customKeyStoreId": "", "multiRegion": False,
                "multiRegionConfigurations": [], "pendingDeletionWindowInDays": 0, "xksKeyConfigurations": [],
                "region": self.region}

    def kms_alias(self, args: Mapping[str, Any]) -> dict[str, Any]:
        name = str(args.get("name") or "")
        key_id = _key_id(name)
        arn = f"arn:{PARTITION}:kms:{self.region}:{ACCOUNT_ID}:{name}"
        return {"id": arn, "arn": arn, "name": name, "targetKeyId": key_id,
                "targetKeyArn": f"arn:{PARTITION}:kms:{self.region}:{ACCOUNT_ID}:key/{key_id}", "region": self.region}

    def iam_policy_document(self, args: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return policy_document(args)
        except PolicyDocumentError as error:
            raise InvokeArgumentError("aws:iam/getPolicyDocument:getPolicyDocument", str(error)) from None


class InvokeArgumentError(Exception):
    """Arguments the provider itself would refuse."""

    def __init__(self, token: str, message: str):
        super().__init__(f"invoke '{token}': {message}")
        self.token = token


def secret(value: Any) -> dict[str, Any]:
    """A value the engine sends back marked secret."""
    return {SIG_KEY: SECRET_SIG, "value": value}


def _key_id(alias: str) -> str:
    digest = short_hash("kms-alias", alias, length=32)
    return str(uuid.UUID(digest))


def _placeholder_pem(subject: str) -> str:
    body = base64.b64encode(f"preflight placeholder certificate for {subject}".encode()).decode()
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def _echo(args: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """Arguments the result repeats, as the provider's data sources do."""
    return {key: args[key] for key in keys if args.get(key) is not None}


ANSWERS: dict[str, Callable[[OfflineCloud, Mapping[str, Any]], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": OfflineCloud.caller_identity,
    "aws:index/getRegion:getRegion": OfflineCloud.region_info,
    "aws:index/getPartition:getPartition": OfflineCloud.partition,
    "aws:index/getAvailabilityZones:getAvailabilityZones": OfflineCloud.availability_zones,
    "aws:ec2/getVpc:getVpc": OfflineCloud.vpc,
    "aws:ec2/getSubnets:getSubnets": OfflineCloud.subnet_ids,
    "aws:ec2/getSubnet:getSubnet": OfflineCloud.subnet,
    "aws:ec2/getSecurityGroup:getSecurityGroup": OfflineCloud.security_group,
    "aws:ec2/getAmi:getAmi": OfflineCloud.ami,
    "aws:ec2/getAmiIds:getAmiIds": OfflineCloud.ami_ids,
    "aws:ssm/getParameter:getParameter": OfflineCloud.parameter,
    "aws:route53/getZone:getZone": OfflineCloud.zone,
    "aws:acm/getCertificate:getCertificate": OfflineCloud.certificate,
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": OfflineCloud.ecr_token,
    "aws:ecr/getCredentials:getCredentials": OfflineCloud.ecr_token,
    "aws:elb/getServiceAccount:getServiceAccount": OfflineCloud.elb_service_account,
    "aws:kms/getKey:getKey": OfflineCloud.kms_key,
    "aws:kms/getAlias:getAlias": OfflineCloud.kms_alias,
    "aws:iam/getPolicyDocument:getPolicyDocument": OfflineCloud.iam_policy_document,
}


# --- Answers the user gives -------------------------------------------------------------------------------

@dataclass(frozen=True)
class GivenAnswer:
    args: Mapping[str, Any] | None
    """The arguments an invoke must have (a subset of its arguments) to get this result; None matches any."""
    result: Mapping[str, Any]


def load_invoke_answers(path: Path) -> dict[str, list[GivenAnswer]]:
    """``--invoke-answers FILE.json``: ``{token: result}`` or ``{token: [{"args": {...}, "result": {...}}, ...]}``."""
    document = read_json(path, "invoke answers", InvokeAnswersError)
    if not isinstance(document, dict):
        raise InvokeAnswersError(f"invoke answers {path}: expected an object mapping invoke tokens to results, "
                                 f"got {type(document).__name__}")
    answers: dict[str, list[GivenAnswer]] = {}
    for token, entry in document.items():
        if token.count(":") != 2:
            raise InvokeAnswersError(f"invoke answers {path}: '{token}' is not an invoke token; allowed: "
                                     f"package:module/function:function, e.g. aws:ec2/getVpc:getVpc")
        answers[token] = _given(path, token, entry)
    return answers


def _given(path: Path, token: str, entry: Any) -> list[GivenAnswer]:
    if isinstance(entry, dict):
        return [GivenAnswer(None, entry)]
    if not isinstance(entry, list):
        raise InvokeAnswersError(f"invoke answers {path}: {token}: expected a result object or a list of "
                                 f"{{\"args\": {{...}}, \"result\": {{...}}}}, got {entry!r}")
    given = []
    for index, item in enumerate(entry):
        if not (isinstance(item, dict) and isinstance(item.get("result"), dict) and
                isinstance(item.get("args", {}), dict) and set(item) <= {"args", "result"}):
            raise InvokeAnswersError(f"invoke answers {path}: {token}[{index}]: expected "
                                     f"{{\"args\": {{...}}, \"result\": {{...}}}} (args optional), got {item!r}")
        given.append(GivenAnswer(item.get("args"), item["result"]))
    return given


def matching_answer(given: list[GivenAnswer], args: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The first given result whose ``args`` all equal the invoke's."""
    for answer in given:
        if answer.args is None or all(_same(args.get(k), v) for k, v in answer.args.items()):
            return answer.result
    return None


def _same(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, float) and actual.is_integer() and isinstance(wanted, int):
        return int(actual) == wanted  # numbers arrive as floats on the wire
    return actual == wanted


# --- Another stack's outputs, for pulumi.StackReference ---------------------------------------------------

def load_stack_outputs(text: str) -> tuple[str, dict[str, Any]]:
    """``NAME=FILE.json`` of ``--stack-outputs``: the referenced stack's name as the program gives it, and its
    outputs (the JSON object ``pulumi stack output --json`` prints)."""
    name, separator, file = text.partition("=")
    if not separator or not name or not file:
        raise InvokeAnswersError(f"--stack-outputs {text!r}: expected NAME=FILE.json, e.g. "
                                 f"acme/network/prod=network-outputs.json")
    outputs = read_json(Path(file), f"--stack-outputs {name}:", InvokeAnswersError)
    if not isinstance(outputs, dict):
        raise InvokeAnswersError(f"--stack-outputs {name}: {file} must hold a JSON object of output names to "
                                 f"values (as `pulumi stack output --json` prints), got {type(outputs).__name__}")
    return name, outputs
