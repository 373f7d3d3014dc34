"""Fixtures for the HTTP service: a trained demo project and real uvicorn servers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import dawn

SRC = str(Path(dawn.__file__).resolve().parents[1])
MODEL = "comment-spam"
SPAM_ROW = {"text": "check out my channel for free gift card http://bit.ly/2xq9",
            "account_age_days": 3, "n_links": 1}
HAM_ROW = {"text": "i love this song so much", "account_age_days": 900, "n_links": 0}

_SERVER = ("import sys\n"
           "from dawn.serve.app import run\n"
           "run(sys.argv[1], host=sys.argv[2], port=int(sys.argv[3]))\n")


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory) -> Path:
    """The demo project, trained once (version 1 of ``comment-spam`` registered)."""
    from dawn.demo.run import run_demo

    folder = tmp_path_factory.mktemp("serve-demo")
    run_demo(folder, n=1000, seed=0)
    return folder


@pytest.fixture
def project(trained_project: Path, tmp_path: Path) -> Path:
    """A private copy of the trained project (tests may promote, log and kill in it)."""
    folder = tmp_path / "project"
    shutil.copytree(trained_project, folder)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``dawn.serve.app.run`` in a subprocess on a free loopback port."""

    def __init__(self, folder: Path, *, api_key: str | None = None) -> None:
        self.folder = Path(folder)
        self.api_key = api_key
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log = self.folder / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Server:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([SRC, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env.pop("DAWN_API_KEY", None)
        if self.api_key:
            env["DAWN_API_KEY"] = self.api_key
        self.port = free_port()
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _SERVER, str(self.folder), "127.0.0.1", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.folder)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}):\n"
                                   f"{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def client(self, **kwargs) -> httpx.Client:
        headers = kwargs.pop("headers", {})
        if self.api_key:
            headers.setdefault("Authorization", f"Bearer {self.api_key}")
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0, **kwargs)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server_factory():
    """Start servers with ``server_factory(folder, api_key=None)``; all stopped after."""
    started: list[Server] = []

    def make(folder: Path, *, api_key: str | None = None) -> Server:
        server = Server(folder, api_key=api_key).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
