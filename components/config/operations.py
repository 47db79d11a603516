"""The ``operations`` section: OS patching, the CloudWatch agent's logs, and the thresholds of every layer's alarms.

Patching runs on ``patchSchedule``, a maintenance-window schedule: Systems Manager accepts a cron expression of
six fields or a rate expression in hours or days (reference-cron-and-rate-expressions in the Systems Manager
user guide); anything else would only fail at deploy time, so it is refused here with the forms allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import field_validator

from .base import LOG_RETENTION_ALLOWED, LogRetentionDays, Problem, Section, full_key, setting
from .fleet import OptionalTopicArn, topic_region_problems

SCHEDULE_ALLOWED = ("cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>) with '?' in one of the "
                    "day fields, or rate(<n> hour|hours|day|days)")
_CRON = re.compile(r"^cron\((?P<fields>[^()]*)\)$")
_RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>hour|hours|day|days)\)$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,#L\-]+$")


def schedule_problem(value: str) -> str:
    """Why ``value`` is not a maintenance-window schedule, or "" when it is one."""
    cron, rate = _CRON.match(value), _RATE.match(value)
    if rate:
        count, unit = int(rate["value"]), rate["unit"]
        if count < 1:
            return "a rate must be at least 1"
        if (count == 1) != (not unit.endswith("s")):
            return f"write rate({count} {unit.rstrip('s') + ('s' if count > 1 else '')})"
        return ""
    if not cron:
        return "neither a cron( ) nor a rate( ) expression"
    fields = cron["fields"].split()
    if len(fields) != 6:
        return f"a cron expression has 6 fields, this one {len(fields)}"
    if not all(_CRON_FIELD.match(f) for f in fields):
        return "a cron field holds characters other than digits, names, * ? / , - # L"
    if (fields[2] == "?") == (fields[4] == "?"):
        return "exactly one of day-of-month and day-of-week must be '?'"
    return ""


class OperationsSettings(Section):
    # --- patching ---
    patching: bool = setting(
        True, "Patch the server's and the fleet's instances with Systems Manager Patch Manager on patchSchedule.",
        "true | false",
    )
    patch_schedule: str = setting(
        "cron(0 3 ? * SUN *)", "When the patch maintenance window opens (UTC); the default is weekly, Sundays 03:00.",
        SCHEDULE_ALLOWED,
    )
    patch_operation: Literal["Install", "Scan"] = setting(
        "Install", "Install approved patches (rebooting when one needs it), or only Scan and report what is missing.",
        "Install | Scan",
    )
    patch_window_hours: int = setting(
        3, "Length of the patch maintenance window in hours; no new run starts in its last hour.",
        "an integer from 2 to 24", ge=2, le=24,
    )
    log_retention_days: LogRetentionDays = setting(
        30, "Days CloudWatch Logs keeps the instances' web service logs and the patch runs' output.",
        LOG_RETENTION_ALLOWED,
    )
    # --- alarms ---
    alarm_topic_arn: OptionalTopicArn = setting(
        "", "SNS topic every layer's alarms notify; empty uses fleet.alarmTopicArn, and with both empty alarms "
            "only change state in the console.",
        "empty, or arn:aws:sns:<stack region>:<12-digit account>:<topic>",
    )
    disk_used_percent: int = setting(
        80, "Root file system use (%, from the CloudWatch agent) above which a server or fleet alarm fires.",
        "an integer from 50 to 99", ge=50, le=99,
    )
    function_errors: int = setting(
        1, "Lambda errors in five minutes at or above which the function's alarm fires.",
        "an integer from 1 to 100000", ge=1, le=100000,
    )
    function_throttles: int = setting(
        1, "Throttled Lambda invocations in five minutes at or above which the function's alarm fires.",
        "an integer from 1 to 100000", ge=1, le=100000,
    )
    api_server_errors: int = setting(
        5, "HTTP API 5xx responses in five minutes at or above which the API's alarm fires.",
        "an integer from 1 to 100000", ge=1, le=100000,
    )
    service_cpu_percent: int = setting(
        85, "Average CPU (%) of the Fargate service above which its alarm fires.",
        "an integer from 10 to 100", ge=10, le=100,
    )
    service_memory_percent: int = setting(
        85, "Average memory use (%) of the Fargate service above which its alarm fires.",
        "an integer from 10 to 100", ge=10, le=100,
    )

    @field_validator("patch_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        problem = schedule_problem(value.strip())
        if problem:
            raise ValueError(f"not a maintenance-window schedule: {problem}")
        return value.strip()


def operations_alarm_topic(config: Any) -> str:
    """The topic every alarm notifies: operations.alarmTopicArn, else the fleet's, else none ("")."""
    return config.operations.alarm_topic_arn or config.fleet.alarm_topic_arn


def operations_topic_in_stack_region(config: Any) -> Iterable[Problem]:
    return topic_region_problems(full_key("operations", "alarmTopicArn"), config.operations.alarm_topic_arn,
                                 config.region)
