"""A private, throwaway Docker world on loopback.

Usage: `python -m tests.harness.sandbox up|down|env|status` (or `scripts/sandbox ...`).

It runs two dockerd engines of its own (Debian 12's 20.10 with the classic image store, and the
newest engine Debian ships with the containerd image store), a TLS-only engine, sshd, Podman's
Docker API, three reference registries (open, htpasswd, token auth with its issuer) and a
session D-Bus with an unlocked gnome-keyring, all under one state folder. It never touches a
system engine, /var/run/docker.sock, ~/.docker or the user's keyring: everything it starts gets
a HOME, DOCKER_CONFIG and D-Bus of its own. `down` stops exactly the processes it
started, by their recorded pids, and removes the state folder.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STATE_DIR = Path(os.environ.get("DOCKPUSH_SANDBOX_DIR", "/tmp/dockpush-sandbox"))
OPEN_PORT = int(os.environ.get("DOCKPUSH_SANDBOX_OPEN_PORT", "47501"))
AUTH_PORT = int(os.environ.get("DOCKPUSH_SANDBOX_AUTH_PORT", "47502"))
TOKEN_PORT = int(os.environ.get("DOCKPUSH_SANDBOX_TOKEN_PORT", "47503"))
# HTTPS with a self-signed certificate, open: on loopback, engines push to it unchecked.
TLS_REGISTRY_PORT = int(os.environ.get("DOCKPUSH_SANDBOX_TLS_REGISTRY_PORT", "47505"))
ISSUER_PORT = int(os.environ.get("DOCKPUSH_SANDBOX_ISSUER_PORT", "47504"))
TLS_ENGINE_PORT = int(os.environ.get("DOCKPUSH_SANDBOX_TLS_ENGINE_PORT", "47520"))
SSH_PORT = int(os.environ.get("DOCKPUSH_SANDBOX_SSH_PORT", "47521"))
# Downloaded engine packages outlive `down`, so a second `up` does not fetch them again.
ENGINE_CACHE = Path(
    os.environ.get("DOCKPUSH_ENGINE_CACHE", Path.home() / ".cache" / "dockpush-sandbox")
)
# The containerd-store engine: the newest Debian suite first, the next as the fallback.
CONTAINERD_ENGINE_SUITES = ("sid", "trixie")
# The engine, the containerd it manages, and the docker CLI of the same release (benchmarks
# compare the app with that CLI, and `docker image ls --tree` shows an index's platforms).
CONTAINERD_ENGINE_PACKAGES = ("docker.io", "containerd", "docker-cli")
TEST_USER = "dockpush"
# A known, recognisable test password: scripts/try shows it, and the secret-scan
# tests search every output for it.
TEST_PASSWORD = "sandbox-Pa55-7f3a9c"
KEYRING_PASSWORD = "sandbox-keyring-unlock"

# Debian packages per command the sandbox runs.
REQUIRED_COMMANDS = {
    "dockerd": "docker.io",
    "docker-registry": "docker-registry",
    "dbus-daemon": "dbus",
    "gnome-keyring-daemon": "gnome-keyring",
    "docker-credential-secretservice": "golang-docker-credential-helpers",
    "podman": "podman",
    "sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
}

SEED_IMAGES = {
    # tag -> (layer sizes in bytes, seed)
    "dockpush-demo/tiny:1.0": ([64], "tiny"),
    "dockpush-demo/layers:2.3.1": (
        [512 * 1024, 3 * 1024 * 1024, 20 * 1024 * 1024, 8 * 1024 * 1024],
        "layers",
    ),
    "dockpush-demo/multi:1.0": ([256 * 1024, 1024 * 1024], "multi"),
}
# In start order; `down` stops them in reverse.
PROCESSES = (
    "dbus",
    "gnome-keyring",
    "dockerd",
    "dockerd-containerd",
    "token-issuer",
    "registry-open",
    "registry-auth",
    "registry-token",
    "registry-tls",
    "dockerd-tls",
    "sshd",
    "podman",
    "podman-strict",
)
# The second engine (TCP with TLS) holds an image the first does not.
TLS_ENGINE_IMAGE = "dockpush-remote/only-on-tls:1.0"
EXTRA_TAGS = {"dockpush-demo/multi:1.0": ["dockpush-demo/multi:1.1", "dockpush-demo/multi:latest"]}
# Only on the containerd-store engine: a multi-platform image (linux/amd64 and linux/arm64/v8 with
# buildx-style attestations) loaded from an OCI layout, and the same shape with arm64's content
# left out, as a `docker pull --platform` leaves an index.
MULTIPLATFORM_IMAGE = "dockpush-demo/multiplatform:1.0"
INCOMPLETE_IMAGE = "dockpush-demo/incomplete:1.0"


@dataclass(frozen=True)
class SandboxInfo:
    """Where the sandbox's parts are: written to env.json for tests and scripts."""

    state_dir: str
    docker_host: str
    docker_config: str
    open_registry: str
    auth_registry: str
    token_registry: str
    tls_registry: str
    user: str
    password: str
    dbus_address: str
    home: str
    tls_docker_host: str
    tls_cert_path: str
    tls_wrong_cert_path: str
    ssh_docker_host: str
    ssh_home: str
    podman_host: str
    podman_strict_host: str
    containerd_docker_host: str

    def exports(self) -> dict[str, str]:
        """The environment a shell or a test needs to use the sandbox."""
        return {
            "DOCKER_HOST": self.docker_host,
            "DOCKER_CONFIG": self.docker_config,
            "DBUS_SESSION_BUS_ADDRESS": self.dbus_address,
            "DOCKPUSH_SANDBOX_DIR": self.state_dir,
            "DOCKPUSH_TEST_REGISTRY": self.open_registry,
            "DOCKPUSH_TEST_AUTH_REGISTRY": self.auth_registry,
            "DOCKPUSH_TEST_TOKEN_REGISTRY": self.token_registry,
            "DOCKPUSH_TEST_TLS_REGISTRY": self.tls_registry,
            "DOCKPUSH_TEST_USER": self.user,
            "DOCKPUSH_TEST_PASSWORD": self.password,
            "DOCKPUSH_TEST_CONTAINERD_HOST": self.containerd_docker_host,
            "DOCKPUSH_CONFIG_DIR": str(Path(self.home) / "dockpush"),
        }


