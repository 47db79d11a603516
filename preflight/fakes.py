"""Realistic outputs for a program run under mocks: IDs, ARNs and the invokes' answers.

Every resource gets a unique ID in its type's AWS format and an ARN in the stack's region under the
documentation account 123456789012, so policies can follow references between resources offline.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

ACCOUNT_ID = "123456789012"
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
PARTITION = "aws"

# The AZs that need no opt-in, per region (us-east-1 has six, most have three).
REGION_AZS = {
    "us-east-1": ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"],
    "us-east-2": ["us-east-2a", "us-east-2b", "us-east-2c"],
    "us-west-1": ["us-west-1a", "us-west-1c"],
    "us-west-2": ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"],
    "eu-west-1": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
    "eu-central-1": ["eu-central-1a", "eu-central-1b", "eu-central-1c"],
    "ap-northeast-1": ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"],
}
DEFAULT_AZ_LETTERS = "abc"

# EC2-style ID prefixes by Pulumi type.
ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/flowLog:FlowLog": "fl",
    "aws:ec2/instance:Instance": "i",
    "aws:ec2/volume:Volume": "vol",
    "aws:ebs/volume:Volume": "vol",
    "aws:ebs/snapshot:Snapshot": "snap",
    "aws:ebs/snapshotCopy:SnapshotCopy": "snap",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:ec2/keyPair:KeyPair": "key",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "sgrule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
}

# How each service writes the resource part of its ARNs; {id} and {name} are filled in.
ARN_FORMATS = {
    "ec2": "{kind}/{id}",
    "iam": "{kind}/{name}",
    "kms": "key/{id}",
    "logs": "log-group:{name}",
    "lambda": "function:{name}",
    "sns": "{name}",
    "sqs": "{name}",
    "s3": "{name}",
    "elasticloadbalancing": "{kind}/app/{name}/{id}",
    "ecs": "{kind}/{name}",
    "ecr": "repository/{name}",
    "apigateway": "/apis/{id}",
    "secretsmanager": "secret:{name}",
    "autoscaling": "autoScalingGroup:{id}:autoScalingGroupName/{name}",
    "cloudwatch": "alarm:{name}",
    "dlm": "policy/{id}",
}
GLOBAL_SERVICES = {"iam", "s3"}
SERVICE_OF_MODULE = {"cloudwatch": "logs", "lb": "elasticloadbalancing", "alb": "elasticloadbalancing",
                     "apigatewayv2": "apigateway", "lambda": "lambda", "ebs": "ec2", "vpc": "ec2",
                     "secretsmanager": "secretsmanager", "appautoscaling": "application-autoscaling"}


def short_hash(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def fake_id(type_token: str, name: str) -> str:
    prefix = ID_PREFIXES.get(type_token)
    if prefix:
        return f"{prefix}-{short_hash(type_token, name)}"
    return f"{name}-{short_hash(type_token, name, length=7)}"


def physical_name(name: str, inputs: dict[str, Any], type_token: str) -> str:
    """The name AWS would know the resource by: the given one, or Pulumi's auto-name (name + 7 hex)."""
    given = inputs.get("name")
    if isinstance(given, str) and given:
        return given
    return f"{name}-{short_hash('autoname', type_token, name, length=7)}"


def fake_arn(type_token: str, name: str, resource_id: str, region: str) -> str:
    module = type_token.split(":")[1].split("/")[0]
    kind_camel = type_token.split(":")[-1]
    kind = kind_camel[0].lower() + kind_camel[1:]
    service = SERVICE_OF_MODULE.get(module, module)
    if module == "cloudwatch" and kind != "logGroup":
        service = "cloudwatch"
    template = ARN_FORMATS.get(service, "{kind}/{id}")
    if service == "logs":
        template = "log-group:{name}"
    resource = template.format(kind=kind, id=resource_id, name=name)
    where = "" if service in GLOBAL_SERVICES else region
    account = "" if service == "s3" else ACCOUNT_ID
    return f"arn:{PARTITION}:{service}:{where}:{account}:{resource}"


