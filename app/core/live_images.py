"""The engine's images kept current from its image events, asking the engine only what an
event does not say.

A tag event names the tag and the image: applied as it is (the tag leaves any image that had
it, as the engine moves a tag without an untag event). An untag names the tag on the
containerd store, only the image on the classic store: then the image's names are asked for.
A delete removes the image. Anything else (pull, load, import, build, prune) lists again.
Events are applied in the order the engine sent them, each as "this is so now", so that after
the last event the images are what a fresh listing says.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from app.core.errors import ImageNotFound
from app.core.images import split_repo_tag
from app.core.local_images import ImageEvent, LocalImage

if TYPE_CHECKING:  # the Engine API client loads with the first connection, not with the list
    from app.core.engine import Engine

# Events that change no image's names.
UNCHANGING = frozenset({"push", "save", "inspect"})

Changes = dict[str, LocalImage | None]  # image id -> its new state (None: gone)
Item = TypeVar("Item")


class LiveImages:
    """Images by id, changed by engine events; each change is recorded for the caller."""

    def __init__(self, images: Iterable[LocalImage]) -> None:
        self.images: dict[str, LocalImage] = {}
        self._owner: dict[str, str] = {}  # tag -> image id
        self.reset(images)

    def reset(self, images: Iterable[LocalImage]) -> Changes:
        """Take a fresh listing; the images that differ from before (None: gone)."""
        fresh = {image.id: image for image in images}
        old = self.images
        changes: Changes = {key: image for key, image in fresh.items() if old.get(key) != image}
        changes.update({image_id: None for image_id in self.images.keys() - fresh.keys()})
        self.images = fresh
        self._owner = {tag: image.id for image in fresh.values() for tag in image.repo_tags}
        return changes

    def needs_listing(self, event: ImageEvent) -> bool:
        """Whether the event leaves too much unsaid: an image never seen, or an action that
        can make images (pull, load, import, build) or remove many (prune)."""
        if event.action in UNCHANGING or event.action == "delete":
            return False
        if event.action in ("tag", "untag"):
            return event.image_id not in self.images
        return True

    def needs_names(self, event: ImageEvent) -> bool:
        """An untag that does not say which tag went (the classic store names the image)."""
        return event.action == "untag" and not _is_tag(event.name, event.image_id)

    def apply(self, event: ImageEvent, changes: Changes) -> None:
        """Apply an event that says enough (see `needs_listing`, `needs_names`)."""
        image = self.images.get(event.image_id)
        if event.action == "delete":
            self._set(event.image_id, None, changes)
        elif image is None or not _is_tag(event.name, event.image_id):
            return
        elif event.action == "tag" and event.name not in image.repo_tags:
            previous = self._owner.get(event.name)
            if previous is not None and previous in self.images:
                former = self.images[previous]
                self._set_tags(former, _without(former, event.name), changes)
            self._set_tags(image, (*image.repo_tags, event.name), changes)
        elif event.action == "untag" and event.name in image.repo_tags:
            self._set_tags(image, _without(image, event.name), changes)

    def set_names(
        self, image_id: str, tags: tuple[str, ...], digests: tuple[str, ...], changes: Changes
    ) -> None:
        """The engine's answer about one image's names."""
        image = self.images.get(image_id)
        if image is not None:
            self._set(image_id, replace(image, repo_tags=tags, repo_digests=digests), changes)

    def _set_tags(self, image: LocalImage, tags: tuple[str, ...], changes: Changes) -> None:
        digests = image.repo_digests
        if image.containerd_store:
            # That store gives each name its own digest, `repository@<image id>`.
            own = {f"{split_repo_tag(tag)[0]}@{image.id}" for tag in image.repo_tags}
            kept = {f"{split_repo_tag(tag)[0]}@{image.id}" for tag in tags}
            digests = tuple(d for d in digests if d not in own - kept)
            digests += tuple(sorted(kept - set(digests)))
        self._set(image.id, replace(image, repo_tags=tags, repo_digests=digests), changes)

    def _set(self, image_id: str, image: LocalImage | None, changes: Changes) -> None:
        old = self.images.pop(image_id, None)
        for tag in old.repo_tags if old else ():
            if self._owner.get(tag) == image_id:
                del self._owner[tag]
        if image is not None:
            self.images[image_id] = image
            self._owner.update(dict.fromkeys(image.repo_tags, image_id))
        changes[image_id] = image


def _is_tag(name: str, image_id: str) -> bool:
    return bool(name) and name != image_id and not name.startswith("sha256:")


def _without(image: LocalImage, tag: str) -> tuple[str, ...]:
    return tuple(t for t in image.repo_tags if t != tag)


def apply_events(engine: Engine, live: LiveImages, events: list[ImageEvent]) -> Changes:
    """Apply a batch of events to `live`, asking `engine` what they leave unsaid. Blocking."""
    if any(live.needs_listing(event) for event in events):
        # One listing, made after every event of the batch, says all they said.
        return live.reset(engine.list_images())
    changes: Changes = {}
    for event in events:
        if not live.needs_names(event):
            live.apply(event, changes)
            continue
        try:
            tags, digests = engine.image_names(event.image_id)
        except ImageNotFound:
            live.apply(ImageEvent("delete", event.image_id, event.image_id), changes)
        else:
            live.set_names(event.image_id, tags, digests, changes)
    return changes


def batches(items: Iterable[Item], every: float) -> Iterator[list[Item]]:
    """The items of a blocking iterable, read on a thread of its own, in lists: what arrived
    while the caller handled the last list, a list at most every `every` seconds. An error
    of the iterable is raised after the items that came before it."""
    arrived: queue.SimpleQueue = queue.SimpleQueue()
    end = object()

    def read() -> None:
        try:
            for item in items:
                arrived.put(item)
        except Exception as error:  # raised below, in the caller's thread
            arrived.put(_Failed(error))
        arrived.put(end)

    threading.Thread(target=read, name="engine-events", daemon=True).start()
    while True:
        batch = [arrived.get()]
        time.sleep(every)  # let a burst gather
        while not arrived.empty():
            batch.append(arrived.get())
        failure = next((item for item in batch if isinstance(item, _Failed)), None)
        items_now = [item for item in batch if item is not end and not isinstance(item, _Failed)]
        if items_now:
            yield items_now
        if failure is not None:
            raise failure.error
        if batch[-1] is end:
            return


class _Failed:
    """The reading thread's error, carried to the caller."""

    def __init__(self, error: Exception) -> None:
        self.error = error
