"""The tag form's pure logic."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from app.core.images import SortColumn, filter_rows, image_rows, sort_rows
from app.core.local_images import LocalImage
from app.core.tagging import (
    TagFields,
    check_fields,
    colliding_targets,
    plan_tags,
    split_pasted,
    split_tags,
    suggest_tags,
)


def _image(image_id: str, *tags: str, size: int = 1, day: int = 1) -> LocalImage:
    return LocalImage(image_id, tags, (), datetime(2026, 1, day, tzinfo=UTC), size)


def test_split_pasted_reference() -> None:
    assert split_pasted("ghcr.io/org/app:1.2") == TagFields("ghcr.io", "org", "app", "1.2")
    assert split_pasted("user/app") == TagFields("docker.io", "user", "app", "")
    assert split_pasted("ubuntu:22.04") == TagFields("docker.io", "", "ubuntu", "22.04")
    assert split_pasted("127.0.0.1:5000/a/b/c:x") == TagFields("127.0.0.1:5000", "a/b", "c", "x")
    assert split_pasted("not a reference") is None
    assert split_pasted("Bad/Name") is None


def test_split_tags() -> None:
    assert split_tags(" 1.0, latest  1.0 ") == ["1.0", "latest"]


def test_check_fields_names_each_bad_field() -> None:
    good = TagFields("127.0.0.1:5000", "team", "app", "1.0 latest")
    assert check_fields(good, ["app"]) == []
    bad_tag = check_fields(TagFields("127.0.0.1:5000", "team", "app", "v1 .0"), ["app"])
    assert [p.field for p in bad_tag] == ["tags"]
    assert "'.0'" in bad_tag[0].message and "may not start" in bad_tag[0].message
    upper = check_fields(TagFields("ghcr.io", "Team", "app", "1"), ["app"])
    assert upper[0].field == "namespace" and "uppercase" in upper[0].message
    registry = check_fields(TagFields("bad_host!", "t", "app", "1"), ["app"])
    assert registry[0].field == "registry"
    no_port = check_fields(TagFields("myregistry", "t", "app", "1"), ["app"])
    assert "does not look like a registry host" in no_port[0].message
    repo = check_fields(TagFields("ghcr.io", "t", "my app", "1"), ["app"])
    assert repo[0].field == "repository" and "a space" in repo[0].message
    empty = check_fields(TagFields("ghcr.io", "t", "app", " "), ["app"])
    assert empty[0].field == "tags" and "at least one tag" in empty[0].message
    hub = check_fields(TagFields("docker.io", "", "app", "1"), ["app"])
    assert hub[0].field == "namespace" and "Docker Hub needs a namespace" in hub[0].message


def test_plan_tags_marks_moved_tags() -> None:
    images = [_image("sha256:aaa", "127.0.0.1:5000/team/app:1.0"), _image("sha256:bbb", "app:2")]
    fields = TagFields("127.0.0.1:5000", "team", "", "1.0 2.0")
    plan = plan_tags(fields, [("app:2", "sha256:bbb", "app")], images)
    assert [str(p.target) for p in plan] == [
        "127.0.0.1:5000/team/app:1.0",
        "127.0.0.1:5000/team/app:2.0",
    ]
    assert plan[0].moves_from == "sha256:aaa"
    assert plan[1].moves_from is None


def test_suggest_tags() -> None:
    assert suggest_tags(["latest"]) == ["latest"]
    assert suggest_tags(["1.2.3", "1.10.0", "dev"]) == ["latest", "1.10.1", "1.11.0", "2.0.0"]
    assert suggest_tags(["v0.9.9"]) == ["latest", "v0.9.10", "v0.10.0", "v1.0.0"]


def test_image_rows_filter_and_sort() -> None:
    images = [
        _image("sha256:111", "web:1", "web:2", size=5, day=3),
        _image("sha256:222", "127.0.0.1:5000/api:latest", size=9, day=1),
        _image("sha256:333", size=1, day=2),
    ]
    rows = image_rows(images)
    assert [(r.repository, r.tag) for r in rows] == [
        ("web", "1"),
        ("web", "2"),
        ("127.0.0.1:5000/api", "latest"),
    ]
    assert len(image_rows(images, show_dangling=True)) == 4
    assert [r.tag for r in filter_rows(rows, "WEB 2")] == ["2"]
    assert [r.repository for r in filter_rows(rows, "222")] == ["127.0.0.1:5000/api"]
    assert [r.image.size for r in sort_rows(rows, SortColumn.SIZE, descending=True)] == [9, 5, 5]
    assert sort_rows(rows, SortColumn.CREATED)[0].image.id == "sha256:222"
    assert rows[0].reference == "web:1"
    assert image_rows(images, show_dangling=True)[-1].reference == "sha256:333"


@given(st.text(max_size=80), st.text(max_size=40), st.text(max_size=40), st.text(max_size=60))
def test_any_field_text_gives_problems_or_valid_targets(registry, namespace, repository, tags):
    fields = TagFields(registry, namespace, repository, tags)
    problems = check_fields(fields, ["app"])
    for problem in problems:
        assert problem.message and problem.field in {"registry", "namespace", "repository", "tags"}
    if not problems:
        planned = plan_tags(fields, [("app:1", "sha256:x", "app")], [])
        assert planned and all(p.target.tag for p in planned)


def test_several_sources_with_empty_tags_keep_their_own_tags() -> None:
    fields = TagFields("127.0.0.1:5000", "team", "", "")
    assert check_fields(fields, ["app", "app"]) == []
    assert [p.field for p in check_fields(fields, ["app"])] == ["tags"]  # one image: say a tag
    sources = [("app:1.0", "sha256:a", "app"), ("app:1.1", "sha256:b", "app")]
    plan = plan_tags(fields, sources, [])
    assert [str(p.target) for p in plan] == [
        "127.0.0.1:5000/team/app:1.0",
        "127.0.0.1:5000/team/app:1.1",
    ]
    assert colliding_targets(plan) == []


def test_two_images_given_one_name_are_caught_and_one_image_is_tagged_once() -> None:
    fields = TagFields("127.0.0.1:5000", "team", "app", "stable")
    two_images = plan_tags(fields, [("a:1", "sha256:a", "a"), ("b:1", "sha256:b", "b")], [])
    assert colliding_targets(two_images) == ["127.0.0.1:5000/team/app:stable"]
    one_image = plan_tags(fields, [("a:1", "sha256:a", "a"), ("a:latest", "sha256:a", "a")], [])
    assert [str(p.target) for p in one_image] == ["127.0.0.1:5000/team/app:stable"]
