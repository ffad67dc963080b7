"""Saved logins: dockpush's own, in the system keyring, and where a registry's login is found.

Order of trust when looking up a registry's login:
1. the system keyring, through `keyring`: dockpush's own entries, service
   `dockpush:<registry>` (Docker Hub is `dockpush:docker.io`), user name = the login's user;
2. the docker CLI's configuration (app/core/docker_config.py): `credHelpers[registry]`, then
   `credsStore`, through the docker-credential-helpers protocol;
3. its `auths` entries (base64 `auth`, or `identitytoken`).

dockpush writes only to the keyring. Which registries have a dockpush login (registry and
user, never a secret) is kept in `logins.json` in the config folder, because keyrings
cannot list their entries.

`keyring` is imported when first used, not at start-up: it loads its backends' modules
(20-30 ms measured with -X importtime), and most runs only list images.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import ModuleType

from platformdirs import user_config_dir

from app.core.docker_config import (
    ConfigProblem,
    DockerConfig,
    DockerCredential,
    helper_get,
    helper_list,
    read_docker_config,
)
from app.core.errors import DockerConfigBroken, DockpushError, KeyringUnavailable
from app.core.private_files import replace_private_file
from app.core.reference import DEFAULT_DOMAIN, DOCKER_HUB_AUTH_KEY, registry_key
from app.core.secret import Secret

KEYRING_SERVICE_PREFIX = "dockpush:"


@dataclass(frozen=True)
class Login:
    """A username and secret for one registry."""

    registry: str
    username: str
    secret: Secret
    identity_token: bool = False

    def auth_config(self) -> dict[str, str]:
        """The engine's X-Registry-Auth payload (built only when a request is sent)."""
        hub = registry_key(self.registry) == DEFAULT_DOMAIN
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


@dataclass(frozen=True)
class LoginProblem:
    """A place logins should come from that cannot be used, shown as broken beside the logins."""

    subject: str  # the config file, a server named in it, or a credential helper
    source: LoginSource
    error: DockpushError

    @property
    def where(self) -> str:
        """The place, as the saved-logins screen names it (a problem may be anywhere in
        config.json, not only in `auths`)."""
        return "docker config.json" if self.source is LoginSource.CONFIG else self.source.value


@dataclass(frozen=True)
class SavedLogins:
    """Every saved login found, and every source that could not be read."""

    logins: list[SavedLogin]
    problems: list[LoginProblem]


def config_dir() -> Path:
    """dockpush's config folder (DOCKPUSH_CONFIG_DIR overrides the platform default)."""
    return Path(os.environ.get("DOCKPUSH_CONFIG_DIR") or user_config_dir("dockpush"))


def _keyring() -> ModuleType:
    """The `keyring` package, imported on first use (see the module docstring)."""
    import keyring  # also loads keyring.errors, which callers catch

    return keyring


def keyring_problem() -> str | None:
    """Why the keyring cannot be used, or None when it can. May block (locked keyring)."""
    backend = _keyring().get_keyring()
    name = type(backend).__module__ + "." + type(backend).__name__
    if "fail" in name or "null" in name.lower():
        return f"no keyring backend is available ({name})"
    try:
        priority = backend.priority
    except Exception as error:  # a backend that cannot even rate itself is unusable
        return f"{name} is not usable: {error}"
    if priority is not None and priority <= 0:
        return f"{name} is not usable here"
    return None


def _service(registry: str) -> str:
    return KEYRING_SERVICE_PREFIX + registry_key(registry)


def _config_problems(config: DockerConfig) -> list[LoginProblem]:
    return [_as_login_problem(problem) for problem in config.problems]


def _as_login_problem(problem: ConfigProblem) -> LoginProblem:
    return LoginProblem(problem.subject, LoginSource.CONFIG, problem.error)


def _server_names(registry: str) -> list[str]:
    """The spellings the docker CLI may have filed a registry's login under."""
    key = registry_key(registry)
    if key == DEFAULT_DOMAIN:
        return [DOCKER_HUB_AUTH_KEY, DEFAULT_DOMAIN, "index.docker.io"]
    return [registry, key, f"https://{key}", f"http://{key}"]


def _login(registry: str, credential: DockerCredential) -> Login:
    return Login(registry, credential.username, credential.secret, credential.identity_token)


