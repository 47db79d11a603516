"""aws-compute: reads the stack config, wires the layers, exports the outputs. No resource logic here."""

import pulumi

from components.config import stack_config_from_pulumi
from components.context import available_zones, lookup_context
from components.encryption import StackKey, StackKeyArgs
from components.errors import exit_on_config_error
from components.network import Network, NetworkArgs

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

# --- server layer (components/server.py) ---

# --- load balancer and fleet layer (components/load_balancer.py, components/fleet.py) ---

# --- serverless layer (components/function.py) ---

# --- container layer (components/service.py) ---
