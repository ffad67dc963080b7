"""Credentials: secrets that never print, and where saved logins come from.

Order of trust when looking up a registry's login:
1. the system keyring, through `keyring`: dockpush's own entries, service
   `dockpush:<registry>` (Docker Hub is `dockpush:docker.io`), user name = the login's user;
2. the docker CLI's configuration (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
   `credHelpers[registry]`, then `credsStore`, through the docker-credential-helpers protocol
   (`docker-credential-NAME get|list`, JSON on stdin/stdout);
3. its `auths` entries (base64 `auth`, or `identitytoken`).

dockpush writes only to the keyring. Which registries have a dockpush login (registry and
user, never a secret) is kept in `logins.json` in the config folder, because keyrings
cannot list their entries.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import keyring
import keyring.errors
from platformdirs import user_config_dir

from app.core.errors import DockerConfigBroken, KeyringUnavailable
from app.core.private_files import replace_private_file

DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
_DOCKER_HUB_ALIASES = {
    "",
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    DOCKER_HUB_AUTH_KEY,
}


class Secret:
    """A password or token: `str()`, `repr()` and formatting show only asterisks.

    The value is reachable only through `reveal()`, called at the moment it is handed
    to the engine or a registry, so a secret cannot end up in a log or on screen by accident.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; pass it on, never show or store it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> tuple:
        raise TypeError("a Secret cannot be pickled")


def registry_key(registry: str) -> str:
    """The canonical name of a registry: Docker Hub's many spellings become one."""
    text = registry.strip().lower()
    if text.rstrip("/") in {alias.rstrip("/") for alias in _DOCKER_HUB_ALIASES}:
        return "docker.io"
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    text = text.rstrip("/").removesuffix("/v1").removesuffix("/v2").rstrip("/")
    return "docker.io" if text in _DOCKER_HUB_ALIASES else text


@dataclass(frozen=True)
class Login:
    """A username and secret for one registry."""

    registry: str
    username: str
    secret: Secret
    identity_token: bool = False

    def auth_config(self) -> dict[str, str]:
        """The engine's X-Registry-Auth payload (built only when a request is sent)."""
        hub = registry_key(self.registry) == "docker.io"
        address = DOCKER_HUB_AUTH_KEY if hub else self.registry
        if self.identity_token:
            return {"identitytoken": self.secret.reveal(), "serveraddress": address}
        return {
            "username": self.username,
            "password": self.secret.reveal(),
            "serveraddress": address,
        }


class LoginSource(StrEnum):
    """Where a saved login was found."""

    KEYRING = "system keyring (dockpush)"
    HELPER = "docker credential helper"
    STORE = "docker credsStore"
    CONFIG = "docker config.json (auths)"
    SESSION = "this session only"


@dataclass(frozen=True)
class SavedLogin:
    """A registry with a saved login: who, and from where. Holds no secret."""

    registry: str
    username: str
    source: LoginSource
    detail: str = ""


KEYRING_SERVICE_PREFIX = "dockpush:"


def config_dir() -> Path:
    """dockpush's config folder (DOCKPUSH_CONFIG_DIR overrides the platform default)."""
    return Path(os.environ.get("DOCKPUSH_CONFIG_DIR") or user_config_dir("dockpush"))


def docker_config_file() -> Path:
    """The docker CLI's config.json, as the CLI finds it."""
    folder = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    return Path(folder) / "config.json"


# A helper is a program `docker-credential-NAME` found on PATH; NAME is a bare name such as
# `secretservice`, `pass` or `ecr-login`: a separator or a leading dot would let a config file
# run a program relative to the current folder.
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
# What the docker-credential-helpers protocol prints when it holds no login for a server.
HELPER_NOT_FOUND = "credentials not found in native keychain"
HELPER_TIMEOUT_SECONDS = 30


def credential_helper_program(name: object) -> str:
    """The absolute path of `docker-credential-NAME` on PATH (relative PATH entries such as
    `.` are skipped); DockerConfigBroken when NAME is not a bare name or nothing is found."""
    if not isinstance(name, str) or not _HELPER_NAME.fullmatch(name):
        raise DockerConfigBroken(
            f"The docker config names the credential helper {name!r}, which is not a bare "
            "program name (letters, digits, . _ + -, no path); it is not run and its logins "
            "are ignored."
        )
    program = f"docker-credential-{name}"
    search = os.environ.get("PATH", os.defpath).split(os.pathsep)
    found = shutil.which(program, path=os.pathsep.join(d for d in search if os.path.isabs(d)))
    if found is None:
        raise DockerConfigBroken(
            f"The docker config names the credential helper {name!r}, but {program} is "
            "not installed (not on PATH); its logins are ignored."
        )
    return found


