"""The Network layer: one VPC with a public and a private subnet in each AZ, NAT, endpoints, flow logs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .config import NetworkSettings
from .context import DeployContext
from .iam import flow_log_delivery_policy, service_trust_policy, to_json
from .layout import nat_gateway_count, nat_index_for_az, plan_subnets
from .tags import with_name


@dataclass(frozen=True)
class NetworkArgs:
    settings: NetworkSettings
    context: DeployContext
    availability_zones: list[str]
    """The AZ names to use, at least ``settings.az_count`` of them, in a stable order."""
    key_arn: pulumi.Input[str]
    """The stack's KMS key, for the flow log group."""


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    availability_zones: list[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    private_route_table_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aws-compute:network:Network", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        settings, ctx = args.settings, args.context
        self.availability_zones = args.availability_zones[: settings.az_count]
        self.vpc_cidr = settings.cidr

        # --- VPC -------------------------------------------------------------------------------
        self._vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=settings.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=self._tags("vpc"),
            opts=self._child,
        )
        # Adopting the default security group with no rules strips the allow-all rules AWS creates.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=self._vpc.id, tags=self._tags("default-deny"), opts=self._child
        )

        # --- Subnets ---------------------------------------------------------------------------
        plans = plan_subnets(settings.cidr, settings.az_count)
        self.public_subnet_ids = [self._subnet(p.tier, p.az_index, p.cidr).id for p in plans if p.tier == "public"]
        self.private_subnet_ids = [self._subnet(p.tier, p.az_index, p.cidr).id for p in plans if p.tier == "private"]

        # --- Public routing ----------------------------------------------------------------------
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self._vpc.id, tags=self._tags("igw"), opts=self._child)
        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=self._vpc.id, tags=self._tags("public"),
                                       opts=self._child)
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=igw.id, opts=self._child)
        for index, subnet_id in enumerate(self.public_subnet_ids):
            aws.ec2.RouteTableAssociation(f"{name}-public-{self._az_letter(index)}", subnet_id=subnet_id,
                                          route_table_id=public_rt.id, opts=self._child)

        # --- NAT and private routing -------------------------------------------------------------
        nat_ids = [self._nat_gateway(index, igw) for index in range(nat_gateway_count(settings.nat_gateways,
                                                                                      settings.az_count))]
        self.private_route_table_ids = []
        for index, subnet_id in enumerate(self.private_subnet_ids):
            letter = self._az_letter(index)
            table = aws.ec2.RouteTable(f"{name}-private-rt-{letter}", vpc_id=self._vpc.id,
                                       tags=self._tags(f"private-{letter}"), opts=self._child)
            nat_index = nat_index_for_az(settings.nat_gateways, index)
            if nat_index is not None:
                aws.ec2.Route(f"{name}-private-default-{letter}", route_table_id=table.id,
                              destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat_ids[nat_index],
                              opts=self._child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{letter}", subnet_id=subnet_id, route_table_id=table.id,
                                          opts=self._child)
            self.private_route_table_ids.append(table.id)

        # --- Endpoints -----------------------------------------------------------------------------
        # The S3 gateway endpoint is free and keeps image layers and packages off the NAT bill.
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=self._vpc.id,
            service_name=f"com.amazonaws.{ctx.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[public_rt.id, *self.private_route_table_ids],
            tags=self._tags("s3"),
            opts=self._child,
        )
        if settings.interface_endpoints:
            self._interface_endpoints(settings.interface_endpoints)

        # --- Flow logs -----------------------------------------------------------------------------
        if settings.flow_logs:
            self._flow_logs()

        self.vpc_id = self._vpc.id
        self.register_outputs({
            "vpcId": self.vpc_id,
            "publicSubnetIds": self.public_subnet_ids,
            "privateSubnetIds": self.private_subnet_ids,
            "availabilityZones": self.availability_zones,
        })

    def _tags(self, role: str) -> dict[str, str]:
        return with_name(self._args.context.tags, f"{self._args.context.name_prefix}-{role}")

    def _az_letter(self, index: int) -> str:
        return self.availability_zones[index][-1]

    def _subnet(self, tier: str, index: int, cidr: str) -> aws.ec2.Subnet:
        letter = self._az_letter(index)
        return aws.ec2.Subnet(
            f"{self._name}-{tier}-{letter}",
            vpc_id=self._vpc.id,
            cidr_block=cidr,
            availability_zone=self.availability_zones[index],
            map_public_ip_on_launch=False,
            tags={**self._tags(f"{tier}-{letter}"), "Tier": tier},
            opts=self._child,
        )

    def _nat_gateway(self, index: int, igw: aws.ec2.InternetGateway) -> pulumi.Output[str]:
        letter = self._az_letter(index)
        eip = aws.ec2.Eip(f"{self._name}-nat-eip-{letter}", domain="vpc", tags=self._tags(f"nat-{letter}"),
                          opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]))
        nat = aws.ec2.NatGateway(f"{self._name}-nat-{letter}", allocation_id=eip.id,
                                 subnet_id=self.public_subnet_ids[index], tags=self._tags(f"nat-{letter}"),
                                 opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]))
        return nat.id

    def _interface_endpoints(self, services: tuple[str, ...]) -> None:
        sg = aws.ec2.SecurityGroup(
            f"{self._name}-endpoints-sg",
            vpc_id=self._vpc.id,
            description="HTTPS from inside the VPC to AWS service interface endpoints",
            ingress=[aws.ec2.SecurityGroupIngressArgs(
                description="HTTPS from the VPC", protocol="tcp", from_port=443, to_port=443,
                cidr_blocks=[self.vpc_cidr],
            )],
            tags=self._tags("endpoints"),
            opts=self._child,
        )
        for service in services:
            aws.ec2.VpcEndpoint(
                f"{self._name}-{service.replace('.', '-')}",
                vpc_id=self._vpc.id,
                service_name=f"com.amazonaws.{self._args.context.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[sg.id],
                tags=self._tags(service),
                opts=self._child,
            )

    def _flow_logs(self) -> None:
        settings, ctx = self._args.settings, self._args.context
        log_group = aws.cloudwatch.LogGroup(
            f"{self._name}-flow-logs",
            name=ctx.log_group_name("vpc-flow-logs"),
            retention_in_days=settings.flow_log_retention_days,
            kms_key_id=self._args.key_arn,
            tags=self._tags("flow-logs"),
            opts=self._child,
        )
        role = aws.iam.Role(
            f"{self._name}-flow-logs-role",
            path=ctx.iam_path,
            description="Lets VPC Flow Logs deliver to the stack's flow log group",
            assume_role_policy=to_json(service_trust_policy("vpc-flow-logs.amazonaws.com", ctx.account_id)),
            tags=self._tags("flow-logs"),
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-flow-logs-delivery",
            role=role.id,
            policy=log_group.arn.apply(lambda arn: to_json(flow_log_delivery_policy(arn))),
            opts=self._child,
        )
        aws.ec2.FlowLog(
            f"{self._name}-flow-log",
            vpc_id=self._vpc.id,
            traffic_type=settings.flow_log_traffic_type,
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=self._tags("flow-log"),
            opts=self._child,
        )