def info() -> SandboxInfo:
    """The sandbox's fixed layout under STATE_DIR."""
    return SandboxInfo(
        state_dir=str(STATE_DIR),
        docker_host=f"unix://{STATE_DIR / 'docker.sock'}",
        docker_config=str(STATE_DIR / "docker-config"),
        open_registry=f"127.0.0.1:{OPEN_PORT}",
        auth_registry=f"127.0.0.1:{AUTH_PORT}",
        token_registry=f"127.0.0.1:{TOKEN_PORT}",
        tls_registry=f"127.0.0.1:{TLS_REGISTRY_PORT}",
        user=TEST_USER,
        password=TEST_PASSWORD,
        dbus_address=f"unix:path={STATE_DIR / 'dbus.sock'}",
        home=str(STATE_DIR / "home"),
        tls_docker_host=f"tcp://127.0.0.1:{TLS_ENGINE_PORT}",
        tls_cert_path=str(STATE_DIR / "tls" / "client"),
        tls_wrong_cert_path=str(STATE_DIR / "tls" / "wrong-ca"),
        ssh_docker_host=f"ssh://{getpass.getuser()}@127.0.0.1:{SSH_PORT}",
        ssh_home=str(STATE_DIR / "ssh" / "home"),
        podman_host=f"unix://{STATE_DIR / 'podman.sock'}",
        podman_strict_host=f"unix://{STATE_DIR / 'podman-strict.sock'}",
        containerd_docker_host=f"unix://{STATE_DIR / 'docker-containerd.sock'}",
    )


def _log(message: str) -> None:
    print(f"sandbox: {message}", file=sys.stderr, flush=True)


