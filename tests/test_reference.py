"""Reference parsing: friendly messages, normalisation, and properties over random input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.reference import (
    InvalidReference,
    Reference,
    parse,
    parse_normalized,
)

component = st.from_regex(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", fullmatch=True).filter(
    lambda s: len(s) <= 40
)
domain = st.one_of(
    st.just("docker.io"),
    st.just("localhost:5000"),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]\.(?:com|io|dev)(?::[0-9]{2,5})?", fullmatch=True),
    st.just("[::1]:5000"),
)
tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
digest = st.from_regex(r"[a-f0-9]{64}", fullmatch=True).map(lambda h: f"sha256:{h}")


@st.composite
def references(draw: st.DrawFn) -> Reference:
    chosen_domain = draw(domain)
    parts = draw(st.lists(component, min_size=1, max_size=3))
    if chosen_domain == "docker.io" and len(parts) > 1:
        # Hub namespaces never contain '.', which would read as a registry in familiar form.
        parts[0] = parts[0].replace(".", "-")
    path = "/".join(parts)
    return Reference(
        domain=chosen_domain,
        path=path,
        tag=draw(st.none() | tag),
        digest=draw(st.none() | digest),
    )


@given(references())
def test_valid_references_round_trip(reference: Reference) -> None:
    assert parse(str(reference)) == reference
    normalized = parse_normalized(str(reference))
    assert parse_normalized(normalized.familiar) == normalized


@given(st.text(max_size=300))
def test_random_text_raises_only_invalid_reference(text: str) -> None:
    for parser in (parse, parse_normalized):
        try:
            parser(text)
        except InvalidReference as error:
            assert str(error)
            assert error.part in {"reference", "registry", "repository", "tag", "digest"}


@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=50))
def test_messages_never_empty_for_non_ascii(text: str) -> None:
    try:
        parse_normalized(f"app:{text}")
    except InvalidReference as error:
        assert error.part in str(error) or error.part == "reference"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ubuntu", "docker.io/library/ubuntu"),
        ("ubuntu:22.04", "docker.io/library/ubuntu:22.04"),
        ("user/repo", "docker.io/user/repo"),
        ("index.docker.io/user/repo:1", "docker.io/user/repo:1"),
        ("docker.io/ubuntu", "docker.io/library/ubuntu"),
        ("localhost/app", "localhost/app"),
        ("127.0.0.1:5000/team/app:v1", "127.0.0.1:5000/team/app:v1"),
        ("ghcr.io/org/app:1.2", "ghcr.io/org/app:1.2"),
    ],
)
def test_normalisation(text: str, expected: str) -> None:
    assert str(parse_normalized(text)) == expected


def test_familiar_forms() -> None:
    assert parse_normalized("docker.io/library/ubuntu:22.04").familiar == "ubuntu:22.04"
    assert parse_normalized("docker.io/user/app").familiar == "user/app"
    assert parse_normalized("ghcr.io/org/app:1").familiar == "ghcr.io/org/app:1"
    assert parse_normalized("ubuntu").is_docker_hub


@pytest.mark.parametrize(
    ("text", "part", "words"),
    [
        ("app:v1 .0", "tag", ["tag 'v1 .0'", "a space", "128 characters", "may not start"]),
        ("app:.hidden", "tag", ["starts with '.'"]),
        ("app:-x", "tag", ["starts with '-'"]),
        ("app:" + "v" * 129, "tag", ["129 characters"]),
        ("app:", "tag", ["empty"]),
        ("MyApp:1", "repository", ["uppercase", "M, A", "lowercase"]),
        ("team/My-App", "repository", ["uppercase"]),
        ("team//app", "repository", ["empty part"]),
        ("team/app!", "repository", ["'!'"]),
        ("team/-app", "repository", ["'-app'", "starts and ends"]),
        ("registry..com/app", "registry", ["registry", "host name"]),
        ("app@sha256:abc", "digest", ["digest", "algorithm:hex"]),
        ("", "reference", ["empty"]),
        ("a\tb", "repository", ["a tab"]),
        ("line\nbreak", "repository", ["a line break"]),
    ],
)
def test_messages_name_the_bad_part(text: str, part: str, words: list[str]) -> None:
    with pytest.raises(InvalidReference) as raised:
        parse_normalized(text)
    assert raised.value.part == part
    for word in words:
        assert word in str(raised.value)


def test_digest_length_and_case() -> None:
    with pytest.raises(InvalidReference, match="64 hex characters, this one has 63"):
        parse("app@sha256:" + "a" * 63)
    with pytest.raises(InvalidReference, match="lowercase hex"):
        parse("app@sha256:" + "A" * 64)
    assert parse("app@sha512:" + "f" * 128).digest


def test_image_id_is_not_a_name() -> None:
    with pytest.raises(InvalidReference, match="image id"):
        parse_normalized("a" * 64)


def test_with_tag_checks_the_grammar() -> None:
    base = parse_normalized("app")
    assert str(base.with_tag("1.0")) == "docker.io/library/app:1.0"
    with pytest.raises(InvalidReference, match="contains a space"):
        base.with_tag("1 0")
    assert base.tagged_or_latest().tag == "latest"
