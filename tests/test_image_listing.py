"""The browser's rows kept up to date image by image, and the engine's images kept up to date
event by event: after any sequence of changes, the same as made afresh (pure, no engine)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import EngineConnectionLost
from app.core.images import ImageListing, ListingSettings, SortColumn, narrows
from app.core.live_images import LiveImages, batches
from app.core.local_images import ImageEvent, LocalImage

WHEN = datetime(2026, 3, 14, tzinfo=UTC)


def _image(n: int, *tags: str, containerd: bool = False) -> LocalImage:
    image_id = f"sha256:{n:064x}"
    digests = (
        tuple(sorted({f"{t.rpartition(':')[0]}@{image_id}" for t in tags})) if containerd else ()
    )
    return LocalImage(
        image_id,
        tags,
        digests,
        WHEN.replace(day=1 + n % 28),
        1000 * (n % 7),
        containerd_store=containerd,
    )


def _view(listing: ImageListing) -> list[tuple[str, tuple[str, ...]]]:
    return [(row.key, listing.cells[row.key]) for row in listing.shown]


def _same_as_fresh(listing: ImageListing) -> None:
    fresh = ImageListing(listing.images.values(), listing.settings, listing.marked, WHEN)
    fresh.set_query(listing.query)
    assert _view(listing) == _view(fresh)
    assert [row.key for row in listing.rows] == [row.key for row in fresh.rows]
    assert {key: row.image for key, row in listing.by_key.items()} == {
        key: row.image for key, row in fresh.by_key.items()
    }


TAGS = [f"{repo}:{tag}" for repo in ("app", "web", "127.0.0.1:5000/team/api") for tag in "123"]
images_strategy = st.dictionaries(
    st.integers(0, 6), st.lists(st.sampled_from(TAGS), unique=True, max_size=4), max_size=5
)


@settings(max_examples=150, deadline=None)
@given(
    first=images_strategy,
    steps=st.lists(images_strategy, max_size=4),
    column=st.sampled_from(list(SortColumn)),
    descending=st.booleans(),
    dangling=st.booleans(),
    query=st.sampled_from(["", "app", "web 2", "api", "1", "zzz"]),
)
def test_a_listing_changed_image_by_image_equals_one_made_afresh(
    first, steps, column, descending, dangling, query
) -> None:
    setup = ListingSettings(column, descending, dangling, absolute_dates=True)
    listing = ImageListing([_image(n, *tags) for n, tags in first.items()], setup, now=WHEN)
    listing.set_query(query)
    listing.mark([row.key for row in listing.rows[:2]], True)
    for step in steps:
        new = {_image(n, *tags).id: _image(n, *tags) for n, tags in step.items()}
        gone = {image_id: None for image_id in listing.images.keys() - new.keys()}
        listing.replace_images({**new, **gone}, WHEN)
        _same_as_fresh(listing)
    listing.set_query(query + "x")  # narrower: filtered from the rows shown
    _same_as_fresh(listing)


def test_narrowing_queries() -> None:
    assert narrows("", "web")
    assert narrows("we", "web")
    assert narrows("web", "web 2")
    assert narrows("2 web", "web:2")
    assert not narrows("web", "we")
    assert not narrows("web 2", "web")


def _live(*images: LocalImage) -> LiveImages:
    return LiveImages(images)


def _apply(live: LiveImages, *events: ImageEvent) -> dict:
    changes: dict = {}
    for event in events:
        assert not live.needs_listing(event) and not live.needs_names(event)
        live.apply(event, changes)
    return changes


def test_a_tag_moves_between_images_without_an_untag_event() -> None:
    a, b = _image(1, "app:1", "app:2"), _image(2, "web:1")
    live = _live(a, b)
    changes = _apply(live, ImageEvent("tag", b.id, "app:1"))
    assert live.images[a.id].repo_tags == ("app:2",)
    assert live.images[b.id].repo_tags == ("web:1", "app:1")
    assert set(changes) == {a.id, b.id}
    _apply(live, ImageEvent("tag", b.id, "app:2"))
    assert live.images[a.id].dangling  # an image whose last tag moved stays, untagged


def test_untag_and_delete_as_each_store_says_them() -> None:
    classic, store = _image(1, "app:1", "app:2"), _image(2, "web:1", "web:2", containerd=True)
    live = _live(classic, store)
    # The containerd store names the tag; its per-name digest goes with the last tag of a name.
    _apply(live, ImageEvent("untag", store.id, "web:1"))
    assert live.images[store.id].repo_tags == ("web:2",)
    assert live.images[store.id].repo_digests == (f"web@{store.id}",)
    _apply(live, ImageEvent("tag", store.id, "other:1"))
    assert set(live.images[store.id].repo_digests) == {f"web@{store.id}", f"other@{store.id}"}
    # The classic store names only the image: its names are asked for.
    untag = ImageEvent("untag", classic.id, classic.id)
    assert live.needs_names(untag)
    changes: dict = {}
    live.set_names(classic.id, ("app:2",), (), changes)
    assert live.images[classic.id].repo_tags == ("app:2",)
    assert _apply(live, ImageEvent("delete", classic.id, classic.id)) == {classic.id: None}
    assert classic.id not in live.images


def test_events_that_leave_things_unsaid_ask_for_a_listing() -> None:
    known = _image(1, "app:1")
    live = _live(known)
    assert live.needs_listing(ImageEvent("tag", _image(9).id, "new:1"))  # a new image
    assert live.needs_listing(ImageEvent("pull", "alpine:3", "alpine:3"))
    assert live.needs_listing(ImageEvent("load", known.id, known.id))
    assert not live.needs_listing(ImageEvent("push", "app:1", "app:1"))
    fresh = [_image(1, "app:1", "app:9"), _image(3, "web:1")]
    assert set(live.reset(fresh)) == {known.id, fresh[1].id}
    assert live.reset(fresh) == {}


def test_batches_gather_what_came_meanwhile_and_raise_the_readers_error_last() -> None:
    def slow_source():
        yield from range(5)
        time.sleep(0.3)
        yield 5
        raise EngineConnectionLost("The engine stopped sending events.")

    got = []
    with pytest.raises(EngineConnectionLost):
        for batch in batches(slow_source(), every=0.1):
            got.append(batch)
    assert [item for batch in got for item in batch] == list(range(6))
    assert len(got) < 6 and got[-1] == [5]  # together, but not across the pause
