"""Credentials: secrets that never print, and the login they belong to."""

from __future__ import annotations

from dataclasses import dataclass

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

    def auth_config(self) -> dict[str, str]:
        """The engine's X-Registry-Auth payload (built only when a request is sent)."""
        hub = registry_key(self.registry) == "docker.io"
        address = DOCKER_HUB_AUTH_KEY if hub else self.registry
        return {
            "username": self.username,
            "password": self.secret.reveal(),
            "serveraddress": address,
        }
