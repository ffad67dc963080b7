"""App-wide messages: past-tense facts posted by workers and screens."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class EngineConnected(Message):
    """A connection to the engine was made."""

    host: str


@dataclass
class EngineImagesChanged(Message):
    """The engine reported an image event (tag, untag, delete, import, build, pull)."""

    action: str


@dataclass
class EngineEventsStopped(Message):
    """The engine's event stream ended (the engine stopped or the connection broke)."""

    reason: str