def keyring_problem() -> str | None:
    """Why the keyring cannot be used, or None when it can. May block (locked keyring)."""
    backend = keyring.get_keyring()
    name = type(backend).__module__ + "." + type(backend).__name__
    if "fail" in name or "null" in name.lower():
        return f"no keyring backend is available ({name})"
    try:
        priority = backend.priority  # type: ignore[attr-defined]
    except Exception as error:  # a backend that cannot even rate itself is unusable
        return f"{name} is not usable: {error}"
    if priority is not None and priority <= 0:
        return f"{name} is not usable here"
    return None


def _service(registry: str) -> str:
    return KEYRING_SERVICE_PREFIX + registry_key(registry)


class CredentialStore:
    """Finds saved logins (keyring, then the docker CLI's config) and saves to the keyring."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    # -- dockpush's own logins (keyring) ---------------------------------------------------

    def _index_file(self) -> Path:
        return config_dir() / "logins.json"

    def _index(self) -> dict[str, str]:
        try:
            return dict(json.loads(self._index_file().read_text()))
        except (OSError, ValueError):
            return {}

    def _write_index(self, index: dict[str, str]) -> None:
        # Mode 0600 in a 0700 folder, through a unique temporary file: never half written.
        replace_private_file(self._index_file(), json.dumps(index, indent=2, sort_keys=True) + "\n")

    def saved_users(self) -> dict[str, str]:
        """Registry -> user of dockpush's saved logins (reads the index only: never blocks)."""
        return self._index()

    def save(self, login: Login) -> None:
        """Keep the login in the system keyring; raises KeyringUnavailable when there is none."""
        problem = keyring_problem()
        if problem:
            raise KeyringUnavailable(f"The login could not be saved: {problem}.")
        try:
            keyring.set_password(_service(login.registry), login.username, login.secret.reveal())
        except keyring.errors.KeyringError as error:
            raise KeyringUnavailable(
                f"The keyring refused to save the login: {type(error).__name__}."
            ) from None
        index = self._index()
        index[registry_key(login.registry)] = login.username
        self._write_index(index)

    def forget(self, registry: str) -> bool:
        """Remove dockpush's keyring entry for the registry; True when there was one."""
        key = registry_key(registry)
        index = self._index()
        username = index.pop(key, None)
        if username is None:
            return False
        try:
            keyring.delete_password(_service(key), username)
        except keyring.errors.PasswordDeleteError:
            pass  # already gone from the keyring; the index entry still goes
        except keyring.errors.KeyringError as error:
            raise KeyringUnavailable(
                f"The keyring refused to forget the login: {type(error).__name__}."
            ) from None
        self._write_index(index)
        return True

    def _from_keyring(self, registry: str) -> Login | None:
        key = registry_key(registry)
        username = self._index().get(key)
        if username is None:
            return None
        try:
            secret = keyring.get_password(_service(key), username)
        except keyring.errors.KeyringError as error:
            self.problems.append(f"keyring: {type(error).__name__}")
            return None
        return Login(registry, username, Secret(secret)) if secret is not None else None

    # -- the docker CLI's logins -----------------------------------------------------------

    def _docker_config(self) -> dict:
        path = docker_config_file()
        if not path.exists():
            return {}
        try:
            config = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise DockerConfigBroken(
                f"{path} is not valid JSON ({error.__class__.__name__}); its logins are ignored."
            ) from None
        if not isinstance(config, dict):
            raise DockerConfigBroken(f"{path} does not hold a JSON object; its logins are ignored.")
        return config

    @staticmethod
    def _config_keys(registry: str) -> list[str]:
        key = registry_key(registry)
        if key == "docker.io":
            return [DOCKER_HUB_AUTH_KEY, "docker.io", "index.docker.io"]
        return [registry, key, f"https://{key}", f"http://{key}"]

    @staticmethod
    def _helper(name: object, action: str, payload: str) -> str | None:
        """Run `docker-credential-NAME action`; its answer, or None when it has no such login.

        A failing helper's output is never quoted: a helper may print what it was handling.
        """
        program = credential_helper_program(name)
        try:
            result = subprocess.run(
                [program, action],
                input=payload,
                capture_output=True,
                text=True,
                timeout=HELPER_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DockerConfigBroken(
                f"{program} {action} did not answer within {HELPER_TIMEOUT_SECONDS} s; "
                "its logins are ignored."
            ) from None
        except OSError as error:
            raise DockerConfigBroken(
                f"{program} could not be started ({error.strerror}); its logins are ignored."
            ) from None
        if result.returncode == 0:
            return result.stdout
        if result.stdout.strip() == HELPER_NOT_FOUND:
            return None
        raise DockerConfigBroken(
            f"{program} {action} failed with exit status {result.returncode}; its output "
            "is not shown, as it may hold a secret. Its logins are ignored."
        )

    def _from_helper(self, name: object, registry: str, source: LoginSource) -> Login | None:
        for server in self._config_keys(registry):
            output = self._helper(name, "get", server)
            if output is None:
                continue
            try:
                data = json.loads(output)
                username, secret = str(data.get("Username", "")), str(data.get("Secret", ""))
            except (ValueError, AttributeError):
                raise DockerConfigBroken(
                    f"The credential helper {name!r} answered something other than a login; "
                    "its logins are ignored."
                ) from None
            if secret:
                token = username == "<token>"
                return Login(registry, username, Secret(secret), identity_token=token)
        return None

    def _from_auths(self, config: dict, registry: str) -> Login | None:
        auths = config.get("auths") or {}
        for server in self._config_keys(registry):
            entry = auths.get(server)
            if not entry:
                continue
            if entry.get("identitytoken"):
                return Login(
                    registry,
                    entry.get("username", "<token>"),
                    Secret(entry["identitytoken"]),
                    identity_token=True,
                )
            if entry.get("auth"):
                try:
                    decoded = base64.b64decode(entry["auth"], validate=True).decode()
                except (binascii.Error, UnicodeDecodeError):
                    raise DockerConfigBroken(
                        f"The login for {server} in {docker_config_file()} is not valid base64."
                    ) from None
                username, sep, password = decoded.partition(":")
                if not sep:
                    raise DockerConfigBroken(
                        f"The login for {server} in {docker_config_file()} has no ':' "
                        "between user and password."
                    )
                return Login(registry, username, Secret(password))
        return None

    def _from_docker(self, registry: str) -> tuple[Login, LoginSource] | None:
        config = self._docker_config()
        helpers = config.get("credHelpers") or {}
        for server in self._config_keys(registry):
            if server in helpers:
                login = self._from_helper(helpers[server], registry, LoginSource.HELPER)
                return (login, LoginSource.HELPER) if login else None
        if config.get("credsStore"):
            login = self._from_helper(config["credsStore"], registry, LoginSource.STORE)
            if login:
                return login, LoginSource.STORE
        login = self._from_auths(config, registry)
        return (login, LoginSource.CONFIG) if login else None

    # -- lookups ---------------------------------------------------------------------------

    def load(self, registry: str) -> tuple[Login, LoginSource] | None:
        """The most trusted login for a registry, and where it came from. May block."""
        login = self._from_keyring(registry)
        if login is not None:
            return login, LoginSource.KEYRING
        try:
            return self._from_docker(registry)
        except DockerConfigBroken as error:
            self.problems.append(error.explanation)
            return None

    def list_saved(self) -> list[SavedLogin]:
        """Every registry with a saved login, from every source (no secret is read here
        except through credential helpers' `list`, which returns user names only)."""
        found: dict[str, SavedLogin] = {}
        for key, username in self._index().items():
            found[key] = SavedLogin(key, username, LoginSource.KEYRING)
        try:
            config = self._docker_config()
        except DockerConfigBroken as error:
            self.problems.append(error.explanation)
            return list(found.values())
        for server, name in (config.get("credHelpers") or {}).items():
            found.setdefault(
                registry_key(server), SavedLogin(registry_key(server), "", LoginSource.HELPER, name)
            )
        if config.get("credsStore"):
            try:
                listed = json.loads(self._helper(config["credsStore"], "list", "") or "{}")
            except (DockerConfigBroken, ValueError) as error:
                self.problems.append(str(getattr(error, "explanation", error)))
                listed = {}
            for server, username in listed.items():
                found.setdefault(
                    registry_key(server),
                    SavedLogin(
                        registry_key(server), username, LoginSource.STORE, config["credsStore"]
                    ),
                )
        for server, entry in (config.get("auths") or {}).items():
            if entry.get("auth") or entry.get("identitytoken"):
                username = ""
                try:
                    username = base64.b64decode(entry.get("auth", "")).decode().partition(":")[0]
                except (binascii.Error, UnicodeDecodeError):
                    self.problems.append(f"The login for {server} is not valid base64.")
                found.setdefault(
                    registry_key(server),
                    SavedLogin(registry_key(server), username, LoginSource.CONFIG),
                )
        return sorted(found.values(), key=lambda saved: saved.registry)
