"""Real Redis high-availability set-ups on loopback: Sentinel (primary, two replicas, three
sentinels) and Cluster (three primaries). Every process is started here and stopped after.

Sentinel timings are shortened (down after 1 s) so a failover takes seconds, not a minute.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from live.tools.devredis import RedisServer, free_port, start_redis
from tests.support.redis_server import redis_binary

SERVICE = "mymaster"


def _binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (apt-get install {package})"
        if os.environ.get("LIVE_REQUIRE_REDIS") == "1":
            pytest.fail(message + "; LIVE_REQUIRE_REDIS=1 forbids skipping", pytrace=False)
        pytest.skip(message)
    return path


def command(port: int, *args: str, timeout: float = 2.0) -> str:
    """One command with redis-cli (the reply as text)."""
    out = subprocess.run(
        [_binary("redis-cli", "redis-tools"), "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return out.stdout.strip()


def _wait(what: str, check: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():  # type: ignore[operator]
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} within {timeout} s")


@dataclass
class SentinelGroup:
    primary: RedisServer
    replicas: list[RedisServer]
    sentinel_ports: list[int]
    directory: Path
    sentinels: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}"

    def primary_port(self) -> int:
        """The primary's port as the sentinels name it now."""
        reply = command(self.sentinel_ports[0], "SENTINEL", "get-master-addr-by-name", SERVICE)
        return int(reply.split()[-1])

    def ready(self) -> bool:
        """Every sentinel knows both replicas and the two other sentinels."""
        for port in self.sentinel_ports:
            info = command(port, "SENTINEL", "master", SERVICE).split("\n")
            fields = dict(zip(info[0::2], info[1::2], strict=False))
            if (
                int(fields.get("num-slaves", 0)) < 2
                or int(fields.get("num-other-sentinels", 0)) < 2
            ):
                return False
        return all(
            "master_link_status:up" in command(r.port, "INFO", "replication") for r in self.replicas
        )

    def stop(self) -> None:
        for proc in self.sentinels:
            proc.kill()
            proc.wait(timeout=10)
        self.primary.discard()
        for replica in self.replicas:
            replica.discard()
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def sentinel_group() -> Iterator[SentinelGroup]:
    """A primary, two replicas and three sentinels (quorum 2), ready to fail over. Two
    replicas: after a failover the new primary still has one, which WAIT needs."""
    binary = redis_binary()
    sentinel_bin = _binary("redis-sentinel", "redis-sentinel")
    primary = start_redis(binary)
    replicas = [start_redis(binary, "--replicaof", "127.0.0.1", str(primary.port)) for _ in "ab"]
    directory = Path(tempfile.mkdtemp(prefix="live-sentinel-"))
    group = SentinelGroup(primary, replicas, [free_port() for _ in range(3)], directory)
    try:
        for i, port in enumerate(group.sentinel_ports):
            conf = directory / f"sentinel-{i}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
                f"logfile {directory / f'sentinel-{i}.log'}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {primary.port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 5000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            group.sentinels.append(
                subprocess.Popen(
                    [sentinel_bin, str(conf)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        _wait("the sentinels did not find each other and the replica", group.ready)
        yield group
    finally:
        group.stop()


@dataclass
class Cluster:
    nodes: list[RedisServer]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def owner_of(self, key: str) -> int:
        """The port of the primary holding `key`."""
        slot = int(command(self.nodes[0].port, "CLUSTER", "KEYSLOT", key))
        for line in command(self.nodes[0].port, "CLUSTER", "NODES").splitlines():
            parts = line.split()
            if "master" not in parts[2]:
                continue
            for span in parts[8:]:
                first, _, last = span.partition("-")
                if first.isdigit() and int(first) <= slot <= int(last or first):
                    return int(parts[1].split("@")[0].rsplit(":", 1)[1])
        raise LookupError(f"no primary holds slot {slot}")

    def keys_on(self, port: int, pattern: str) -> list[str]:
        return [k for k in command(port, "--scan", "--pattern", pattern).splitlines() if k]


@contextlib.contextmanager
def redis_cluster() -> Iterator[Cluster]:
    """Three primaries, no replicas, the 16384 slots spread by redis-cli."""
    binary = redis_binary()
    nodes: list[RedisServer] = []
    try:
        for _ in range(3):
            nodes.append(
                start_redis(
                    binary,
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                    # Its own bus port: the default (port + 10000) overflows for high ports.
                    "--cluster-port",
                    str(free_port()),
                )
            )
        ports = [f"127.0.0.1:{n.port}" for n in nodes]
        command(nodes[0].port, "--cluster", "create", *ports, "--cluster-yes", timeout=30)
        _wait(
            "the cluster did not become ready",
            lambda: all("cluster_state:ok" in command(n.port, "CLUSTER", "INFO") for n in nodes),
        )
        yield Cluster(nodes)
    finally:
        for node in nodes:
            node.discard()


def freeze(server: RedisServer, *, frozen: bool = True) -> None:
    """Stop (SIGSTOP) or resume (SIGCONT) a server: it falls behind without losing its
    connections, as a busy or distant replica does."""
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGSTOP if frozen else signal.SIGCONT)
