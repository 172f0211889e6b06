"""Files an operator runs without us: docker-compose.yml (no Docker engine here), Dockerfile, CI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_redis_keeps_an_append_only_file_on_a_named_volume() -> None:
    data = compose()
    redis = data["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "everysec"
    volume, _, mount = redis["volumes"][0].partition(":")
    assert mount == "/data" and volume in data["volumes"]
    assert "redis-cli" in redis["healthcheck"]["test"]


def test_compose_app_is_built_here_and_configured_by_environment() -> None:
    app = compose()["services"]["app"]
    assert app["build"] == "."
    env = app["environment"]
    assert env["LIVE_REDIS_URL"].startswith("redis://redis:6379")
    assert {"LIVE_ADMIN_TOKEN", "LIVE_SECRET_KEY", "LIVE_PUBLIC_URL"} <= set(env)
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert app["command"][:2] == ["live", "serve"]


def test_dockerfile_installs_the_package_and_runs_live_serve() -> None:
    text = (ROOT / "Dockerfile").read_text()
    for needed in (
        "COPY live ./live",
        "COPY templates ./templates",
        "COPY static ./static",
        "pip install",
        'CMD ["live", "serve"',
    ):
        assert needed in text
    assert "USER live" in text  # not root


def test_ci_script_is_executable_and_requires_redis() -> None:
    script = ROOT / ".ci" / "run"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert "LIVE_REQUIRE_REDIS=1" in text and "make test" in text and "apt-get install" in text


def test_compose_redis_has_a_memory_ceiling_and_never_evicts() -> None:
    import re
    import socket

    from tests.support.redis_server import throwaway_redis

    command = compose()["services"]["redis"]["command"]
    ceiling = command[command.index("--maxmemory") + 1]
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    # The ceiling is `${REDIS_MAXMEMORY:-…}`; a real redis-server takes its default as given.
    default = re.fullmatch(r"\$\{REDIS_MAXMEMORY:-(\w+)\}", ceiling)
    assert default is not None, ceiling
    server = throwaway_redis("--maxmemory", default.group(1), "--maxmemory-policy", "noeviction")
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=2) as s:
            s.sendall(b"CONFIG GET maxmemory-policy\r\n")
            assert b"noeviction" in s.recv(200)
    finally:
        server.discard()