def _pid_file(name: str) -> Path:
    return STATE_DIR / "pids" / f"{name}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it is not running.
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return status != "Z"


def _running_pid(name: str) -> int | None:
    path = _pid_file(name)
    if not path.exists():
        return None
    pid = int(path.read_text().strip())
    return pid if _alive(pid) else None


def _child_env() -> dict[str, str]:
    """Environment for every sandbox process: its own HOME, config and D-Bus."""
    sandbox = info()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "DBUS_"))}
    env.update(
        HOME=sandbox.home,
        XDG_DATA_HOME=str(Path(sandbox.home) / ".local/share"),
        XDG_CONFIG_HOME=str(Path(sandbox.home) / ".config"),
        XDG_RUNTIME_DIR=str(STATE_DIR / "runtime"),
        DOCKER_CONFIG=sandbox.docker_config,
        DBUS_SESSION_BUS_ADDRESS=sandbox.dbus_address,
    )
    return env


def _start(
    name: str,
    argv: list[str],
    stdin_text: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> int:
    """Start a process in its own session, record its pid, return it."""
    existing = _running_pid(name)
    if existing:
        _log(f"{name} already running (pid {existing})")
        return existing
    log = open(STATE_DIR / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**_child_env(), **(extra_env or {})},
        start_new_session=True,
    )
    if stdin_text is not None:
        assert process.stdin is not None
        process.stdin.write(stdin_text.encode())
        process.stdin.close()
    _pid_file(name).write_text(str(process.pid))
    _log(f"started {name} (pid {process.pid})")
    return process.pid


def _wait_until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise SystemExit(f"sandbox: {what} did not come up within {timeout:.0f}s; see {STATE_DIR}/logs")


def _ensure_packages() -> None:
    missing = sorted({pkg for cmd, pkg in REQUIRED_COMMANDS.items() if not shutil.which(cmd)})
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit(
            "sandbox: these Debian packages are needed and missing: "
            + " ".join(missing)
            + "\n  install them as root: sudo apt-get install -y "
            + " ".join(missing)
        )
    _log(f"installing {' '.join(missing)} (apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def _registry_config(name: str, port: int, auth: str) -> Path:
    root = STATE_DIR / "registries" / name
    (root / "storage").mkdir(parents=True, exist_ok=True)
    config = root / "config.yml"
    tls = ""
    if name == "tls":
        from tests.harness.certs import make_self_signed_server

        if not (root / "certs" / "cert.pem").exists():  # the running registry's, on a re-up
            make_self_signed_server(root / "certs", "dockpush sandbox registry")
        tls = (
            f"  tls:\n    certificate: {root / 'certs' / 'cert.pem'}\n"
            f"    key: {root / 'certs' / 'key.pem'}\n"
        )
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: info\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'storage'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: dockpush-sandbox-{name}\n{tls}"
        f"{auth}"
    )
    return config


def _htpasswd_auth() -> str:
    return f"auth:\n  htpasswd:\n    realm: dockpush-sandbox\n    path: {_write_htpasswd()}\n"


def _token_auth() -> str:
    """Key and certificate for the token issuer; the registry trusts the certificate."""
    from tests.harness.token_issuer import ISSUER, SERVICE, make_key_and_cert

    folder = STATE_DIR / "registries" / "issuer"
    folder.mkdir(parents=True, exist_ok=True)
    key, cert = folder / "key.pem", folder / "cert.pem"
    if not cert.exists():
        make_key_and_cert(key, cert)
    return (
        "auth:\n  token:\n"
        f"    realm: http://127.0.0.1:{ISSUER_PORT}/token\n"
        f"    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {cert}\n"
    )


def _start_token_issuer() -> None:
    folder = STATE_DIR / "registries" / "issuer"
    _start(
        "token-issuer",
        [
            sys.executable,
            "-m",
            "tests.harness.token_issuer",
            str(ISSUER_PORT),
            str(folder / "key.pem"),
            str(folder / "cert.pem"),
            TEST_USER,
            TEST_PASSWORD,
        ],
    )
    _wait_until("the token issuer", lambda: _port_answers(ISSUER_PORT), timeout=20)


