"""The Lambda function behind the HTTP API: greets the caller by the ``name`` query parameter.

It accepts three event shapes and answers each with a status, a JSON content type and a JSON body:

- API Gateway HTTP API proxy events, payload format 2.0 (``"version": "2.0"``);
- API Gateway REST API proxy events, and HTTP API events in payload format 1.0 (``httpMethod``);
- a direct invocation whose event is ``{"queryStringParameters": {"name": "AWS"}}`` (or ``{}``), as
  ``aws lambda invoke --payload`` sends it.

A missing name is greeted as DEFAULT_NAME. A name that is empty, longer than MAX_NAME_LENGTH, not text,
or holds control or other non-printable characters gets 400 with a JSON error; so does any other event.
The handler never raises: whatever goes wrong becomes a JSON response. Each invocation writes exactly
one JSON log line (never the name itself, only its length) with Lambda's request id.

Settings come from the environment: ENVIRONMENT (shown in the log line) and, optionally,
GREETING_SECRET_ARN, a Secrets Manager secret whose JSON ``{"greeting": "..."}`` replaces "Hello". The
secret is read by ARN, never put in an environment variable, and cached across invocations.

Standard library only; boto3 comes with the Lambda runtime and is imported only when a secret is read.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

DEFAULT_NAME = "World"
DEFAULT_GREETING = "Hello"
MAX_NAME_LENGTH = 64
MAX_GREETING_LENGTH = 64
SECRET_TTL_SECONDS = 300.0  # a rotated secret reaches warm environments within five minutes
DIRECT_EVENT_KEYS = frozenset({"queryStringParameters"})
RESPONSE_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store",
                    "X-Content-Type-Options": "nosniff"}


class BadRequest(Exception):
    """The event cannot be answered; the message says why, for the caller."""


class SecretUnavailable(Exception):
    """The configured secret could not be read or has no usable greeting."""


# --- Secrets -----------------------------------------------------------------------------------------


def _boto3_secrets_client() -> Any:
    import boto3  # in the Lambda runtime, not in the project's venv; imported on first use only

    return boto3.client("secretsmanager")


class SecretCache:
    """Secret strings by ARN, fetched once per SECRET_TTL_SECONDS per warm execution environment."""

    def __init__(self, client_factory: Callable[[], Any] = _boto3_secrets_client,
                 ttl_seconds: float = SECRET_TTL_SECONDS, clock: Callable[[], float] = time.monotonic):
        self._client_factory = client_factory
        self._client: Any = None
        self._ttl = ttl_seconds
        self._clock = clock
        self._values: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def secret_string(self, arn: str) -> str:
        with self._lock:
            cached = self._values.get(arn)
            if cached and self._clock() - cached[0] < self._ttl:
                return cached[1]
            if self._client is None:
                self._client = self._client_factory()
            value = self._client.get_secret_value(SecretId=arn)["SecretString"]
            self._values[arn] = (self._clock(), value)
            return value


SECRETS = SecretCache()


def greeting_from_secret(secret_string: str) -> str:
    try:
        greeting = json.loads(secret_string).get("greeting")
    except (ValueError, AttributeError):
        raise SecretUnavailable("the secret is not a JSON object") from None
    if not isinstance(greeting, str) or not greeting.strip() or len(greeting) > MAX_GREETING_LENGTH \
            or not greeting.isprintable():
        raise SecretUnavailable(f"the secret's greeting is not 1-{MAX_GREETING_LENGTH} printable characters")
    return greeting.strip()


def configured_greeting(env: Mapping[str, str], secrets: SecretCache) -> str:
    arn = env.get("GREETING_SECRET_ARN", "").strip()
    if not arn:
        return DEFAULT_GREETING
    try:
        secret_string = secrets.secret_string(arn)
    except Exception as error:  # the SDK's errors (access denied, throttled, network) all mean the same here
        raise SecretUnavailable(f"reading the secret failed: {type(error).__name__}") from None
    return greeting_from_secret(secret_string)


# --- Events ------------------------------------------------------------------------------------------


def event_source(event: Any) -> str:
    """Which of the accepted shapes the event has: 'http-api-2.0', 'api-1.0' or 'direct'."""
    if not isinstance(event, dict):
        raise BadRequest("the event is not a JSON object")
    version = event.get("version")
    if version == "2.0":
        return "http-api-2.0"
    if version == "1.0" or (version is None and "httpMethod" in event):
        return "api-1.0"
    if version is not None:
        raise BadRequest("unsupported payload format version; allowed: 1.0, 2.0")
    if any(key not in DIRECT_EVENT_KEYS for key in event):
        raise BadRequest("unexpected event fields; a direct invocation sends only queryStringParameters")
    return "direct"


def api_request_id(event: Any) -> str | None:
    """API Gateway's own request id, which its access log records too."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    request_id = context.get("requestId") if isinstance(context, dict) else None
    return request_id if isinstance(request_id, str) else None


def requested_name(event: dict[str, Any]) -> str:
    """The validated ``name`` query parameter, or DEFAULT_NAME when it is absent."""
    query = event.get("queryStringParameters")
    if query is None:  # API Gateway sends null (1.0) or leaves the field out (2.0) without a query string
        return DEFAULT_NAME
    if not isinstance(query, dict):
        raise BadRequest("queryStringParameters is not an object")
    name = query.get("name")
    if name is None:
        return DEFAULT_NAME
    if not isinstance(name, str):
        raise BadRequest("name must be text")
    if not name.strip():
        raise BadRequest("name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise BadRequest(f"name must be at most {MAX_NAME_LENGTH} characters")
    if not name.isprintable():
        raise BadRequest("name must not hold control or other non-printable characters")
    return name.strip()


# --- Responses and the log line ------------------------------------------------------------------------


def json_response(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    """The proxy integration's response; both payload versions and direct callers read it the same way."""
    return {
        "statusCode": status,
        "headers": dict(RESPONSE_HEADERS),
        "isBase64Encoded": False,
        "body": json.dumps(body, ensure_ascii=False, sort_keys=True),
    }


def write_log_line(fields: Mapping[str, Any]) -> None:
    # stdout goes to the function's log group; one JSON object per line keeps Logs Insights queries simple
    sys.stdout.write(json.dumps(fields, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def handler(event: Any, context: Any) -> dict[str, Any]:
    started = time.monotonic()
    request_id = getattr(context, "aws_request_id", None)
    log: dict[str, Any] = {"requestId": request_id, "environment": os.environ.get("ENVIRONMENT", "")}
    try:
        log["apiRequestId"] = api_request_id(event)
        log["source"] = event_source(event)
        name = requested_name(event)
        log["nameLength"] = len(name)
        greeting = configured_greeting(os.environ, SECRETS)
        response = json_response(200, {"message": f"{greeting}, {name}!", "requestId": request_id})
    except BadRequest as error:
        log["error"] = str(error)
        response = json_response(400, {"error": str(error), "requestId": request_id})
    except SecretUnavailable as error:
        log["error"] = str(error)
        response = json_response(500, {"error": "the function is misconfigured", "requestId": request_id})
    except Exception as error:  # a bug: answer in JSON all the same, and leave its type in the log
        log["error"] = f"unexpected {type(error).__name__}"
        response = json_response(500, {"error": "internal error", "requestId": request_id})
    log["status"] = response["statusCode"]
    log["level"] = "INFO" if response["statusCode"] < 500 else "ERROR"
    log["durationMs"] = round((time.monotonic() - started) * 1000, 3)
    with contextlib.suppress(Exception):  # a closed stdout must not turn an answer into an error
        write_log_line(log)
    return response
