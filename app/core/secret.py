"""A password or token that never prints: safe to pass through logs, screens and errors."""

from __future__ import annotations


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
        # Equal secrets hash alike; the hash is built from the length only, so it says nothing.
        return hash(("Secret", len(self._value)))

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")
