"""The Lambda handler, called with the events API Gateway and `aws lambda invoke` really send."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.function import handler as function
from app.function.handler import DEFAULT_NAME, MAX_NAME_LENGTH, SecretCache, handler

CONTEXT = SimpleNamespace(aws_request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
                          function_name="aws-compute-dev-function")

# An HTTP API proxy event in payload format 2.0, as the API Gateway developer guide shows it
# ("Create AWS Lambda proxy integrations for HTTP APIs"), for GET /hello?name=AWS.
HTTP_API_2_EVENT = {
    "version": "2.0",
    "routeKey": "GET /hello",
    "rawPath": "/hello",
    "rawQueryString": "name=AWS",
    "cookies": ["cookie1", "cookie2"],
    "headers": {
        "accept": "*/*",
        "content-length": "0",
        "host": "r3pmxmplak.execute-api.us-east-1.amazonaws.com",
        "user-agent": "curl/8.5.0",
        "x-amzn-trace-id": "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e",
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    },
    "queryStringParameters": {"name": "AWS"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "r3pmxmplak",
        "domainName": "r3pmxmplak.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "r3pmxmplak",
        "http": {
            "method": "GET",
            "path": "/hello",
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.10",
            "userAgent": "curl/8.5.0",
        },
        "requestId": "JKJaXmPLvHcESHA=",
        "routeKey": "GET /hello",
        "stage": "$default",
        "time": "10/Mar/2020:05:16:23 +0000",
        "timeEpoch": 1583817383220,
    },
    "isBase64Encoded": False,
}

# A REST API Lambda proxy event ("Input format of a Lambda function for proxy integration"): no version
# field, multi-value maps beside the single-value ones, and null where there is no query string.
REST_API_EVENT = {
    "resource": "/hello",
    "path": "/hello",
    "httpMethod": "GET",
    "headers": {
        "Accept": "*/*",
        "Host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "curl/8.5.0",
        "X-Amzn-Trace-Id": "Root=1-5e66d96f-7491f09xmpl79d18acf3d050",
        "X-Forwarded-For": "203.0.113.10",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    },
    "multiValueHeaders": {
        "Accept": ["*/*"],
        "Host": ["a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"],
        "User-Agent": ["curl/8.5.0"],
        "X-Forwarded-For": ["203.0.113.10"],
    },
    "queryStringParameters": {"name": "AWS"},
    "multiValueQueryStringParameters": {"name": ["AWS"]},
    "pathParameters": None,
    "stageVariables": None,
    "requestContext": {
        "resourceId": "2gxmpl",
        "resourcePath": "/hello",
        "httpMethod": "GET",
        "extendedRequestId": "JJbxmplHYosFVYQ=",
        "requestTime": "10/Mar/2020:00:03:59 +0000",
        "path": "/prod/hello",
        "accountId": "123456789012",
        "protocol": "HTTP/1.1",
        "stage": "prod",
        "domainPrefix": "a1b2c3d4e5",
        "requestTimeEpoch": 1583798639428,
        "requestId": "77375676-xmpl-4b79-853a-f982474efe18",
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": "203.0.113.10",
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": "curl/8.5.0",
            "user": None,
        },
        "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        "apiId": "a1b2c3d4e5",
    },
    "body": None,
    "isBase64Encoded": False,
}

# An HTTP API event in payload format 1.0: the REST shape plus "version": "1.0".
HTTP_API_1_EVENT = {**copy.deepcopy(REST_API_EVENT), "version": "1.0", "resource": "GET /hello"}

# What `aws lambda invoke --payload '{"queryStringParameters": {"name": "AWS"}}'` delivers.
DIRECT_EVENT = {"queryStringParameters": {"name": "AWS"}}


def event_with_name(event: dict, name) -> dict:
    changed = copy.deepcopy(event)
    changed["queryStringParameters"] = {"name": name}
    return changed


def call(event) -> tuple[int, dict]:
    response = handler(event, CONTEXT)
    return response["statusCode"], json.loads(response["body"])


def log_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture(autouse=True)
def no_secret_configured(monkeypatch):
    monkeypatch.delenv("GREETING_SECRET_ARN", raising=False)
    monkeypatch.setenv("ENVIRONMENT", "test")


# --- Accepted events ---------------------------------------------------------------------------------


@pytest.mark.parametrize("event", [HTTP_API_2_EVENT, HTTP_API_1_EVENT, REST_API_EVENT, DIRECT_EVENT],
                         ids=["http-api-2.0", "http-api-1.0", "rest-api", "direct"])
def test_every_accepted_event_shape_greets_the_name_from_the_query(event):
    assert call(event) == (200, {"message": "Hello, AWS!", "requestId": CONTEXT.aws_request_id})


@pytest.mark.parametrize("event", [HTTP_API_2_EVENT, REST_API_EVENT, DIRECT_EVENT],
                         ids=["http-api-2.0", "rest-api", "direct"])
def test_the_response_is_json_with_a_json_content_type(event):
    response = handler(event, CONTEXT)
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["isBase64Encoded"] is False
    assert isinstance(json.loads(response["body"]), dict)


def test_an_http_api_request_without_a_query_string_greets_the_default_name():
    event = {k: v for k, v in HTTP_API_2_EVENT.items() if k != "queryStringParameters"}  # 2.0 leaves it out
    assert call(event)[1]["message"] == f"Hello, {DEFAULT_NAME}!"


def test_a_rest_api_request_without_a_query_string_greets_the_default_name():
    event = {**REST_API_EVENT, "queryStringParameters": None, "multiValueQueryStringParameters": None}
    assert call(event)[1]["message"] == f"Hello, {DEFAULT_NAME}!"


def test_a_query_without_a_name_greets_the_default_name():
    assert call({"queryStringParameters": {"other": "x"}})[1]["message"] == f"Hello, {DEFAULT_NAME}!"


def test_an_empty_direct_invocation_greets_the_default_name():
    assert call({}) == (200, {"message": f"Hello, {DEFAULT_NAME}!", "requestId": CONTEXT.aws_request_id})


def test_a_name_of_the_maximum_length_is_accepted():
    name = "n" * MAX_NAME_LENGTH
    assert call(event_with_name(HTTP_API_2_EVENT, name)) == (
        200, {"message": f"Hello, {name}!", "requestId": CONTEXT.aws_request_id})


def test_a_name_in_another_script_is_accepted_and_returned_as_text():
    status, body = call(event_with_name(HTTP_API_2_EVENT, "Zoë 世界"))
    assert (status, body["message"]) == (200, "Hello, Zoë 世界!")


def test_repeated_names_arrive_comma_joined_in_payload_2_and_are_greeted_as_given():
    event = {**HTTP_API_2_EVENT, "rawQueryString": "name=Ann&name=Bo", "queryStringParameters": {"name": "Ann,Bo"}}
    assert call(event)[1]["message"] == "Hello, Ann,Bo!"


# --- Refused names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "error"), [
    ("n" * (MAX_NAME_LENGTH + 1), f"name must be at most {MAX_NAME_LENGTH} characters"),
    (42, "name must be text"),
    (["AWS"], "name must be text"),
    ({"first": "A"}, "name must be text"),
    (True, "name must be text"),
    ("", "name must not be empty"),
    ("   ", "name must not be empty"),
    ("A\x00B", "name must not hold control or other non-printable characters"),
    ("A\nB", "name must not hold control or other non-printable characters"),
    ("A\x1b[31mB", "name must not hold control or other non-printable characters"),
    ("\u202egnp.exe", "name must not hold control or other non-printable characters"),
    ("A\u2028B", "name must not hold control or other non-printable characters"),
], ids=["too-long", "number", "list", "object", "boolean", "empty", "blank", "nul", "newline", "ansi-escape",
        "bidi-override", "line-separator"])
@pytest.mark.parametrize("event", [HTTP_API_2_EVENT, REST_API_EVENT, DIRECT_EVENT],
                         ids=["http-api-2.0", "rest-api", "direct"])
def test_a_bad_name_gets_400_with_a_json_error(event, name, error):
    assert call(event_with_name(event, name)) == (400, {"error": error, "requestId": CONTEXT.aws_request_id})


# --- Refused events ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("event", "error"), [
    (None, "the event is not a JSON object"),
    ("name=AWS", "the event is not a JSON object"),
    (["AWS"], "the event is not a JSON object"),
    (7, "the event is not a JSON object"),
    ({"version": "3.0", "queryStringParameters": {"name": "AWS"}},
     "unsupported payload format version; allowed: 1.0, 2.0"),
    ({"version": 2, "queryStringParameters": {"name": "AWS"}},
     "unsupported payload format version; allowed: 1.0, 2.0"),
    ({"name": "AWS"}, "unexpected event fields; a direct invocation sends only queryStringParameters"),
    ({"Records": [{"eventSource": "aws:sqs"}]},
     "unexpected event fields; a direct invocation sends only queryStringParameters"),
    ({"queryStringParameters": "name=AWS"}, "queryStringParameters is not an object"),
    ({"queryStringParameters": ["AWS"]}, "queryStringParameters is not an object"),
    ({**HTTP_API_2_EVENT, "queryStringParameters": 5}, "queryStringParameters is not an object"),
], ids=["null", "string", "list", "number", "unknown-version", "numeric-version", "name-at-top-level",
        "sqs-records", "query-as-string", "query-as-list", "http-api-query-as-number"])
def test_an_unexpected_event_shape_gets_400_with_a_json_error(event, error):
    assert call(event) == (400, {"error": error, "requestId": CONTEXT.aws_request_id})


def test_a_request_context_of_the_wrong_type_does_not_break_the_handler():
    event = {**HTTP_API_2_EVENT, "requestContext": "not an object"}
    assert call(event)[0] == 200


def test_a_bug_becomes_a_json_500_instead_of_an_exception(monkeypatch, capsys):
    def broken(event):
        raise KeyError("surprise")

    monkeypatch.setattr(function, "requested_name", broken)
    assert call(DIRECT_EVENT) == (500, {"error": "internal error", "requestId": CONTEXT.aws_request_id})
    (line,) = log_lines(capsys)
    assert (line["level"], line["error"]) == ("ERROR", "unexpected KeyError")


# --- The log line --------------------------------------------------------------------------------------


def test_each_invocation_writes_one_json_log_line_with_both_request_ids(capsys):
    handler(HTTP_API_2_EVENT, CONTEXT)
    (line,) = log_lines(capsys)
    assert line["requestId"] == CONTEXT.aws_request_id
    assert line["apiRequestId"] == "JKJaXmPLvHcESHA="
    assert (line["source"], line["status"], line["level"], line["environment"]) == (
        "http-api-2.0", 200, "INFO", "test")
    assert line["nameLength"] == 3
    assert line["durationMs"] >= 0


def test_the_log_line_names_the_source_of_each_event_shape(capsys):
    for event in (REST_API_EVENT, HTTP_API_1_EVENT, DIRECT_EVENT):
        handler(event, CONTEXT)
    assert [line["source"] for line in log_lines(capsys)] == ["api-1.0", "api-1.0", "direct"]


def test_a_refused_request_logs_the_reason_and_status_400(capsys):
    handler(event_with_name(HTTP_API_2_EVENT, "A\nB"), CONTEXT)
    (line,) = log_lines(capsys)
    assert (line["status"], line["error"]) == (400, "name must not hold control or other non-printable characters")


def test_the_log_line_never_holds_the_name_itself(capsys):
    handler(event_with_name(HTTP_API_2_EVENT, "Secretive Sam"), CONTEXT)
    handler(event_with_name(HTTP_API_2_EVENT, "Sam\x1b" + "x" * 100), CONTEXT)
    assert "Sam" not in capsys.readouterr().out


def test_a_direct_invocation_logs_no_api_request_id(capsys):
    handler(DIRECT_EVENT, CONTEXT)
    (line,) = log_lines(capsys)
    assert line["apiRequestId"] is None and line["requestId"] == CONTEXT.aws_request_id


# --- The greeting secret -------------------------------------------------------------------------------

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:aws-compute-dev-greeting-AbCdEf"


class FakeSecretsManager:
    def __init__(self, secret_string: str = '{"greeting": "Howdy"}', error: Exception | None = None):
        self.secret_string = secret_string
        self.error = error
        self.calls: list[str] = []

    def get_secret_value(self, SecretId: str) -> dict:  # boto3 names the argument SecretId
        self.calls.append(SecretId)
        if self.error:
            raise self.error
        return {"ARN": SecretId, "SecretString": self.secret_string}


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def secrets(monkeypatch):
    """A configured greeting secret, served by a fake Secrets Manager client through the real cache."""
    client, clock = FakeSecretsManager(), FakeClock()
    monkeypatch.setenv("GREETING_SECRET_ARN", SECRET_ARN)
    monkeypatch.setattr(function, "SECRETS", SecretCache(client_factory=lambda: client, clock=clock))
    return SimpleNamespace(client=client, clock=clock)


def test_the_greeting_comes_from_the_secret_read_by_its_arn(secrets):
    assert call(DIRECT_EVENT)[1]["message"] == "Howdy, AWS!"
    assert secrets.client.calls == [SECRET_ARN]


def test_the_secret_is_read_once_across_warm_invocations(secrets):
    for _ in range(3):
        handler(DIRECT_EVENT, CONTEXT)
    assert secrets.client.calls == [SECRET_ARN]


def test_the_secret_is_read_again_once_the_cached_value_expires(secrets):
    handler(DIRECT_EVENT, CONTEXT)
    secrets.clock.now += function.SECRET_TTL_SECONDS + 1
    secrets.client.secret_string = '{"greeting": "Hi"}'
    assert call(DIRECT_EVENT)[1]["message"] == "Hi, AWS!"
    assert len(secrets.client.calls) == 2


def test_an_unreadable_secret_gives_a_json_500_and_an_error_log_line(secrets, capsys):
    secrets.client.error = PermissionError("AccessDeniedException")
    assert call(DIRECT_EVENT) == (500, {"error": "the function is misconfigured",
                                        "requestId": CONTEXT.aws_request_id})
    (line,) = log_lines(capsys)
    assert (line["level"], line["error"]) == ("ERROR", "reading the secret failed: PermissionError")


@pytest.mark.parametrize("secret_string", ["Howdy", '["Howdy"]', '{"greeting": ""}', '{"greeting": 5}',
                                           '{"greeting": "Hi\\u0000"}', '{"other": "x"}'])
def test_a_secret_without_a_usable_greeting_gives_a_json_500(secrets, secret_string):
    secrets.client.secret_string = secret_string
    assert call(DIRECT_EVENT)[0] == 500


def test_without_a_configured_secret_no_client_is_created(monkeypatch):
    def no_client():
        raise AssertionError("a Secrets Manager client was created")

    monkeypatch.setattr(function, "SECRETS", SecretCache(client_factory=no_client))
    assert call(DIRECT_EVENT)[1]["message"] == "Hello, AWS!"


# --- Fuzzing -------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
names = st.text() | st.none() | st.integers() | st.lists(st.text(), max_size=2) | st.binary().map(
    lambda raw: raw.decode("latin-1"))
shaped_events = st.builds(
    lambda base, name, extra: {**event_with_name(base, name), **extra},
    st.sampled_from([HTTP_API_2_EVENT, HTTP_API_1_EVENT, REST_API_EVENT, DIRECT_EVENT]),
    names,
    st.dictionaries(st.sampled_from(["version", "requestContext", "httpMethod", "queryStringParameters"]),
                    json_values, max_size=2),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=json_values | shaped_events)
def test_any_event_gets_a_json_answer_with_a_2xx_or_4xx_status_and_never_raises(event):
    response = handler(event, CONTEXT)
    assert 200 <= response["statusCode"] < 300 or 400 <= response["statusCode"] < 500
    assert response["headers"]["Content-Type"] == "application/json"
    assert isinstance(json.loads(response["body"]), dict)
