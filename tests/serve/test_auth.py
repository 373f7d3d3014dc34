"""Bearer keys on /v1, and the refusal to listen beyond loopback without one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from tests.serve.conftest import MODEL, SPAM_ROW, SRC

from dawn.errors import ConfigError
from dawn.serve.auth import api_key_from_env, check_listen, is_loopback, key_matches

KEY = "k3y-for-tests"


@pytest.fixture(scope="module")
def keyed(trained_project, tmp_path_factory):
    import shutil

    from tests.serve.conftest import Server

    folder = tmp_path_factory.mktemp("auth") / "project"
    shutil.copytree(trained_project, folder)
    server = Server(folder, api_key=KEY).start()
    yield server
    server.stop()


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY},
    {"Authorization": f"Basic {KEY}"}, {"Authorization": f"Bearer {KEY}x"},
])
def test_v1_without_the_right_key_is_401(keyed, headers):
    import httpx

    with httpx.Client(base_url=keyed.url, headers=headers) as c:
        for r in (c.get("/v1/models"), c.post(f"/v1/models/{MODEL}/predict",
                                              json={"rows": [SPAM_ROW]}),
                  c.get(f"/v1/models/{MODEL}/drift")):
            assert r.status_code == 401, r.text
            assert "Authorization: Bearer <key>" in r.json()["detail"]
            assert r.headers["www-authenticate"] == "Bearer"


def test_the_right_key_opens_v1_and_health_needs_none(keyed):
    import httpx

    assert httpx.get(f"{keyed.url}/health").status_code == 200
    with keyed.client() as c:  # sends Authorization: Bearer KEY
        assert c.get("/v1/models").status_code == 200
        r = c.post(f"/v1/models/{MODEL}/predict", json={"rows": [SPAM_ROW]})
    assert r.status_code == 200 and r.json()["predictions"] == ["spam"]


def test_an_unknown_model_behind_auth_is_401_not_404(keyed):
    import httpx

    r = httpx.post(f"{keyed.url}/v1/models/secret-name/predict", json={"rows": [SPAM_ROW]})
    assert r.status_code == 401  # no model names leak without the key


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.3.4.5", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("::", False), ("192.168.1.20", False),
    ("example.org", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_refuses_a_non_loopback_host_without_a_key():
    with pytest.raises(ConfigError, match=r"refusing to listen on '0.0.0.0' without an API "
                                          r"key.*Set DAWN_API_KEY"):
        check_listen("0.0.0.0", None)
    check_listen("0.0.0.0", KEY)  # with a key it may
    check_listen("127.0.0.1", None)


def test_key_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DAWN_API_KEY", "from-env")
    assert api_key_from_env() == "from-env"
    assert api_key_from_env("given") == "given"
    monkeypatch.setenv("DAWN_API_KEY", "")
    assert api_key_from_env() is None
    assert key_matches("Bearer from-env", "from-env")
    assert not key_matches(None, "from-env")


def test_serve_command_exits_2_on_a_public_host_without_a_key(tmp_path):
    script = ("import typer\n"
              "from dawn.cli._output import run_cli\n"
              "from dawn.cli.serve import serve\n"
              "app = typer.Typer()\n"
              "app.command()(serve)\n"
              "run_cli(app)\n")
    env = dict(os.environ, PYTHONPATH=SRC)
    env.pop("DAWN_API_KEY", None)
    proc = subprocess.run([sys.executable, "-c", script, "--host", "0.0.0.0", "--project",
                           str(tmp_path)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert "refusing to listen on '0.0.0.0' without an API key" in proc.stderr