def _port_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/token", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _write_htpasswd() -> Path:
    import bcrypt

    path = STATE_DIR / "registries" / "htpasswd"
    if not path.exists():
        hashed = bcrypt.hashpw(TEST_PASSWORD.encode(), bcrypt.gensalt(rounds=6)).decode()
        path.write_text(f"{TEST_USER}:{hashed}\n")
    return path


def _registry_answers(address: str) -> bool:
    scheme, context = "http", None
    if address == info().tls_registry:  # its certificate is self-signed: only up is asked
        scheme, context = "https", ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with urllib.request.urlopen(f"{scheme}://{address}/v2/", timeout=1, context=context):
            return True
    except urllib.error.HTTPError as error:
        return error.code == 401
    except OSError:
        return False


def _engine_client(tls: bool = False, host: str | None = None) -> object:
    import docker
    import docker.tls

    if not tls:
        return docker.DockerClient(base_url=host or info().docker_host, version="auto", timeout=120)
    client_dir = Path(info().tls_cert_path)
    client = docker.DockerClient(
        base_url=info().tls_docker_host,
        # Not "auto": that asks the engine before trust_env can be switched off below.
        version="1.41",
        timeout=120,
        tls=docker.tls.TLSConfig(
            client_cert=(str(client_dir / "cert.pem"), str(client_dir / "key.pem")),
            ca_cert=str(client_dir / "ca.pem"),
            verify=True,
        ),
    )
    client.api.trust_env = False  # REQUESTS_CA_BUNDLE would replace our CA (psf/requests#3829)
    return client


def _engine_answers(tls: bool = False, host: str | None = None) -> bool:
    try:
        _engine_client(tls, host).ping()  # type: ignore[attr-defined]
    except Exception:
        return False
    return True


# The process that runs the engine of each image store.
ENGINE_PROCESSES = {"classic": "dockerd", "containerd": "dockerd-containerd"}


def start_engine(store: str = "classic") -> None:
    """Start the engine of `store` again (after a test stopped it) and wait until it answers."""
    if store == "containerd":
        _start_containerd_engine()
    else:
        _start_engine()


def _dockerd_argv(
    folder: Path, host: str, daemon: dict | None = None, dockerd: str = "dockerd"
) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    daemon_json = folder / "daemon.json"
    daemon_json.write_text(json.dumps(daemon or {"storage-driver": "vfs"}) + "\n")
    return [
        dockerd,
        f"--config-file={daemon_json}",
        f"--data-root={folder / 'data'}",
        f"--exec-root={folder / 'exec'}",
        f"--pidfile={folder / 'dockerd.pid'}",
        f"--host={host}",
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
    ]


def _start_engine() -> None:
    _start("dockerd", _dockerd_argv(STATE_DIR / "engine", info().docker_host))
    _wait_until("the sandbox engine", _engine_answers, timeout=90)