class CredentialStore:
    """Finds saved logins (keyring, then the docker CLI's config) and saves to the keyring.

    `load` keeps what it could not read in `problems`; `list_saved` returns them."""

    def __init__(self) -> None:
        self.problems: list[LoginProblem] = []

    # -- dockpush's own logins (keyring) ---------------------------------------------------

    def _index_file(self) -> Path:
        return config_dir() / "logins.json"

    def _index(self) -> dict[str, str]:
        try:
            return dict(json.loads(self._index_file().read_text()))
        except (OSError, ValueError, TypeError):
            return {}

    def _write_index(self, index: dict[str, str]) -> None:
        # Mode 0600 in a 0700 folder, through a unique temporary file: never half written.
        replace_private_file(self._index_file(), json.dumps(index, indent=2, sort_keys=True) + "\n")

    def saved_users(self) -> dict[str, str]:
        """Registry -> user of dockpush's saved logins (reads the index file only, no keyring)."""
        return self._index()

    def save(self, login: Login) -> None:
        """Keep the login in the system keyring; raises KeyringUnavailable when there is none."""
        problem = keyring_problem()
        if problem:
            raise KeyringUnavailable(f"The login could not be saved: {problem}.")
        keyring = _keyring()
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
        keyring = _keyring()
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
        keyring = _keyring()
        try:
            secret = keyring.get_password(_service(key), username)
        except keyring.errors.KeyringError as error:
            self.problems.append(
                LoginProblem(
                    key,
                    LoginSource.KEYRING,
                    KeyringUnavailable(
                        f"The system keyring could not be read ({type(error).__name__}).",
                        next_step="Unlock the system keyring, then look again.",
                    ),
                )
            )
            return None
        return Login(registry, username, Secret(secret)) if secret is not None else None

    # -- the docker CLI's logins -----------------------------------------------------------

    @staticmethod
    def _from_helper(name: str, servers: list[str]) -> DockerCredential | None:
        for server in servers:
            found = helper_get(name, server)
            if found is not None:
                return found
        return None

    def _from_docker(self, config: DockerConfig, registry: str) -> tuple[Login, LoginSource] | None:
        """The docker CLI's login for a registry; DockerConfigBroken when a helper fails."""
        servers = _server_names(registry)
        helper = next((config.cred_helpers[s] for s in servers if s in config.cred_helpers), None)
        if helper is not None:
            # As the CLI: a registry with its own helper never falls back to another source.
            found = self._from_helper(helper, servers) if helper else None  # "": refused name
            return (_login(registry, found), LoginSource.HELPER) if found else None
        if config.creds_store:
            found = self._from_helper(config.creds_store, servers)
            if found is not None:
                return _login(registry, found), LoginSource.STORE
        for server in servers:
            entry = config.auths.get(server)
            credential = entry.credential(config.path) if entry else None
            if credential is not None:
                return _login(registry, credential), LoginSource.CONFIG
        return None

    # -- lookups ---------------------------------------------------------------------------

    def load(self, registry: str) -> tuple[Login, LoginSource] | None:
        """The most trusted login for a registry, and where it came from. May block.

        What could not be read on the way is added to `problems`."""
        login = self._from_keyring(registry)
        if login is not None:
            return login, LoginSource.KEYRING
        config = read_docker_config()
        self.problems += _config_problems(config)
        try:
            return self._from_docker(config, registry)
        except DockerConfigBroken as error:
            self.problems.append(LoginProblem(registry_key(registry), LoginSource.CONFIG, error))
            return None

    def list_saved(self) -> SavedLogins:
        """Every registry with a saved login, from every source, and what could not be read.
        No secret is read here except through `auths` entries (decoded for the user name);
        credential helpers are asked to `list`, which returns user names only. May block."""
        found: dict[str, SavedLogin] = {}
        for key, username in self._index().items():
            found[key] = SavedLogin(key, username, LoginSource.KEYRING)
        config = read_docker_config()
        problems = _config_problems(config)
        for server, name in config.cred_helpers.items():
            if name:
                key = registry_key(server)
                found.setdefault(key, SavedLogin(key, "", LoginSource.HELPER, name))
        if config.creds_store:
            store = config.creds_store
            try:
                listed = helper_list(store)
            except DockerConfigBroken as error:
                problems.append(
                    LoginProblem(f"docker-credential-{store}", LoginSource.STORE, error)
                )
                listed = {}
            for server, username in listed.items():
                key = registry_key(server)
                found.setdefault(key, SavedLogin(key, username, LoginSource.STORE, store))
        for server, entry in config.auths.items():
            key = registry_key(server)
            try:
                credential = entry.credential(config.path)
            except DockerConfigBroken as error:
                problems.append(LoginProblem(key, LoginSource.CONFIG, error))
                continue
            if credential is not None:
                found.setdefault(key, SavedLogin(key, credential.username, LoginSource.CONFIG))
        return SavedLogins(sorted(found.values(), key=lambda saved: saved.registry), problems)
