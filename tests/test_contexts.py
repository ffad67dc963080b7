"""Engine resolution as the docker CLI does it, contexts made by the real CLI, TLS and SSH engines.

The pure rules are checked on dictionaries and temporary config folders; everything else
against the sandbox's engines: the unix-socket one, the TLS one on TCP loopback, the same
engine behind sshd, and Podman.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from app.core.contexts import (
    DEFAULT_SOCKET,
    context_id,
    default_endpoint,
    list_contexts,
    resolve_endpoint,
)
from app.core.engine import Engine
from app.core.errors import (
    ContextNotFound,
    ContextUnreadable,
    EngineSSHFailed,
    EngineTLSFailed,
    EngineUnreachable,
)
from tests.harness.sandbox import TLS_ENGINE_IMAGE, SandboxInfo


def _write_context(config: Path, name: str, host: str, tls_files: Path | None = None) -> None:
    meta = config / "contexts" / "meta" / context_id(name)
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(
        json.dumps(
            {
                "Name": name,
                "Metadata": {"Description": f"about {name}"},
                "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}},
            }
        )
    )
    if tls_files is not None:
        folder = config / "contexts" / "tls" / context_id(name) / "docker"
        folder.mkdir(parents=True)
        for name in ("ca.pem", "cert.pem", "key.pem"):
            (folder / name).write_bytes((tls_files / name).read_bytes())


def docker_cli(config: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """The real docker CLI with the test's config folder and no engine from the environment."""
    result = subprocess.run(
        ["docker", *args],
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "DOCKER_CONFIG": str(config), **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# -- the CLI's order, on plain data ----------------------------------------------------------


def test_nothing_set_means_the_default_socket(tmp_path: Path) -> None:
    endpoint = resolve_endpoint(env={"DOCKER_CONFIG": str(tmp_path)})
    assert (endpoint.context, endpoint.host, endpoint.tls) == ("default", DEFAULT_SOCKET, None)
    assert endpoint.chosen_by == "the default socket"


def test_host_option_beats_docker_host_and_docker_host_beats_docker_context(
    tmp_path: Path,
) -> None:
    _write_context(tmp_path, "remote", "tcp://10.0.0.9:2375")
    env = {
        "DOCKER_CONFIG": str(tmp_path),
        "DOCKER_HOST": "unix:///env.sock",
        "DOCKER_CONTEXT": "remote",
    }
    assert resolve_endpoint("unix:///option.sock", env=env).host == "unix:///option.sock"
    from_env = resolve_endpoint(env=env)
    assert (from_env.context, from_env.host, from_env.chosen_by) == (
        "default",
        "unix:///env.sock",
        "DOCKER_HOST",
    )
    # The --context option beats DOCKER_HOST, as in the CLI.
    assert resolve_endpoint(context_option="remote", env=env).host == "tcp://10.0.0.9:2375"


def test_docker_context_beats_current_context(tmp_path: Path) -> None:
    _write_context(tmp_path, "one", "tcp://10.0.0.1:2375")
    _write_context(tmp_path, "two", "tcp://10.0.0.2:2375")
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "one"}))
    env = {"DOCKER_CONFIG": str(tmp_path)}
    current = resolve_endpoint(env=env)
    assert (current.context, current.chosen_by) == ("one", "the current context in config.json")
    assert current.description == "about one"
    assert resolve_endpoint(env={**env, "DOCKER_CONTEXT": "two"}).context == "two"


