"""A throwaway redis-server for tests and benchmarks: own temp dir and socket, no persistence.

It never touches a Redis it did not start. Pass extra arguments (for example
`--appendonly yes --appendfsync always`) to test persistence.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    """One redis-server process; after `stop()`, `start()` brings it back on the same address."""

    binary: str
    directory: Path
    port: int
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.directory / "redis.sock"

    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def tcp_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            str(self.directory / "redis.log"),
            *self.extra_args,
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.directory / "redis.log"
                raise RuntimeError(
                    f"redis-server exited: {log.read_text() if log.exists() else ''}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer within {timeout} s")

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(timeout=10)
        self.process = None

    def discard(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_redis(binary: str | None = None, *extra_args: str) -> RedisServer:
    """Start a new throwaway redis-server; raises FileNotFoundError if there is none installed."""
    binary = binary or shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
    directory = Path(tempfile.mkdtemp(prefix="live-redis-"))
    server = RedisServer(
        binary=binary, directory=directory, port=free_port(), extra_args=extra_args
    )
    try:
        server.start()
    except Exception:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return server
