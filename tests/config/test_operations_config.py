"""The ``operations`` section: defaults, the patch schedule's forms, and what every refusal says."""

from __future__ import annotations

import pytest

from components.config import ConfigError, load_stack_config, operations_alarm_topic
from components.config.operations import schedule_problem

BASE = {"aws:region": "us-east-1"}
TOPIC = "arn:aws:sns:us-east-1:123456789012:on-call"
SCHEDULE_KEY = "aws-compute:operations.patchSchedule"


def load(**overrides: str):
    return load_stack_config({**BASE, **{f"aws-compute:{k}": v for k, v in overrides.items()}}, "dev")


def problems_of(**overrides: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(**overrides)
    return [str(p) for p in caught.value.problems]


def test_patching_is_on_weekly_by_default():
    operations = load().operations
    assert operations.patching is True
    assert operations.patch_schedule == "cron(0 3 ? * SUN *)"
    assert operations.patch_operation == "Install"


def test_the_default_thresholds_are_sensible():
    operations = load().operations
    assert (operations.disk_used_percent, operations.function_errors, operations.function_throttles,
            operations.api_server_errors, operations.service_cpu_percent, operations.service_memory_percent) == (
        80, 1, 1, 5, 85, 85)


@pytest.mark.parametrize("schedule", ["cron(0 3 ? * SUN *)", "cron(30 23 ? * TUE#3 *)", "cron(0 2 1 * ? *)",
                                      "rate(1 day)", "rate(12 hours)", "rate(7 days)"])
def test_maintenance_window_schedules_are_accepted(schedule):
    assert load(**{"operations.patchSchedule": schedule}).operations.patch_schedule == schedule


@pytest.mark.parametrize(("schedule", "reason"), [
    ("weekly", "neither a cron( ) nor a rate( ) expression"),
    ("cron(0 3 * * SUN)", "a cron expression has 6 fields, this one 5"),
    ("cron(0 3 * * SUN *)", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron(0 3 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
    ("rate(1 days)", "write rate(1 day)"),
    ("rate(3 hour)", "write rate(3 hours)"),
    ("rate(30 minutes)", "neither a cron( ) nor a rate( ) expression"),
    ("rate(0 days)", "a rate must be at least 1"),
])
def test_a_bad_patch_schedule_is_refused_naming_the_key_the_reason_and_the_forms_allowed(schedule, reason):
    [problem] = problems_of(**{"operations.patchSchedule": schedule})
    assert problem.startswith(f'{SCHEDULE_KEY} = "{schedule}": not a maintenance-window schedule: {reason}')
    assert "allowed: cron(<minutes> <hours>" in problem and "rate(<n> hour|hours|day|days)" in problem


def test_schedule_problem_is_empty_for_a_valid_schedule():
    assert schedule_problem("cron(0 3 ? * SUN *)") == ""


def test_a_threshold_out_of_range_is_refused_with_its_range():
    [problem] = problems_of(**{"operations.diskUsedPercent": "100"})
    assert problem.startswith("aws-compute:operations.diskUsedPercent = 100:")
    assert problem.endswith("allowed: an integer from 50 to 99")


def test_an_unoffered_log_retention_is_refused():
    [problem] = problems_of(**{"operations.logRetentionDays": "10"})
    assert problem.startswith("aws-compute:operations.logRetentionDays = 10: CloudWatch Logs does not offer")


def test_the_alarm_topic_must_be_in_the_stacks_region():
    [problem] = problems_of(**{"operations.alarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:on-call"})
    assert problem == ('aws-compute:operations.alarmTopicArn = "arn:aws:sns:eu-west-1:123456789012:on-call": '
                       "the topic is in eu-west-1, the stack in us-east-1; allowed: an SNS topic of us-east-1")


def test_the_alarm_topic_must_be_an_sns_topic_arn():
    [problem] = problems_of(**{"operations.alarmTopicArn": "on-call"})
    assert problem.startswith('aws-compute:operations.alarmTopicArn = "on-call": not an SNS topic ARN')


def test_the_stacks_alarm_topic_falls_back_to_the_fleets():
    assert operations_alarm_topic(load(**{"fleet.alarmTopicArn": TOPIC})) == TOPIC
    own = "arn:aws:sns:us-east-1:123456789012:operations"
    assert operations_alarm_topic(load(**{"fleet.alarmTopicArn": TOPIC, "operations.alarmTopicArn": own})) == own
    assert operations_alarm_topic(load()) == ""