def test_tls_from_the_environment(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (certs / name).write_text("x")
    env = {
        "DOCKER_HOST": "tcp://10.0.0.5:2376",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(certs),
    }
    endpoint = default_endpoint(env=env)
    assert endpoint.tls is not None and endpoint.tls.verify
    assert endpoint.tls.ca == certs / "ca.pem"
    assert endpoint.transport == "tcp+tls"
    # Without DOCKER_CERT_PATH the CLI looks in its config folder.
    in_config = default_endpoint(env={**env, "DOCKER_CERT_PATH": "", "DOCKER_CONFIG": str(certs)})
    assert in_config.tls is not None and in_config.tls.cert == certs / "cert.pem"
    # No TLS variable: plain TCP, even with a cert path (unlike docker-py's from_env).
    plain = default_endpoint(env={"DOCKER_HOST": "tcp://h:2375", "DOCKER_CERT_PATH": str(certs)})
    assert (plain.tls, plain.transport) == (None, "tcp")


def test_context_tls_material_and_skip_verify(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (certs / name).write_text("x")
    _write_context(tmp_path, "verified", "tcp://10.0.0.7:2376", tls_files=certs)
    skipping = tmp_path / "contexts" / "meta" / context_id("skipping")
    skipping.mkdir(parents=True)
    (skipping / "meta.json").write_text(
        json.dumps(
            {
                "Name": "skipping",
                "Endpoints": {"docker": {"Host": "tcp://10.0.0.8:2376", "SkipTLSVerify": True}},
            }
        )
    )
    env = {"DOCKER_CONFIG": str(tmp_path)}
    verified = resolve_endpoint(context_option="verified", env=env)
    assert verified.tls is not None and verified.tls.verify and verified.tls.ca is not None
    assert verified.tls.ca.name == "ca.pem" and verified.transport == "tcp+tls"
    skipped = resolve_endpoint(context_option="skipping", env=env)
    assert skipped.tls is not None and not skipped.tls.verify and skipped.tls.ca is None


def test_context_with_odd_metadata_is_still_listed(tmp_path: Path) -> None:
    _write_context(tmp_path, "odd", "tcp://10.0.0.3:2375")
    meta_file = tmp_path / "contexts" / "meta" / context_id("odd") / "meta.json"
    meta = json.loads(meta_file.read_text())
    meta["Metadata"] = "not an object"
    meta_file.write_text(json.dumps(meta))
    endpoints, problems = list_contexts(env={"DOCKER_CONFIG": str(tmp_path)})
    assert [(e.context, e.description) for e in endpoints][1:] == [("odd", "")]
    assert problems == []


def test_missing_context_is_named(tmp_path: Path) -> None:
    with pytest.raises(ContextNotFound) as raised:
        resolve_endpoint(env={"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "nowhere"})
    assert '"nowhere"' in raised.value.explanation
    assert "docker context ls" in raised.value.next_step
    assert raised.value.detail == "chosen by DOCKER_CONTEXT"


def test_broken_context_is_explained_and_the_others_still_listed(tmp_path: Path) -> None:
    _write_context(tmp_path, "good", "tcp://10.0.0.1:2375")
    broken = tmp_path / "contexts" / "meta" / context_id("broken")
    broken.mkdir(parents=True)
    (broken / "meta.json").write_text('{"Name": "broken", "Endpoints": {}}')
    with pytest.raises(ContextUnreadable) as raised:
        resolve_endpoint(env={"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "broken"})
    assert "broken" in raised.value.explanation
    (tmp_path / "contexts" / "meta" / "junk").mkdir()
    (tmp_path / "contexts" / "meta" / "junk" / "meta.json").write_text("{not json")
    endpoints, problems = list_contexts(env={"DOCKER_CONFIG": str(tmp_path)})
    assert [e.context for e in endpoints] == ["default", "good"]
    assert len(problems) == 2 and any("broken" in p for p in problems)


@pytest.mark.parametrize(
    "content", ["{broken", "[]", '{"currentContext": 5}', '{"currentContext": ["one"]}', None]
)
def test_broken_config_json_falls_back_to_the_default_engine(
    tmp_path: Path, content: str | None
) -> None:
    _write_context(tmp_path, "one", "tcp://10.0.0.1:2375")
    if content is None:
        (tmp_path / "config.json").mkdir()  # unreadable as a file
    else:
        (tmp_path / "config.json").write_text(content)
    assert resolve_endpoint(env={"DOCKER_CONFIG": str(tmp_path)}).context == "default"


def test_current_context_is_used_when_only_other_entries_are_broken(tmp_path: Path) -> None:
    _write_context(tmp_path, "one", "tcp://10.0.0.1:2375")
    config = {"currentContext": "one", "auths": ["wrong"], "credsStore": 3}
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert resolve_endpoint(env={"DOCKER_CONFIG": str(tmp_path)}).host == "tcp://10.0.0.1:2375"


# -- contexts made by the real docker CLI, on the sandbox's engines ---------------------------


@pytest.fixture
def no_docker_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Contexts count only when DOCKER_HOST is unset (it beats them, as in the CLI)."""
    monkeypatch.delenv("DOCKER_HOST", raising=False)


def test_contexts_created_by_the_cli_are_listed_and_usable(
    sandbox: SandboxInfo, isolated_config: Path, no_docker_host: None, ssh_home: Path
) -> None:
    certs = Path(sandbox.tls_cert_path)
    docker_cli(
        isolated_config,
        "context",
        "create",
        "tls-engine",
        "--description",
        "sandbox engine over TCP with TLS",
        "--docker",
        f"host={sandbox.tls_docker_host},ca={certs / 'ca.pem'},"
        f"cert={certs / 'cert.pem'},key={certs / 'key.pem'}",
    )
    docker_cli(
        isolated_config, "context", "create", "podman", "--docker", f"host={sandbox.podman_host}"
    )
    docker_cli(
        isolated_config, "context", "create", "ssh", "--docker", f"host={sandbox.ssh_docker_host}"
    )
    cli_names = docker_cli(isolated_config, "context", "ls", "-q").split()
    endpoints, problems = list_contexts()
    assert problems == []
    assert sorted(e.context for e in endpoints) == sorted(cli_names)

    tls = next(e for e in endpoints if e.context == "tls-engine")
    assert (tls.transport, tls.description) == ("tcp+tls", "sandbox engine over TCP with TLS")
    engine = Engine.connect(tls)
    try:
        tags = {tag for image in engine.list_images() for tag in image.repo_tags}
        assert TLS_ENGINE_IMAGE in tags
        assert "dockpush-demo/tiny:1.0" not in tags  # another engine, other images
    finally:
        engine.close()

    over_ssh = Engine.connect(next(e for e in endpoints if e.context == "ssh"))
    try:
        assert over_ssh.endpoint.transport == "ssh"
        assert "dockpush-demo/tiny:1.0" in {t for i in over_ssh.list_images() for t in i.repo_tags}
    finally:
        over_ssh.close()

    # `docker context use` makes it the current one for dockpush too.
    docker_cli(isolated_config, "context", "use", "podman")
    current = resolve_endpoint()
    assert (current.context, current.host) == ("podman", sandbox.podman_host)
    podman = Engine.connect(current)
    try:
        assert podman.product.startswith("Podman Engine")
    finally:
        podman.close()


def test_tls_engine_from_environment_variables(
    sandbox: SandboxInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", sandbox.tls_docker_host)
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", sandbox.tls_cert_path)
    # Set system-wide on many machines; it must not replace the engine's CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    engine = Engine.connect()
    try:
        assert engine.host == sandbox.tls_docker_host
        assert engine.product.startswith("Docker Engine")
    finally:
        engine.close()


def test_tls_with_the_wrong_ca_is_explained(sandbox: SandboxInfo) -> None:
    env = {
        "DOCKER_HOST": sandbox.tls_docker_host,
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": sandbox.tls_wrong_cert_path,
    }
    with pytest.raises(EngineTLSFailed) as raised:
        Engine.connect(resolve_endpoint(env=env))
    assert "TLS" in raised.value.explanation
    assert "ca.pem" in raised.value.next_step
    assert "CERTIFICATE_VERIFY_FAILED" in (raised.value.detail or "")


def test_plain_tcp_to_a_tls_engine_is_explained(sandbox: SandboxInfo) -> None:
    with pytest.raises(EngineTLSFailed) as raised:
        Engine.connect(resolve_endpoint(env={"DOCKER_HOST": sandbox.tls_docker_host}))
    assert "accepts only TLS" in raised.value.explanation
    assert "DOCKER_TLS_VERIFY=1" in raised.value.next_step


def test_tcp_with_nothing_listening_is_unreachable() -> None:
    with pytest.raises(EngineUnreachable) as raised:
        Engine.connect(resolve_endpoint(env={"DOCKER_HOST": "tcp://127.0.0.1:47599"}))
    assert type(raised.value) is EngineUnreachable
    assert "tcp://127.0.0.1:47599" in raised.value.explanation


@pytest.fixture
def ssh_home(sandbox: SandboxInfo, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME with the sandbox's ~/.ssh (key, config, known_hosts), as a user's would be."""
    monkeypatch.setenv("HOME", sandbox.ssh_home)
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return Path(sandbox.ssh_home)


def test_ssh_engine(sandbox: SandboxInfo, ssh_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", sandbox.ssh_docker_host)
    engine = Engine.connect()
    try:
        assert engine.endpoint.transport == "ssh"
        tags = {tag for image in engine.list_images() for tag in image.repo_tags}
        assert "dockpush-demo/tiny:1.0" in tags
    finally:
        engine.close()


def test_ssh_refused_is_explained(ssh_home: Path) -> None:
    with pytest.raises(EngineSSHFailed) as raised:
        Engine.connect(resolve_endpoint(env={"DOCKER_HOST": "ssh://root@127.0.0.1:47599"}))
    assert "nothing accepted an SSH connection" in raised.value.explanation
    assert "ssh" in raised.value.next_step


def test_ssh_unknown_host_key_is_explained(
    sandbox: SandboxInfo, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no known_hosts, no key
    with pytest.raises(EngineSSHFailed) as raised:
        Engine.connect(resolve_endpoint(env={"DOCKER_HOST": sandbox.ssh_docker_host}))
    assert "known_hosts" in raised.value.explanation


def test_ssh_key_refused_is_explained(
    sandbox: SandboxInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server is known, but the only key offered is one it has never seen.
    ssh = tmp_path / ".ssh"
    ssh.mkdir()
    (ssh / "known_hosts").write_text((Path(sandbox.ssh_home) / ".ssh/known_hosts").read_text())
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ssh / "id_ed25519"], check=True
    )
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with pytest.raises(EngineSSHFailed) as raised:
        Engine.connect(resolve_endpoint(env={"DOCKER_HOST": sandbox.ssh_docker_host}))
    assert "refused every key" in raised.value.explanation


def test_host_and_context_options_together_are_refused(capsys: pytest.CaptureFixture) -> None:
    from app.__main__ import main

    with pytest.raises(SystemExit) as raised:
        main(["--host", "unix:///x.sock", "--context", "other"])
    assert raised.value.code == 2
    assert "either --host or --context" in capsys.readouterr().err