def _debian_mirror() -> str:
    """The URI of the machine's own Debian source (the containerd engine comes from the same)."""
    apt = Path("/etc/apt")
    for path in [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*"))]:
        with contextlib.suppress(OSError):
            for line in path.read_text().splitlines():
                words = line.split()
                if words[:1] == ["URIs:"] and words[1].rstrip("/").endswith("/debian"):
                    return words[1]
                if words[:1] == ["deb"]:
                    uri = next(w for w in words[1:] if not w.startswith("["))
                    if uri.rstrip("/").endswith("/debian"):
                        return uri
    return "http://deb.debian.org/debian"


def _apt(suite: str, *args: str, cwd: Path | None = None) -> str:
    """apt-get for one suite through its own sources file and lists/cache folders: the
    machine's packages and apt state are never touched, nothing is installed."""
    folder = ENGINE_CACHE / suite / "apt"
    for sub in ("lists/partial", "cache/archives/partial"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    sources = folder / "sources.list"
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    sources.write_text(f"deb [signed-by={keyring}] {_debian_mirror()} {suite} main\n")
    options = [
        f"-oDir::Etc::SourceList={sources}",
        "-oDir::Etc::SourceParts=/dev/null",
        f"-oDir::State::Lists={folder / 'lists'}",
        "-oDir::State::status=/dev/null",
        f"-oDir::Cache={folder / 'cache'}",
        "-oAPT::Sandbox::User=root",
    ]
    command = ["apt-cache" if args[0] == "show" else "apt-get", *options, *args]
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout


def _fetch_containerd_engine(suite: str) -> tuple[Path, str]:
    """The suite's current docker.io and containerd, unpacked with dpkg-deb (never installed).

    Returns the unpacked root and the engine's package version. No version is pinned: a
    suite keeps only its current one, and tests adapt to the engine's API version.
    """
    _apt(suite, "update", "-qq")
    show = _apt(suite, "show", "--no-all-versions", "docker.io")
    version = next(
        line.split(": ", 1)[1] for line in show.splitlines() if line.startswith("Version: ")
    )
    root = ENGINE_CACHE / suite / f"root-{version}"
    if not all((root / "usr" / path).exists() for path in ("sbin/dockerd", "bin/docker")):
        debs = ENGINE_CACHE / suite / "debs"
        shutil.rmtree(debs, ignore_errors=True)
        debs.mkdir(parents=True)
        _log(f"downloading docker.io {version}, containerd and docker-cli from Debian {suite}")
        _apt(suite, "download", *CONTAINERD_ENGINE_PACKAGES, cwd=debs)
        staging = root.with_suffix(".partial")
        shutil.rmtree(staging, ignore_errors=True)
        for deb in sorted(debs.glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)], check=True)
        shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)
    return root, version


def _start_containerd_engine() -> None:
    """The newest Docker engine Debian ships, with the containerd image store (Docker 29's and
    Docker Desktop's default): sid's docker.io, or trixie's when sid's does not start."""
    host = info().containerd_docker_host
    if _running_pid("dockerd-containerd"):
        return
    daemon = {"features": {"containerd-snapshotter": True}, "storage-driver": "native"}
    for suite in CONTAINERD_ENGINE_SUITES:
        try:
            root, version = _fetch_containerd_engine(suite)
        except (subprocess.CalledProcessError, StopIteration) as error:
            _log(f"no engine from Debian {suite}: {getattr(error, 'stderr', '') or error}")
            continue
        path = f"{root / 'usr' / 'bin'}:{root / 'usr' / 'sbin'}:{os.environ.get('PATH', '')}"
        argv = _dockerd_argv(
            STATE_DIR / "engine-containerd", host, daemon, str(root / "usr" / "sbin" / "dockerd")
        )
        _start("dockerd-containerd", argv, extra_env={"PATH": path})
        try:
            _wait_until("the containerd-store engine", lambda: _engine_answers(host=host), 90)
        except SystemExit as error:
            _log(f"docker.io {version} from Debian {suite} did not start ({error})")
            stop_process("dockerd-containerd")
            continue
        api = _engine_client(host=host).version()["ApiVersion"]  # type: ignore[attr-defined]
        _log(f"containerd-store engine: docker.io {version} from Debian {suite}, API {api}")
        (STATE_DIR / "engine-containerd" / "engine.json").write_text(
            json.dumps({"suite": suite, "package": version, "api": api, "root": str(root)}) + "\n"
        )
        return
    raise SystemExit("sandbox: no containerd-store engine would start; see the logs above")


def _start_tls_engine() -> None:
    """A second engine on TCP loopback that accepts only TLS clients with our CA's certificate."""
    from tests.harness.certs import make_engine_tls

    tls = STATE_DIR / "tls"
    if not (tls / "server" / "cert.pem").exists():
        make_engine_tls(tls)
    server = tls / "server"
    _start(
        "dockerd-tls",
        [
            *_dockerd_argv(STATE_DIR / "engine-tls", info().tls_docker_host),
            "--tlsverify",
            f"--tlscacert={server / 'ca.pem'}",
            f"--tlscert={server / 'cert.pem'}",
            f"--tlskey={server / 'key.pem'}",
        ],
    )
    _wait_until("the TLS engine", lambda: _engine_answers(tls=True), timeout=90)


