"""Stack config -> one validated, frozen StackConfig. See README "Configuration reference"."""

from .base import PROJECT, ConfigError, Problem
from .fleet import FleetSettings
from .function import FunctionSettings
from .network import NetworkSettings
from .operations import OperationsSettings, operations_alarm_topic
from .pulumi_source import read_pulumi_config, stack_config_from_pulumi
from .server import ServerSettings
from .service import ServiceSettings
from .stack import SECTIONS, RootSettings, StackConfig, load_stack_config

__all__ = [
    "PROJECT",
    "SECTIONS",
    "ConfigError",
    "FleetSettings",
    "FunctionSettings",
    "NetworkSettings",
    "OperationsSettings",
    "Problem",
    "RootSettings",
    "ServerSettings",
    "ServiceSettings",
    "StackConfig",
    "load_stack_config",
    "operations_alarm_topic",
    "read_pulumi_config",
    "stack_config_from_pulumi",
]
