"""docker-py's private calls behind app/core/docker_api.py: fail loudly, by name, when a
docker-py release changes one; and docker-py loaded without paramiko until ssh:// needs it."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import tarfile

import docker
import docker.errors
import pytest

from app.core import docker_api
from app.core.credentials import Login
from app.core.reference import parse_normalized
from app.core.secret import Secret
from tests.harness.sandbox import SandboxInfo


def _parameters(function: object) -> tuple[str, ...]:
    """`("self", "url", "*args", "**kwargs")`: names with their star, defaults left out."""
    stars = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
    return tuple(
        stars.get(p.kind, "") + p.name for p in inspect.signature(function).parameters.values()
    )


@pytest.mark.parametrize("name", sorted(docker_api.PRIVATE_METHODS))
def test_private_method_keeps_its_signature(name: str) -> None:
    method = getattr(docker.APIClient, name, None)
    if method is None:
        pytest.fail(
            f"docker-py {docker.__version__} has no APIClient.{name} any more; "
            "app/core/docker_api.py calls it (push, export, login check)"
        )
    expected = docker_api.PRIVATE_METHODS[name]
    found = _parameters(method)
    if found != expected:
        pytest.fail(
            f"docker-py {docker.__version__} changed APIClient.{name}: "
            f"expected ({', '.join(expected)}), found ({', '.join(found)}); "
            "app/core/docker_api.py must follow"
        )


def test_each_private_call_works_on_the_engine(
    engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str
) -> None:
    api = engine_client.api
    assert docker_api.url(api, "/images/{0}/push", "team/app").endswith(
        f"/v{api.api_version}/images/team/app/push"
    )
    # get_stream + raise_for_status: an export, as a stream of a tar archive.
    response = docker_api.get_stream(api, "/images/get", {"names": "dockpush-demo/tiny:1.0"})
    try:
        response.raw.decode_content = True
        with tarfile.open(fileobj=response.raw, mode="r|") as archive:
            assert any(member.isfile() for member in archive)
    finally:
        response.close()
    with pytest.raises(docker.errors.APIError):
        docker_api.get_stream(api, "/images/get", {"names": f"dockpush-demo/none-{unique}:1"})
    # post_json: the login check, straight to the engine's /auth.
    login = Login(sandbox.auth_registry, sandbox.user, Secret(sandbox.password))
    answer = docker_api.post_json(api, docker_api.url(api, "/auth"), login.auth_config())
    docker_api.raise_for_status(api, answer)
    assert "Succeeded" in answer.json()["Status"]
    # post_json + json_lines: a push's progress, line by line.
    target = parse_normalized(f"{sandbox.open_registry}/adapter/tiny-{unique}:1")
    api.tag("dockpush-demo/tiny:1.0", target.name, target.tag)
    try:
        pushed = docker_api.post_json(
            api,
            docker_api.url(api, "/images/{0}/push", target.name),
            None,
            params={"tag": target.tag},
            headers={"X-Registry-Auth": "e30="},  # {}: anonymous
            stream=True,
        )
        docker_api.raise_for_status(api, pushed)
        lines = list(docker_api.json_lines(api, pushed))
    finally:
        api.remove_image(str(target))
    assert all(isinstance(line, dict) for line in lines)
    assert any("digest: sha256:" in str(line.get("status")) for line in lines), lines[-3:]


def _python(code: str, **env: str) -> str:
    """Run `code` in a fresh interpreter (this one has paramiko loaded by the test harness),
    without an ssh-agent, as the sandbox's own ~/.ssh is what ssh:// engines use here."""
    inherited = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def test_starting_the_app_loads_no_paramiko() -> None:
    assert _python("import sys, app.ui.app; print('paramiko' in sys.modules)") == "False"


def test_an_ssh_engine_loads_the_ssh_transport_when_it_connects(sandbox: SandboxInfo) -> None:
    code = (
        "import sys\n"
        "from app.core.engine import Engine\n"
        "before = 'paramiko' in sys.modules\n"
        "engine = Engine.connect()\n"
        "after = 'paramiko' in sys.modules\n"
        "print(before, after, engine.endpoint.transport, bool(engine.version()))"
    )
    out = _python(code, HOME=sandbox.ssh_home, DOCKER_HOST=sandbox.ssh_docker_host)
    assert out == "False True ssh True"