def _start_sshd() -> None:
    """sshd on loopback whose only key runs `docker system dial-stdio` on the sandbox engine.

    The client side is a HOME of its own (ssh/home/.ssh: key, config, known_hosts), which
    docker-py's SSH transport (paramiko) reads as it would a user's ~/.ssh.
    """
    folder = STATE_DIR / "ssh"
    client_ssh = folder / "home" / ".ssh"
    client_ssh.mkdir(parents=True, exist_ok=True)
    host_key, client_key = folder / "host_ed25519", client_ssh / "id_ed25519"
    for key in (host_key, client_key):
        if not key.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dockpush", "-f", key],
                check=True,
            )
    remote_config = folder / "remote-docker-config"
    remote_config.mkdir(exist_ok=True)
    forced = (
        f"env DOCKER_CONFIG={remote_config} DOCKER_HOST={info().docker_host} "
        "docker system dial-stdio"
    )
    (folder / "authorized_keys").write_text(
        f'command="{forced}",no-pty,no-port-forwarding,no-agent-forwarding '
        f"{(client_ssh / 'id_ed25519.pub').read_text()}"
    )
    host_public = Path(f"{host_key}.pub").read_text().split()[:2]
    (client_ssh / "known_hosts").write_text(f"[127.0.0.1]:{SSH_PORT} {' '.join(host_public)}\n")
    (client_ssh / "config").write_text(f"Host 127.0.0.1\n  IdentityFile {client_key}\n")
    config = folder / "sshd_config"
    config.write_text(
        f"Port {SSH_PORT}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
        f"PidFile {folder / 'sshd.pid'}\nAuthorizedKeysFile {folder / 'authorized_keys'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation folder
    _start("sshd", [shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-e", "-f", str(config)])
    _wait_until("sshd", lambda: _tcp_answers(SSH_PORT), timeout=20)


def _tcp_answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _start_podman() -> None:
    """Podman's Docker-compatible API twice on one store: with the sandbox registries marked
    insecure, and ("podman-strict") without, so a push meets Podman's real plain-HTTP error."""
    folder = STATE_DIR / "podman"
    folder.mkdir(exist_ok=True)
    insecure = "".join(
        f'[[registry]]\nlocation = "{address}"\ninsecure = true\n'
        for address in (info().open_registry, info().auth_registry, info().token_registry)
    )
    for name, host, registries in (
        ("podman", info().podman_host, insecure),
        ("podman-strict", info().podman_strict_host, ""),
    ):
        conf = folder / f"{name}-registries.conf"
        conf.write_text(f"unqualified-search-registries = []\n{registries}")
        _start(
            name,
            [
                "podman",
                f"--root={folder / 'root'}",
                f"--runroot={folder / 'run'}",
                "--storage-driver=vfs",
                "--events-backend=file",
                "--cgroup-manager=cgroupfs",
                "system",
                "service",
                "--time=0",
                host,
            ],
            extra_env={"CONTAINERS_REGISTRIES_CONF": str(conf)},
        )
        sock = Path(host.removeprefix("unix://"))
        _wait_until(f"{name} API", sock.exists, timeout=30)


def _start_keyring() -> None:
    socket = STATE_DIR / "dbus.sock"
    _start(
        "dbus",
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", f"--address=unix:path={socket}"],
    )
    _wait_until("the session D-Bus", socket.exists, timeout=20)
    _start(
        "gnome-keyring",
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin_text=KEYRING_PASSWORD,
    )
    _wait_until("the Secret Service", _secret_service_answers, timeout=30)


def _secret_service_answers() -> bool:
    result = subprocess.run(
        [
            "dbus-send",
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.secrets",
        ],
        env=_child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    return "boolean true" in result.stdout


def seed_platforms() -> list:
    """The two platforms of the sandbox's multi-platform images."""
    from tests.harness.oci_layout import Platform

    return [
        Platform("linux", "amd64", None, (96 * 1024, 512 * 1024)),
        Platform("linux", "arm64", "v8", (80 * 1024, 384 * 1024)),
    ]


def _seed_multiplatform(client: object) -> None:
    from tests.harness.oci_layout import build_index, layout_tarball

    present = {tag for image in client.images.list() for tag in image.tags}  # type: ignore[attr-defined]
    for tag, seed, leave_out in (
        (MULTIPLATFORM_IMAGE, "multiplatform", None),
        (INCOMPLETE_IMAGE, "incomplete", "linux/arm64/v8"),
    ):
        if tag not in present:
            _log(f"seeding {tag} on the containerd-store engine")
            layout = build_index(seed_platforms(), seed)
            # The answer is a stream: read it to the end, so the image exists when `up` returns.
            list(client.api.load_image(layout_tarball(layout, tag, leave_out)))  # type: ignore[attr-defined]


def _seed_images() -> None:
    from tests.harness.images import build_image, import_untagged

    containerd_client = _engine_client(host=info().containerd_docker_host)
    for client in (_engine_client(), containerd_client):
        _seed_engine(client, build_image, import_untagged)
    _seed_multiplatform(containerd_client)
    tls_client = _engine_client(tls=True)
    if not tls_client.images.list(name=TLS_ENGINE_IMAGE):  # type: ignore[attr-defined]
        _log(f"seeding {TLS_ENGINE_IMAGE} on the TLS engine")
        build_image(tls_client, TLS_ENGINE_IMAGE, [4096], "tls-engine")  # type: ignore[arg-type]


def _seed_engine(client: Any, build_image: Callable, import_untagged: Callable) -> None:
    present = {tag for image in client.images.list() for tag in image.tags}
    for tag, (sizes, seed) in SEED_IMAGES.items():
        if tag not in present:
            _log(f"seeding {tag}")
            image_id = build_image(client, tag, sizes, seed)
            for extra in EXTRA_TAGS.get(tag, []):
                repository, extra_tag = extra.rsplit(":", 1)
                client.api.tag(image_id, repository, extra_tag)
    if not client.images.list(filters={"dangling": True}):
        _log("seeding a dangling image")
        import_untagged(client, "seed")


def _create_contexts() -> None:
    """The other engines as docker contexts in the sandbox's docker config, made by the docker
    CLI itself, so `scripts/try` can switch to them (ctrl+e)."""
    sandbox = info()
    certs = Path(sandbox.tls_cert_path)
    contexts = {
        "tls-engine": (
            "TCP with TLS client certificates",
            f"host={sandbox.tls_docker_host},ca={certs / 'ca.pem'},cert={certs / 'cert.pem'},"
            f"key={certs / 'key.pem'}",
        ),
        "over-ssh": ("the sandbox engine over SSH", f"host={sandbox.ssh_docker_host}"),
        "podman": ("Podman's Docker API", f"host={sandbox.podman_host}"),
        "containerd-store": (
            "the newest Debian engine, containerd image store",
            f"host={sandbox.containerd_docker_host}",
        ),
    }
    env = {**_child_env(), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    existing = subprocess.run(
        ["docker", "context", "ls", "-q"], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    for name, (description, endpoint) in contexts.items():
        if name not in existing:
            subprocess.run(
                [
                    "docker",
                    "context",
                    "create",
                    name,
                    "--description",
                    description,
                    "--docker",
                    endpoint,
                ],
                env=env,
                check=True,
                capture_output=True,
            )


def up() -> None:
    """Start everything (harmless when already up) and seed the images."""
    _ensure_packages()
    sandbox = info()
    for folder in ("pids", "logs", "runtime", "engine", "registries", "home/dockpush"):
        (STATE_DIR / folder).mkdir(parents=True, exist_ok=True)
    (STATE_DIR / "runtime").chmod(0o700)
    Path(sandbox.docker_config).mkdir(parents=True, exist_ok=True)
    config_json = Path(sandbox.docker_config) / "config.json"
    if not config_json.exists():
        config_json.write_text("{}\n")
    _start_keyring()
    _start_engine()
    _start_containerd_engine()
    registries = (
        ("open", OPEN_PORT, ""),
        ("auth", AUTH_PORT, _htpasswd_auth()),
        ("token", TOKEN_PORT, _token_auth()),
        ("tls", TLS_REGISTRY_PORT, ""),
    )
    _start_token_issuer()
    for name, port, auth in registries:
        config = _registry_config(name, port, auth)
        _start(f"registry-{name}", ["docker-registry", "serve", str(config)])
        address = f"127.0.0.1:{port}"
        _wait_until(f"registry {address}", lambda a=address: _registry_answers(a), timeout=30)
    _start_tls_engine()
    _start_sshd()
    _start_podman()
    _seed_images()
    _create_contexts()
    (STATE_DIR / "env.json").write_text(json.dumps(asdict(sandbox), indent=2) + "\n")
    _log(
        f"up: engine {sandbox.docker_host} (classic store), "
        f"{sandbox.containerd_docker_host} (containerd store); "
        f"registries {sandbox.open_registry} (open), "
        f"{sandbox.auth_registry} (basic auth, user {sandbox.user}), "
        f"{sandbox.token_registry} (token auth), {sandbox.tls_registry} (HTTPS, self-signed); "
        f"TLS engine {sandbox.tls_docker_host}; "
        f"SSH engine {sandbox.ssh_docker_host}; Podman {sandbox.podman_host}"
    )


def stop_process(name: str, timeout: float = 20.0) -> None:
    """Stop one sandbox process (and its session's children) by its recorded pid."""
    pid = _running_pid(name)
    if pid is None:
        _pid_file(name).unlink(missing_ok=True)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
    _pid_file(name).unlink(missing_ok=True)
    _log(f"stopped {name} (pid {pid})")


def start_registry(name: str) -> None:
    """Start one registry again (after a test stopped it) and wait until it answers."""
    config = STATE_DIR / "registries" / name / "config.yml"
    _start(f"registry-{name}", ["docker-registry", "serve", str(config)])
    address = {
        "open": info().open_registry,
        "auth": info().auth_registry,
        "token": info().token_registry,
        "tls": info().tls_registry,
    }[name]
    _wait_until(f"registry {address}", lambda: _registry_answers(address), timeout=30)


def _unmount_under(folder: Path) -> None:
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    targets = [line.split()[1] for line in mounts if line.split()[1].startswith(str(folder))]
    for target in sorted(targets, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], check=False)


def down() -> None:
    """Stop exactly what `up` started, then remove the state folder."""
    if not STATE_DIR.exists():
        _log("down: nothing to stop")
        return
    for name in reversed(PROCESSES):
        stop_process(name)
    _unmount_under(STATE_DIR)
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    if STATE_DIR.exists():
        raise SystemExit(f"sandbox: could not remove {STATE_DIR}")
    _log("down: stopped and removed")


def print_env() -> None:
    """Print `export` lines for a shell: `eval "$(scripts/sandbox env)"`."""
    print("unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH")
    for key, value in info().exports().items():
        print(f"export {key}={shlex.quote(value)}")


def all_running() -> bool:
    """Whether every sandbox process is running."""
    return all(_running_pid(name) for name in PROCESSES)


def status() -> int:
    """Say which sandbox processes run; exit 0 only when all do."""
    running = {name: _running_pid(name) for name in PROCESSES}
    for name, pid in running.items():
        print(f"{name:15} {'running, pid ' + str(pid) if pid else 'stopped'}")
    return 0 if all(running.values()) else 1


def main(argv: list[str]) -> int:
    """Command-line entry: up, down, env or status."""
    command = argv[0] if argv else ""
    if command == "up":
        up()
    elif command == "down":
        down()
    elif command == "env":
        print_env()
    elif command == "status":
        return status()
    else:
        print("usage: scripts/sandbox up|down|env|status", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
