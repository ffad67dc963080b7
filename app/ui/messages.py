"""App-wide messages: past-tense facts posted by workers and screens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from app.core.reference import Reference
from app.ui.workflow import Source

if TYPE_CHECKING:  # the dialog module imports this one; the engine loads with a connection
    from app.core.engine import Engine
    from app.ui.dialogs.login import LoginOutcome


@dataclass
class EngineConnected(Message):
    """A connection to the engine was made."""

    host: str


@dataclass
class EngineEventsStopped(Message):
    """The engine's event stream ended (the engine stopped or the connection broke)."""

    reason: str


# -- what a screen did, posted upward; the App, which owns the screen stack, goes on from it --


@dataclass
class ImagesChosen(Message):
    """The person chose images in the browser to tag and push (step 1 done)."""

    sources: list[Source]


@dataclass
class ImagesChosenAsIs(Message):
    """The person chose images to push under their own names, without the tag step."""

    sources: list[Source]


@dataclass
class TagsCreated(Message):
    """The tag form created these references (step 2 done)."""

    targets: list[Reference]


@dataclass
class VerifyWanted(Message):
    """The person asked to verify these references (none: a reference of their choice)."""

    targets: list[Reference]


@dataclass
class LoginWanted(Message):
    """A screen needs a login for a registry ("" lets the person name it); `done` is called
    with the dialog's outcome, or None when it was cancelled."""

    registry: str
    done: Callable[[LoginOutcome | None], None] | None = None


@dataclass
class EngineChosen(Message):
    """The person switched to another engine, already connected."""

    engine: Engine


@dataclass
class TargetShown(Message):
    """The screen now works on this registry, as this user (None: no login)."""

    registry: str
    user: str | None