def fake_outputs(type_token: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
    """The ID and output state the provider would return for a resource with these inputs."""
    resource_id = fake_id(type_token, name)
    physical = physical_name(name, inputs, type_token)
    outputs: dict[str, Any] = {"id": resource_id, **inputs}
    outputs.setdefault("name", physical)
    outputs["arn"] = fake_arn(type_token, physical, resource_id, region)
    outputs.update(_type_specific_outputs(type_token, physical, resource_id, inputs, region))
    if "tags" in inputs:
        outputs["tagsAll"] = inputs["tags"]
    return resource_id, outputs


def _type_specific_outputs(type_token: str, physical: str, resource_id: str, inputs: dict[str, Any],
                           region: str) -> dict[str, Any]:
    digest = short_hash(type_token, physical)
    if type_token == "aws:kms/key:Key":
        key_id = f"{digest[:8]}-{digest[8:12]}-4{digest[12:15]}-8{digest[15:17]}{digest[:1]}-{digest[:12]}"
        return {"id": key_id, "keyId": key_id, "arn": f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{key_id}"}
    if type_token == "aws:cloudwatch/logGroup:LogGroup":
        return {"arn": f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{physical}"}
    if type_token == "aws:iam/role:Role":
        return {"uniqueId": "AROA" + digest.upper()[:17], "id": physical}
    if type_token == "aws:ec2/vpc:Vpc":
        return {"defaultSecurityGroupId": fake_id("aws:ec2/securityGroup:SecurityGroup", physical + "-default"),
                "mainRouteTableId": fake_id("aws:ec2/routeTable:RouteTable", physical + "-main")}
    if type_token == "aws:ec2/eip:Eip":
        return {"publicIp": "203.0.113." + str(int(digest[:2], 16) % 254 + 1), "allocationId": resource_id}
    if type_token in ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"):
        return {"dnsName": f"{physical}-{int(digest[:8], 16) % 10**9}.{region}.elb.amazonaws.com",
                "arnSuffix": f"app/{physical}/{digest[:16]}", "zoneId": "Z35SXDOTRQ7X7K"}
    if type_token in ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup"):
        return {"arnSuffix": f"targetgroup/{physical}/{digest[:16]}"}
    if type_token == "docker-build:index:Image":
        # A pushed image is run by digest: ``ref`` is the first tag's repository at the image's digest.
        digest = "sha256:" + hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()
        tags = inputs.get("tags") or [physical]
        return {"digest": digest, "ref": f"{str(tags[0]).rsplit(':', 1)[0]}@{digest}",
                "contextHash": digest[7:23]}
    if type_token == "aws:ec2/launchTemplate:LaunchTemplate":
        return {"latestVersion": 1, "defaultVersion": 1}
    if type_token == "aws:apigatewayv2/api:Api":
        return {"apiEndpoint": f"https://{resource_id}.execute-api.{region}.amazonaws.com",
                "executionArn": f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{resource_id}"}
    if type_token == "aws:apigatewayv2/stage:Stage":
        api = inputs.get("apiId", "")
        return {"invokeUrl": f"https://{api}.execute-api.{region}.amazonaws.com/"
                             f"{'' if inputs.get('name') == '$default' else inputs.get('name', '')}",
                "executionArn": f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{api}/{inputs.get('name', '')}"}
    if type_token == "aws:lambda/function:Function":
        return {"invokeArn": f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
                             f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{physical}/invocations",
                "qualifiedArn": f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{physical}:$LATEST",
                "version": "$LATEST"}
    if type_token == "aws:ecr/repository:Repository":
        return {"repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{physical}",
                "registryId": ACCOUNT_ID}
    if type_token == "aws:acm/certificate:Certificate" and inputs.get("validationMethod") == "DNS":
        # The CNAME that ACM asks for, per domain, in the shape it has after CreateCertificate.
        domains = [inputs.get("domainName", ""), *(inputs.get("subjectAlternativeNames") or [])]
        return {"domainValidationOptions": [{
            "domainName": domain, "resourceRecordType": "CNAME",
            "resourceRecordName": f"_{short_hash(domain, length=32)}.{domain}.",
            "resourceRecordValue": f"_{short_hash(domain, digest, length=32)}.acm-validations.aws.",
        } for domain in domains if domain]}
    if type_token.startswith("random:index/"):
        return _random_outputs(type_token, physical, inputs)
    if type_token == "aws:route53/record:Record":
        return {"fqdn": str(inputs.get("name", "")).rstrip(".")}
    if type_token == "aws:ec2/instance:Instance":
        octet = int(digest[:2], 16) % 254 + 1
        return {"privateIp": f"10.0.0.{octet}",
                "publicIp": f"203.0.113.{octet}" if inputs.get("associatePublicIpAddress") else "",
                "publicDns": f"ec2-203-0-113-{octet}.compute-1.amazonaws.com"
                if inputs.get("associatePublicIpAddress") else ""}
    return {}


def _random_outputs(type_token: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """pulumi-random's results, as a deployed stack's state holds them: fixed per resource, never random."""
    digest = hashlib.sha256(f"{type_token}/{name}".encode()).hexdigest()
    kind = type_token.rsplit(":", 1)[-1]
    if kind in ("RandomPassword", "RandomString"):
        length = int(inputs.get("length") or 16)
        text = (digest * (length // len(digest) + 1))[:length]
        extra = {"bcryptHash": "$2a$10$" + digest[:53]} if kind == "RandomPassword" else {}
        return {"result": text, "id": "none" if kind == "RandomPassword" else text, **extra}
    if kind == "RandomId":
        raw = bytes.fromhex(digest[:2 * int(inputs.get("byteLength") or 8)])
        return {"hex": raw.hex(), "dec": str(int.from_bytes(raw, "big")), "id": base64.urlsafe_b64encode(raw).decode(),
                "b64Url": base64.urlsafe_b64encode(raw).decode().rstrip("="), "b64Std": base64.b64encode(raw).decode()}
    if kind == "RandomInteger":
        low, high = int(inputs.get("min", 0)), int(inputs.get("max", 0))
        result = low + int(digest[:8], 16) % (high - low + 1) if high >= low else low
        return {"result": result, "id": str(result)}
    if kind == "RandomUuid":
        return {"result": str(uuid.UUID(digest[:32])), "id": str(uuid.UUID(digest[:32]))}
    if kind == "RandomPet":
        words = ["calm", "brave", "quick", "lucky", "otter", "heron", "lynx", "finch"]
        count = int(inputs.get("length") or 2)
        pet = inputs.get("separator", "-").join(words[int(digest[i * 2:i * 2 + 2], 16) % len(words)]
                                               for i in range(count))
        return {"id": f"{inputs['prefix']}-{pet}" if inputs.get("prefix") else pet}
    return {}
