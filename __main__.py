"""aws-compute: reads the stack config, wires the layers, exports the outputs. No resource logic here."""

import pulumi

from components.alarms import Alarms, AlarmsArgs, Watched, arn_suffix
from components.ci import CiAccess, CiAccessArgs
from components.config import operations_alarm_topic, stack_config_from_pulumi
from components.context import available_zones, lookup_context
from components.dashboard import Dashboard, DashboardArgs
from components.encryption import StackKey, StackKeyArgs
from components.errors import exit_on_config_error
from components.fleet import Fleet, FleetArgs
from components.function import Function, FunctionArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs
from components.network import Network, NetworkArgs
from components.operations import Operations, OperationsArgs
from components.server import Server, ServerArgs
from components.service import Service, ServiceArgs

with exit_on_config_error():
    config = stack_config_from_pulumi()
    context = lookup_context(config)
    zones = available_zones(config.region)
    config.check_zones(zones)

key = StackKey("stack", StackKeyArgs(context=context))
network = Network("network", NetworkArgs(settings=config.network, context=context,
                                         availability_zones=zones, key_arn=key.key_arn))
pulumi.export("region", config.region)
pulumi.export("keyArn", key.key_arn)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("availabilityZones", network.availability_zones)
pulumi.export("publicSubnetIds", network.public_subnet_ids)
pulumi.export("privateSubnetIds", network.private_subnet_ids)

# --- operations: patching and the CloudWatch agent of the EC2 hosts (components/operations.py) ---
hosts = tuple(host for host, enabled in (("server", config.server.enabled), ("fleet", config.fleet.enabled))
              if enabled)
operations = Operations("operations", OperationsArgs(settings=config.operations, context=context,
                                                     key_arn=key.key_arn, hosts=hosts))
alarm_topic = operations_alarm_topic(config)
watched: dict = {}

# --- server layer (components/server.py) ---
if config.server.enabled:
    server = Server("server", ServerArgs(
        settings=config.server, context=context, vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr,
        availability_zones=network.availability_zones, public_subnet_ids=network.public_subnet_ids,
        private_subnet_ids=network.private_subnet_ids, key_arn=key.key_arn,
        operations=operations.hosts["server"]))
    watched.update(server_instance_id=server.instance_id, server_instance_type=config.server.instance_type)
    pulumi.export("serverInstanceId", server.instance_id)
    pulumi.export("serverSsmCommand", server.ssm_command)
    pulumi.export("serverDataVolumeId", server.data_volume_id)
    pulumi.export("serverSnapshotId", server.snapshot_id)
    pulumi.export("serverRestoredVolumeId", server.restored_volume_id)
    for output, value in (("serverPublicIp", server.public_ip), ("serverPublicDns", server.public_dns),
                          ("serverSshCommand", server.ssh_command), ("serverDrSnapshotId", server.dr_snapshot_id)):
        if value is not None:
            pulumi.export(output, value)

# --- load balancer and fleet layer (components/load_balancer.py, components/fleet.py) ---
# The ALB's security group lets traffic out only to these target ports; each layer behind it adds its own.
target_ports = [config.fleet.service_port] if config.fleet.enabled else []
if config.service.enabled:
    target_ports.append(config.service.container_port)
load_balancer = LoadBalancer("lb", LoadBalancerArgs(
    settings=config.load_balancer, context=context, vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr,
    public_subnet_ids=network.public_subnet_ids, target_ports=target_ports, key_arn=key.key_arn,
)) if config.fleet.enabled or config.service.enabled else None
if load_balancer:
    watched["load_balancer"] = load_balancer.arn_suffix
    pulumi.export("albDnsName", load_balancer.dns_name)
    pulumi.export("url", load_balancer.url)
if load_balancer and config.fleet.enabled:
    fleet = Fleet("fleet", FleetArgs(
        settings=config.fleet, context=context, load_balancer=load_balancer,
        lb_idle_timeout=config.load_balancer.idle_timeout, private_subnet_ids=network.private_subnet_ids,
        key_arn=key.key_arn, operations=operations.hosts["fleet"], alarm_topic_arn=alarm_topic,
    ))
    watched.update(fleet_group=fleet.group_name, fleet_target_group=fleet.target_group_arn.apply(arn_suffix))
    pulumi.export("fleetGroupName", fleet.group_name)

# --- serverless layer (components/function.py) ---
if config.function.enabled:
    with exit_on_config_error():
        config.function.check_region(config.region)
    function = Function("function", FunctionArgs(
        settings=config.function, context=context, key_arn=key.key_arn, vpc_id=network.vpc_id,
        private_subnet_ids=network.private_subnet_ids,
    ))
    watched.update(function_name=function.function_name, api_id=function.api_id)
    pulumi.export("functionName", function.function_name)
    pulumi.export("functionArn", function.function_arn)
    pulumi.export("apiUrl", function.invoke_url)
    pulumi.export("invokeCommand", function.invoke_command)

# --- container layer (components/service.py) ---
if load_balancer and config.service.enabled:
    service = Service("web", ServiceArgs(
        settings=config.service, context=context, load_balancer=load_balancer,
        private_subnet_ids=network.private_subnet_ids, key_arn=key.key_arn,
    ))
    watched.update(cluster_name=service.cluster_name, service_name=service.service_name,
                   service_target_group=service.target_group_arn.apply(arn_suffix))
    pulumi.export("repositoryUrl", service.repository_url)
    pulumi.export("clusterName", service.cluster_name)
    pulumi.export("serviceName", service.service_name)

# --- alarms on every layer and the stack's dashboard (components/alarms.py, components/dashboard.py) ---
Alarms("alarms", AlarmsArgs(settings=config.operations, context=context, watched=Watched(**watched),
                            namespace=operations.namespace, topic_arn=alarm_topic))
dashboard = Dashboard("dashboard", DashboardArgs(context=context, watched=Watched(**watched),
                                                 namespace=operations.namespace))
pulumi.export("dashboardUrl", dashboard.url)
if operations.maintenance_window_id is not None:
    pulumi.export("patchWindowId", operations.maintenance_window_id)
    pulumi.export("patchLogGroup", operations.patch_log_group_name)

# --- CI access (components/ci.py): the role GitHub Actions assumes to deploy this stack ---
if config.ci.enabled:
    dr_regions = [config.server.dr_region] if config.server.enabled and config.server.dr_region else []
    ci = CiAccess("ci", CiAccessArgs(settings=config.ci, context=context, regions=[config.region, *dr_regions]))
    pulumi.export("ciRoleArn", ci.role_arn)
    pulumi.export("ciOidcProviderArn", ci.provider_arn)
