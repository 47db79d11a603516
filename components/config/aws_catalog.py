"""AWS's regions and EC2 instance types, from botocore's data (pinned in requirements.txt).

botocore ships the endpoint partitions AWS publishes (``endpoints.json``) and the EC2 API model, whose
``InstanceType`` enum lists every type EC2 accepts; both are regenerated from AWS's own service definitions
with every botocore release, so a pinned botocore is a maintained, offline list rather than a hand-kept one.
"""

from __future__ import annotations

import difflib
from functools import cache

from botocore.loaders import Loader


@cache
def aws_regions() -> frozenset[str]:
    partitions = Loader().load_data("endpoints")["partitions"]
    return frozenset(region for partition in partitions for region in partition["regions"])


@cache
def ec2_instance_types() -> frozenset[str]:
    return frozenset(Loader().load_service_model("ec2", "service-2")["shapes"]["InstanceType"]["enum"])


def closest_names(name: str, known: frozenset[str], count: int = 3) -> list[str]:
    return difflib.get_close_matches(name, sorted(known), n=count, cutoff=0.6)


def region_problem(region: str) -> str | None:
    """Why ``region`` is not an AWS region, with the closest names, or None."""
    if region in aws_regions():
        return None
    close = closest_names(region, aws_regions())
    return "not an AWS region" + (f"; did you mean {' or '.join(close)}?" if close else "")


def instance_type_problem(instance_type: str) -> str | None:
    if instance_type in ec2_instance_types():
        return None
    close = closest_names(instance_type, ec2_instance_types())
    return f"'{instance_type}' is not an EC2 instance type" + (f"; did you mean {' or '.join(close)}?" if close else "")
