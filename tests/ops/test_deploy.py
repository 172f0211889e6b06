"""What an operator runs on a VPS without us: docker-compose.yml (parsed: there is no Docker
engine here) and deploy/Caddyfile (checked by the real `caddy adapt` and `caddy validate`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from live.config import settings_from_env
from tests.support.caddy import CADDY

ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = ROOT / "deploy" / "Caddyfile"
DOMAIN = "shop.example.org"


def services() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_caddy_fronts_two_app_processes_and_redis_keeps_an_aof() -> None:
    data = services()
    s = data["services"]
    apps = [s["app"], s["app2"]]
    caddy = s["caddy"]
    # Only Caddy is published, on 80 (ACME, redirects) and 443 (TCP and QUIC).
    assert {"80:80", "443:443"} <= set(caddy["ports"])
    assert all("ports" not in app for app in apps)
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert any(v.startswith("caddy-data:") for v in caddy["volumes"])  # certificates kept
    assert "LIVE_PUBLIC_URL" in caddy["environment"]
    caddy_address = caddy["networks"]["live"]["ipv4_address"]
    for app in apps:
        env = app["environment"]
        assert env["LIVE_TRUSTED_PROXIES"] == caddy_address  # Caddy's headers only
        assert env["LIVE_PUBLIC_URL"].startswith("${LIVE_PUBLIC_URL:?")
        assert app["command"][:2] == ["live", "serve"] and "--workers" not in app["command"]
        # Docker's SIGKILL comes after the drain, not during it.
        drain = float(env["LIVE_DRAIN_SECONDS"].split(":-")[1].rstrip("}"))
        assert float(app["stop_grace_period"].rstrip("s")) > drain
    redis = s["redis"]["command"]
    assert redis[redis.index("--appendonly") + 1] == "yes"


def test_the_app_user_owns_its_upload_folder() -> None:
    """A new named volume takes the owner of the image's folder it is mounted on; a folder the
    image lacks is root's, and `live serve` runs as the image's USER: photo uploads would fail
    with "permission denied". The image makes the folder for its user and points the app at it
    (so a plain `docker run` can upload too: /app is root's)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    user = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)[-1]
    app = services()["services"]["app"]
    folder = app["environment"]["LIVE_UPLOAD_DIR"]
    assert f"uploads:{folder}" in app["volumes"]
    assert f"install -d -o {user} {folder}" in dockerfile
    assert re.search(rf"^ENV LIVE_UPLOAD_DIR={re.escape(folder)}$", dockerfile, re.MULTILINE)


def test_the_app_settings_of_compose_are_valid() -> None:
    env = services()["services"]["app"]["environment"]
    given = {}
    for name, value in env.items():
        value = str(value)
        if value.startswith("${"):
            inner = value[2:-1]
            value = inner.split(":-", 1)[1] if ":-" in inner else f"https://{DOMAIN}"
            if name in ("LIVE_ADMIN_TOKEN", "LIVE_SECRET_KEY"):
                value = "x" * 32
        given[name] = value
    settings = settings_from_env(given)
    assert settings.drain_seconds == 10
    assert settings.metrics_allow == ()
    assert settings.base_url == f"https://{DOMAIN}"


@pytest.fixture
def caddy_home() -> dict[str, str]:
    assert CADDY, "caddy is not installed (apt-get install caddy)"
    home = tempfile.mkdtemp(prefix="live-caddy-check-")
    return {
        **os.environ,
        "HOME": home,
        "XDG_DATA_HOME": f"{home}/data",
        "XDG_CONFIG_HOME": f"{home}/config",
        "LIVE_PUBLIC_URL": f"https://{DOMAIN}",
    }


def test_the_caddyfile_adapts_to_a_proxy_with_health_checks(caddy_home: dict[str, str]) -> None:
    assert CADDY
    adapted = subprocess.run(
        [CADDY, "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env=caddy_home,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    config = json.loads(adapted.stdout)
    server = config["apps"]["http"]["servers"]["srv0"]
    assert server["listen"] == [":443"]  # HTTPS, certificate by ACME for the domain
    route = server["routes"][0]
    assert route["match"] == [{"host": [DOMAIN]}]
    handlers = [h for r in route["handle"][0]["routes"] for h in r["handle"]]
    hidden = handlers[0]
    assert hidden["handler"] == "static_response" and hidden["status_code"] == 404  # /metrics
    proxy = next(h for h in handlers if h["handler"] == "reverse_proxy")
    upstreams = {u["dial"] for u in proxy["upstreams"]}
    assert (
        upstreams
        == {"app:8000", "app2:8000"}
        == {f"{name}:8000" for name in services()["services"] if name.startswith("app")}
    )
    assert proxy["health_checks"]["active"]["uri"] == "/readyz"


def test_caddy_validates_the_caddyfile(caddy_home: dict[str, str]) -> None:
    assert CADDY
    result = subprocess.run(
        [CADDY, "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env=caddy_home,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=caddy_home["HOME"],
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Valid configuration" in result.stdout + result.stderr
