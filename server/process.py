"""Run ``unnatural serve`` as a child process and wait until it is ready: for tests, benchmarks
and experiments that need a real server on this machine."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .settings import TOKEN_ENV


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``unnatural serve --port <free> ARGS`` on 127.0.0.1, ready when constructed.

    Args:
        args: further ``unnatural serve`` flags (``--workers``, ``--config`` ...).
        log: file that receives the server's stdout and stderr (access log included).
        token: bearer token the server expects (sent by :attr:`client`); the child never
            inherits ``$UNNATURAL_TOKEN`` from this process.
        ready_timeout: seconds to wait for ``/readyz``.

    Attributes:
        url: ``http://127.0.0.1:<port>``; ``client``: an ``httpx.Client`` on it with the token;
        proc: the ``subprocess.Popen``.

    Raises:
        RuntimeError: the server exited or was not ready in time (the message holds its log).
    """

    def __init__(self, args: list[str], log: Path, token: str | None = None, ready_timeout: float = 180):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(log)
        env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
        root = Path(__file__).resolve().parents[1]
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "unnatural", "serve", "--port", str(self.port),
                                          *args], cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=self.url, timeout=120,
                                   headers={"Authorization": f"Bearer {token}"} if token else {})
        deadline = time.monotonic() + ready_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}):\n{self.log.read_text()}")
            try:
                if self.client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server was not ready in {ready_timeout:g} s:\n{self.log.read_text()}")
            time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        """Pids of the render processes (from ``/readyz``)."""
        return [w["pid"] for w in self.client.get("/readyz").json()["workers"] if w["pid"]]

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful shutdown), then SIGKILL after 30 s."""
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
