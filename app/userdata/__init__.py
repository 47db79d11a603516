"""User data that turns a bare Amazon Linux 2023 instance into a host of the web service (app/web/server.py).

``render_user_data`` returns a bash script for cloud-init. The service's code travels inside it (gzip, then
base64), so the instance downloads nothing at boot; systemd runs it under its own unprivileged user with a
hardened unit. The server component and the fleet's launch template both call it. Runs at render time in the
Pulumi program, but stays Python 3.9 compatible like the rest of app/.
"""

from __future__ import annotations

import base64
import gzip
import math
import re
from collections.abc import Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVER_SCRIPT = HERE.parent / "web" / "server.py"
SCRIPT_TEMPLATE = HERE / "bootstrap.sh.tmpl"
UNIT_TEMPLATE = HERE / "service.unit.tmpl"

# EC2 refuses user data above 16 KB (before base64).
MAX_USER_DATA_BYTES = 16 * 1024

DEFAULT_PORT = 8080
DEFAULT_SHUTDOWN_GRACE_SECONDS = 15
# systemd waits this much beyond the service's own grace before it sends SIGKILL.
STOP_MARGIN_SECONDS = 15

_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLACEHOLDER = re.compile(r"@@[A-Z_]+@@")
# An SSM parameter name: safe inside double quotes in the script, and what SSM allows in a path.
_PARAMETER_NAME = re.compile(r"^/[A-Za-z0-9_.\-/]{1,1010}$")


class UserDataError(ValueError):
    """The service name or an environment variable cannot be written safely; the message names it."""


def render_user_data(service_env: Mapping[str, str], *, service_name: str = "web",
                     agent_config_parameter: str = "") -> str:
    """The cloud-init script that installs app/web/server.py as the systemd service ``service_name``,
    with ``service_env`` as its environment (see app/web/server.py for the variables it reads), and, when
    ``agent_config_parameter`` names an SSM parameter, the CloudWatch agent configured from it. The agent's
    configuration is fetched at boot rather than embedded: the script must stay under EC2's 16 KB."""
    if not _SERVICE_NAME.match(service_name):
        raise UserDataError(f"service name {service_name!r}: allowed: a lowercase letter, then up to 30 "
                            f"lowercase letters, digits or '-' (it names a user, a unit and directories)")
    if agent_config_parameter and not _PARAMETER_NAME.match(agent_config_parameter):
        raise UserDataError(f"agent configuration parameter {agent_config_parameter!r}: allowed: an SSM parameter "
                            f"path starting with /, of letters, digits and _ . - /")
    script = _fill(SCRIPT_TEMPLATE.read_text(), {
        "SERVICE": service_name,
        "PAYLOAD": embedded_server_code(),
        "ENVIRONMENT": environment_file(service_env),
        "UNIT": systemd_unit(service_env, service_name),
        "AGENT_CONFIG": agent_config_parameter,
    })
    size = len(script.encode())
    if size > MAX_USER_DATA_BYTES:
        raise UserDataError(f"user data is {size} bytes; EC2 allows at most {MAX_USER_DATA_BYTES}")
    return script


def embedded_server_code() -> str:
    """app/web/server.py, gzip-ed (with a fixed timestamp, so the same code gives the same user data and no
    needless instance replacement) and base64-encoded in lines of 76 characters."""
    packed = gzip.compress(SERVER_SCRIPT.read_bytes(), compresslevel=9, mtime=0)
    return base64.encodebytes(packed).decode("ascii").rstrip("\n")


def environment_file(service_env: Mapping[str, str]) -> str:
    """One ``NAME="value"`` line per variable, in systemd EnvironmentFile syntax, which for double-quoted
    values is also the shell's: so the file means the same to systemd and to ``bash -c '. file'``."""
    lines = []
    for name, value in sorted(service_env.items()):
        if not _ENV_NAME.match(name):
            raise UserDataError(f"environment variable name {name!r}: allowed: letters, digits and '_', "
                                f"not starting with a digit")
        if not isinstance(value, str) or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise UserDataError(f"environment variable {name}: allowed: a string without control characters "
                                f"(newlines included)")
        lines.append(f"{name}={shell_double_quoted(value)}")
    return "\n".join(lines)


def shell_double_quoted(value: str) -> str:
    escaped = "".join("\\" + c if c in '\\"$`' else c for c in value)
    return f'"{escaped}"'


def systemd_unit(service_env: Mapping[str, str], service_name: str) -> str:
    port = _number(service_env, "PORT", DEFAULT_PORT)
    grace = _number(service_env, "SHUTDOWN_GRACE_SECONDS", DEFAULT_SHUTDOWN_GRACE_SECONDS)
    return _fill(UNIT_TEMPLATE.read_text(), {
        "SERVICE": service_name,
        "STOP_TIMEOUT": str(math.ceil(grace) + STOP_MARGIN_SECONDS),
        "CAPABILITIES": "CAP_NET_BIND_SERVICE" if 0 < port < 1024 else "",
    }).rstrip("\n")


def _number(service_env: Mapping[str, str], name: str, default: float) -> float:
    raw = (service_env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise UserDataError(f"environment variable {name} = {raw!r}: allowed: a number") from None
    if not math.isfinite(value) or value < 0:
        raise UserDataError(f"environment variable {name} = {raw!r}: allowed: a number of at least 0")
    return value


def _fill(template: str, values: Mapping[str, str]) -> str:
    """Replace each ``@@NAME@@`` in one pass, so that text inside a value is never taken for a placeholder."""
    missing = sorted({m[2:-2] for m in _PLACEHOLDER.findall(template)} - set(values))
    if missing:
        raise AssertionError(f"template placeholders without a value: {missing}")
    return _PLACEHOLDER.sub(lambda match: values[match.group(0)[2:-2]], template)
