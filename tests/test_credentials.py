"""Credentials: the real Secret Service, the real docker CLI's logins, broken configs.

The docker config reader (app/core/docker_config.py) is tested here too, on real files in the
test's own DOCKER_CONFIG and with the real docker-credential-secretservice helper.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.core
import pytest

from app.core.credentials import (
    CredentialStore,
    Login,
    LoginProblem,
    LoginSource,
    config_dir,
    keyring_problem,
)
from app.core.docker_config import read_docker_config
from app.core.engine import Engine
from app.core.errors import DockerConfigBroken, KeyringUnavailable
from app.core.reference import registry_key
from app.core.secret import Secret
from tests.harness.sandbox import SandboxInfo


@pytest.fixture
def no_secret_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A session bus address where nothing listens: as on a headless box without a keyring."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    keyring.core.init_backend()
    yield
    monkeypatch.undo()
    keyring.core.init_backend()


def _explanations(problems: list[LoginProblem]) -> list[str]:
    return [problem.error.explanation for problem in problems]


def _docker(
    args: list[str], stdin: str, sandbox: SandboxInfo, config: Path, path: str | None = None
) -> None:
    """Run the real docker CLI against the sandbox with its own config folder."""
    env = {
        "PATH": path or "/usr/local/bin:/usr/bin:/bin",
        "DOCKER_HOST": sandbox.docker_host,
        "DOCKER_CONFIG": str(config),
        "DBUS_SESSION_BUS_ADDRESS": sandbox.dbus_address,
        "HOME": str(config.parent),
    }
    result = subprocess.run(
        ["docker", *args], input=stdin, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_secret_never_prints() -> None:
    secret = Secret("hunter2-xyz")
    login = Login("r.example", "me", secret)
    for shown in (str(secret), repr(secret), f"{secret}", f"{secret!r}", repr(login), str(login)):
        assert "hunter2-xyz" not in shown
    assert secret.reveal() == "hunter2-xyz"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


@pytest.mark.parametrize(
    "spelling",
    [
        "",
        "docker.io",
        "index.docker.io",
        "https://index.docker.io/v1/",
        "registry-1.docker.io",
        "HTTPS://INDEX.DOCKER.IO/V1/",
    ],
)
def test_docker_hub_spellings(spelling: str) -> None:
    assert registry_key(spelling) == "docker.io"


def test_registry_key_other() -> None:
    assert registry_key("https://ghcr.io/") == "ghcr.io"
    assert registry_key("127.0.0.1:5000") == "127.0.0.1:5000"


def test_keyring_save_load_list_forget(secret_service: None, unique: str) -> None:
    store = CredentialStore()
    registry = f"registry-{unique}.example:5000"
    store.save(Login(registry, "alice", Secret(f"pw-{unique}")))
    loaded = store.load(registry)
    assert loaded is not None
    login, source = loaded
    assert source is LoginSource.KEYRING and login.username == "alice"
    assert login.secret.reveal() == f"pw-{unique}"
    assert keyring.get_password(f"dockpush:{registry}", "alice") == f"pw-{unique}"
    assert [s.registry for s in store.list_saved().logins] == [registry]
    index = (Path(store._index_file())).read_text()
    assert f"pw-{unique}" not in index
    assert store.forget(registry)
    assert keyring.get_password(f"dockpush:{registry}", "alice") is None
    assert store.load(registry) is None
    assert not store.forget(registry)


def test_login_made_by_docker_cli_in_auths(
    sandbox: SandboxInfo, isolated_config: Path, engine_client, tmp_path: Path
) -> None:
    # With a credential helper on PATH the CLI would pick it; without one it writes `auths`.
    only_docker = tmp_path / "bin"
    only_docker.mkdir()
    (only_docker / "docker").symlink_to(shutil.which("docker"))
    _docker(
        ["login", "-u", sandbox.user, "--password-stdin", sandbox.auth_registry],
        sandbox.password,
        sandbox,
        isolated_config,
        path=str(only_docker),
    )
    config = json.loads((isolated_config / "config.json").read_text())
    assert "auth" in config["auths"][sandbox.auth_registry]
    found = CredentialStore().load(sandbox.auth_registry)
    assert found is not None and found[1] is LoginSource.CONFIG
    assert found[0].username == sandbox.user
    assert "Succeeded" in Engine.connect().check_login(found[0])
    listed = CredentialStore().list_saved()
    assert not listed.problems
    assert [(s.registry, s.username, s.source) for s in listed.logins] == [
        (sandbox.auth_registry, sandbox.user, LoginSource.CONFIG)
    ]


def test_login_made_by_docker_cli_through_secretservice_helper(
    sandbox: SandboxInfo, isolated_config: Path, secret_service: None, engine_client
) -> None:
    (isolated_config / "config.json").write_text(json.dumps({"credsStore": "secretservice"}))
    _docker(
        ["login", "-u", sandbox.user, "--password-stdin", sandbox.auth_registry],
        sandbox.password,
        sandbox,
        isolated_config,
    )
    config_text = (isolated_config / "config.json").read_text()
    assert sandbox.password not in config_text
    try:
        found = CredentialStore().load(sandbox.auth_registry)
        assert found is not None and found[1] is LoginSource.STORE
        assert "Succeeded" in Engine.connect().check_login(found[0])
        listed = {s.registry: s for s in CredentialStore().list_saved().logins}
        assert listed[sandbox.auth_registry].source is LoginSource.STORE
    finally:
        _docker(["logout", sandbox.auth_registry], "", sandbox, isolated_config)


def test_keyring_login_wins_over_docker_config(
    sandbox: SandboxInfo, isolated_config: Path, secret_service: None, unique: str
) -> None:
    registry = f"both-{unique}.example"
    auth = base64.b64encode(b"from-config:pw1").decode()
    (isolated_config / "config.json").write_text(json.dumps({"auths": {registry: {"auth": auth}}}))
    store = CredentialStore()
    store.save(Login(registry, "from-keyring", Secret("pw2")))
    try:
        login, source = store.load(registry)
        assert (login.username, source) == ("from-keyring", LoginSource.KEYRING)
    finally:
        store.forget(registry)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"auths": {"r.example": {"auth": "@@not-base64@@"}}}), "not valid base64"),
        (
            json.dumps({"auths": {"r.example": {"auth": base64.b64encode(b"nocolon").decode()}}}),
            "no ':'",
        ),
        (json.dumps({"credsStore": "does-not-exist"}), "not installed"),
        (json.dumps(["a", "list"]), "JSON object"),
    ],
)
def test_broken_docker_config_is_explained_and_the_rest_works(
    isolated_config: Path, content: str, words: str
) -> None:
    (isolated_config / "config.json").write_text(content)
    store = CredentialStore()
    assert store.load("r.example") is None
    assert any(words in problem for problem in _explanations(store.problems)), store.problems
    listed = CredentialStore().list_saved()  # never raises, and says what is broken
    assert any(words in problem for problem in _explanations(listed.problems))


def test_missing_keyring_is_said_plainly(no_secret_service: None) -> None:
    assert keyring_problem() is not None
    with pytest.raises(KeyringUnavailable) as raised:
        CredentialStore().save(Login("r.example", "me", Secret("pw-never-written")))
    assert "could not be saved" in raised.value.explanation
    assert "Secret Service" in raised.value.next_step


# -- files and helpers a hostile config or folder could abuse -------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_logins_index_is_private_and_written_through_a_unique_temporary(
    secret_service: None, unique: str, tmp_path: Path
) -> None:
    folder = config_dir()
    folder.mkdir(mode=0o755, parents=True)
    folder.chmod(0o755)  # as an older dockpush left it
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    (folder / "logins.tmp").symlink_to(victim)  # the fixed temporary name of old
    registry = f"private-{unique}.example"
    store = CredentialStore()
    old_umask = os.umask(0)  # the loosest umask: the modes must not come from it
    try:
        store.save(Login(registry, "alice", Secret(f"pw-{unique}")))
    finally:
        os.umask(old_umask)
        store.forget(registry)
    index = folder / "logins.json"
    assert _mode(index) == 0o600 and _mode(folder) == 0o700
    assert victim.read_text() == "keep me\n"
    assert sorted(p.name for p in folder.iterdir()) == ["logins.json", "logins.tmp"]


def test_a_link_planted_at_logins_json_is_replaced_not_followed(
    secret_service: None, unique: str, tmp_path: Path
) -> None:
    folder = config_dir()
    folder.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    (folder / "logins.json").symlink_to(victim)
    registry = f"link-{unique}.example"
    store = CredentialStore()
    try:
        store.save(Login(registry, "alice", Secret(f"pw-{unique}")))
    finally:
        store.forget(registry)
    assert victim.read_text() == "keep me\n"
    assert not (folder / "logins.json").is_symlink() and _mode(folder / "logins.json") == 0o600


def _program(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(
    "config",
    [
        {"credsStore": "evil/helper"},
        {"credHelpers": {"r.example": "evil/helper"}},
        {"credsStore": ".evil"},
        {"credsStore": ["not", "a", "name"]},
    ],
)
def test_helper_name_that_is_not_bare_is_refused_and_never_run(
    isolated_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: dict
) -> None:
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "marker"
    answer = 'echo \'{"Username": "u", "Secret": "s"}\'\n'
    for relative in ("docker-credential-evil/helper", "docker-credential-.evil"):
        _program(tmp_path / relative, f"touch {marker}\n{answer}")
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    (isolated_config / "config.json").write_text(json.dumps(config))
    store = CredentialStore()
    assert store.load("r.example") is None
    listed = store.list_saved()
    assert not marker.exists()
    assert any("not a bare program name" in problem for problem in _explanations(store.problems))
    assert any("not a bare program name" in p for p in _explanations(listed.problems))


def test_helper_is_looked_up_only_in_absolute_path_entries(
    isolated_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "marker"
    _program(tmp_path / "docker-credential-dotted", f"touch {marker}\n")
    monkeypatch.setenv("PATH", f".::{os.environ['PATH']}")  # "." and "" mean the current folder
    (isolated_config / "config.json").write_text(json.dumps({"credsStore": "dotted"}))
    store = CredentialStore()
    assert store.load("r.example") is None
    assert not marker.exists()
    assert any("not installed" in problem for problem in _explanations(store.problems))


def test_failing_helper_output_never_reaches_the_error(
    isolated_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leaked = "Secret: hunter2-xyz-LEAK"
    _program(
        tmp_path / "bin" / "docker-credential-leaky",
        f"echo '{leaked}'\necho '{leaked}' >&2\nexit 3\n",
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    (isolated_config / "config.json").write_text(json.dumps({"credsStore": "leaky"}))
    store = CredentialStore()
    assert store.load("r.example") is None
    problems = _explanations(store.problems) + _explanations(store.list_saved().problems)
    shown = [str(p.error) + p.error.next_step for p in store.list_saved().problems]
    assert problems and all("hunter2" not in problem for problem in problems + shown)
    assert any("exit status 3" in problem for problem in problems), problems


def test_helper_without_the_login_falls_through_to_auths(
    sandbox: SandboxInfo, isolated_config: Path, secret_service: None, unique: str
) -> None:
    # The real secretservice helper answers "credentials not found" (exit 1) for this server.
    registry = f"fallthrough-{unique}.example"
    auth = base64.b64encode(b"from-auths:pw").decode()
    config = {"credsStore": "secretservice", "auths": {registry: {"auth": auth}}}
    (isolated_config / "config.json").write_text(json.dumps(config))
    store = CredentialStore()
    found = store.load(registry)
    assert found is not None and found[1] is LoginSource.CONFIG, store.problems
    assert found[0].username == "from-auths" and not store.problems


# -- the docker config reader: what is broken is said, with what to do ----------------------

# Base64 of a marker: a message quoting the file would show it.
_QUOTED = base64.b64encode(b"quoted-marker:pw").decode()


@pytest.mark.parametrize(
    ("write", "words"),
    [
        (lambda path: path.mkdir(), "could not be read (Is a directory)"),
        (lambda path: path.write_bytes(b'{"auths": {}}\xff\xfe'), "not UTF-8"),
        (
            lambda path: path.write_text(f'{{"auths": {{"r.example": {{"auth": "{_QUOTED}"}}}},'),
            "not valid JSON (Expecting property name enclosed in double quotes at line 1",
        ),
        (lambda path: path.write_text("[]"), "holds a list, not a JSON object"),
        (lambda path: path.write_text("null"), "holds null, not a JSON object"),
        (lambda path: path.write_text('{"auths": ["r.example"]}'), '"auths" is a list'),
        (lambda path: path.write_text('{"credHelpers": "pass"}'), '"credHelpers" is a string'),
        (
            lambda path: path.write_text('{"auths": {"r.example": "' + _QUOTED + '"}}'),
            'the "auths" entry for r.example is a string, not an object',
        ),
        (
            lambda path: path.write_text('{"auths": {"r.example": {"auth": 7}}}'),
            '"auth" in the "auths" entry for r.example is a number, not a string',
        ),
        (lambda path: path.write_text('{"currentContext": true}'), '"currentContext" is true'),
    ],
    ids=[
        "unreadable",
        "not-utf8",
        "bad-json",
        "list",
        "null",
        "auths-list",
        "helpers-string",
        "entry-string",
        "auth-number",
        "context-bool",
    ],
)
def test_broken_config_is_described_with_what_to_do(
    isolated_config: Path, write: Callable[[Path], object], words: str
) -> None:
    path = isolated_config / "config.json"
    write(path)
    config = read_docker_config()
    assert config.path == path
    [problem] = config.problems
    assert isinstance(problem.error, DockerConfigBroken)
    assert words in problem.error.explanation, problem.error.explanation
    assert str(path) in problem.error.explanation and str(path) in problem.error.next_step
    shown = str(problem.error) + problem.error.next_step + problem.subject
    assert _QUOTED not in shown and "quoted-marker" not in shown


def test_a_wrong_entry_leaves_the_rest_of_the_config_working(
    isolated_config: Path, unique: str
) -> None:
    registry = f"good-{unique}.example"
    auth = base64.b64encode(b"alice:pw").decode()
    config = {
        "credHelpers": ["not", "an", "object"],
        # A null field is absent, as in the CLI: no login, and nothing wrong.
        "auths": {
            registry: {"auth": auth},
            "bad.example": {"auth": 7},
            "n.example": {"auth": None},
        },
        "currentContext": "ci",
    }
    (isolated_config / "config.json").write_text(json.dumps(config))
    assert read_docker_config().current_context == "ci"
    store = CredentialStore()
    found = store.load(registry)
    assert found is not None and found[0].username == "alice" and found[1] is LoginSource.CONFIG
    listed = CredentialStore().list_saved()
    assert [(s.registry, s.username) for s in listed.logins] == [(registry, "alice")]
    assert sorted(p.subject for p in listed.problems) == sorted(
        [str(isolated_config / "config.json"), "bad.example"]
    )


def test_real_secretservice_helper_that_fails_is_reported_not_empty(
    sandbox: SandboxInfo,
    isolated_config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The real helper, with no Secret Service to reach: it fails, and says so on stdout.
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    (isolated_config / "config.json").write_text(json.dumps({"credsStore": "secretservice"}))
    listed = CredentialStore().list_saved()
    assert listed.logins == []
    [problem] = listed.problems
    assert problem.source is LoginSource.STORE
    assert problem.subject == "docker-credential-secretservice"
    assert "list failed with exit status 1" in problem.error.explanation
    assert "docker-credential-secretservice list" in problem.error.next_step
    store = CredentialStore()
    assert store.load(sandbox.auth_registry) is None
    assert any("get failed" in problem for problem in _explanations(store.problems))


def test_keyring_is_not_imported_until_it_is_used(isolated_config: Path) -> None:
    # Start-up cost: keyring loads its backends' modules (20-30 ms) when imported. Listing
    # and looking up logins without a dockpush login read only the index and the docker config.
    script = (
        "import sys, app.ui.app\n"
        "from app.core.credentials import CredentialStore, keyring_problem\n"
        "CredentialStore().list_saved(), CredentialStore().load('r.example')\n"
        "print('keyring' in sys.modules)\n"
        "keyring_problem()\n"
        "print('keyring' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True"]
