"""A real Caddy (Debian's `caddy`) terminating TLS on loopback in front of `live serve`
processes: its own CA (`tls internal`), active health checks on `/readyz`, websockets passed
through. Its state (certificates) lives in a temporary folder; the admin API is off."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import httpx2 as httpx

from live.tools.devredis import free_port

CADDY = shutil.which("caddy")

SITE = """\
{{
	admin off
	skip_install_trust
	local_certs
	auto_https disable_redirects
}}

https://127.0.0.1:{port} {{
	tls internal
	reverse_proxy {upstreams} {{
		lb_policy round_robin
		# A draining process answers 503 here first (live/web/drain.py): no new sockets.
		health_uri /readyz
		health_interval 200ms
		health_timeout 1s
		# A request that finds no healthy upstream waits for one instead of failing.
		lb_try_duration 5s
		lb_try_interval 100ms
		fail_duration 2s
	}}
}}
"""


class Caddy:
    def __init__(self, upstream_ports: list[int], port: int | None = None) -> None:
        assert CADDY, "caddy is not installed (apt-get install caddy)"
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="live-caddy-"))
        upstreams = " ".join(f"127.0.0.1:{p}" for p in upstream_ports)
        self.caddyfile = self.dir / "Caddyfile"
        self.caddyfile.write_text(SITE.format(port=self.port, upstreams=upstreams))
        self.env = {
            **os.environ,
            "HOME": str(self.dir),
            "XDG_DATA_HOME": str(self.dir / "data"),
            "XDG_CONFIG_HOME": str(self.dir / "config"),
        }
        self.log = (self.dir / "caddy.log").open("w")
        self.proc = subprocess.Popen(
            [CADDY, "run", "--config", str(self.caddyfile), "--adapter", "caddyfile"],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_listening()

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"wss://127.0.0.1:{self.port}"

    @property
    def root_cert(self) -> Path:
        return self.dir / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts Caddy's own CA only: the certificate chain is really checked."""
        return ssl.create_default_context(cafile=str(self.root_cert))

    def _wait_listening(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"caddy exited:\n{self.output()}")
            if self.root_cert.exists():
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError(f"caddy did not start:\n{self.output()}")

    def wait_healthy(self, times: int, timeout: float = 10) -> None:
        """`/readyz` through the proxy answered 200 `times` in a row (round robin: each
        upstream once at least)."""
        deadline = time.monotonic() + timeout
        streak = 0
        with httpx.Client(verify=self.ssl_context(), timeout=2) as client:
            while streak < times:
                if time.monotonic() > deadline:
                    raise AssertionError(f"caddy sees no healthy upstream:\n{self.output()}")
                try:
                    ok = client.get(f"{self.base}/readyz").status_code == 200
                except httpx.TransportError:
                    ok = False
                streak = streak + 1 if ok else 0
                if not ok:
                    time.sleep(0.1)

    def output(self) -> str:
        self.log.flush()
        return (self.dir / "caddy.log").read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
