"""Image references, parsed exactly as the Docker engine does (the distribution reference grammar).

`parse(text)` is the raw grammar (`name[:tag][@digest]`, no Docker Hub knowledge);
`parse_normalized(text)` reads text the way the docker CLI does (`ubuntu` is
`docker.io/library/ubuntu`). Both return an immutable `Reference` or raise
`InvalidReference`, whose message names the bad part and the rule it broke.
`registry_key(domain)` is the one name a registry's logins are kept under.

The grammar and the order of checks follow github.com/distribution/reference;
tests/test_reference_conformance.py runs its upstream test tables against this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
LOCALHOST = "localhost"
NAME_TOTAL_LENGTH_MAX = 255
TAG_LENGTH_MAX = 128

# Go's \w is ASCII-only; spell the classes out so Python's Unicode \w cannot widen them.
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_NAME_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6_ADDRESS = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = rf"{_DOMAIN_NAME_COMPONENT}(?:\.{_DOMAIN_NAME_COMPONENT})*"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6_ADDRESS})"
_DOMAIN_AND_PORT = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME}"

# The anchored expressions; always used with fullmatch (Python's `$` accepts a trailing newline).
DOMAIN_AND_PORT_RE = re.compile(_DOMAIN_AND_PORT)
TAG_RE = re.compile(_TAG)
DIGEST_RE = re.compile(_DIGEST)
PATH_COMPONENT_RE = re.compile(_PATH_COMPONENT)
NAME_RE = re.compile(rf"(?:({_DOMAIN_AND_PORT})/)?({_REMOTE_NAME})")
REFERENCE_RE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?")
IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")

# go-digest: the algorithms we accept and the exact encodings they take.
_DIGEST_ENCODINGS = {
    "sha256": re.compile(r"[a-f0-9]{64}"),
    "sha384": re.compile(r"[a-f0-9]{96}"),
    "sha512": re.compile(r"[a-f0-9]{128}"),
}
_GENERIC_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")

_TAG_RULE = (
    "tags may use letters, digits, '_', '.' and '-', up to 128 characters, "
    "and may not start with '.' or '-'"
)
_PATH_RULE = (
    "each part of a repository name uses lowercase letters and digits, separated by one "
    "'.', one or two '_', or any number of '-', and starts and ends with a letter or digit"
)


class InvalidReference(ValueError):
    """Text that is not a valid image reference.

    `code` is the upstream error it corresponds to (for example `ErrNameContainsUppercase`),
    `part` names the offending part (`tag`, `digest`, `repository`, `registry`, `reference`),
    and the message says in words what is wrong and what the rule is.
    """

    def __init__(self, message: str, *, code: str, part: str) -> None:
        super().__init__(message)
        self.code = code
        self.part = part


@dataclass(frozen=True, slots=True)
class Reference:
    """An image reference: `[domain/]path[:tag][@digest]`."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The repository name with its domain, as the engine writes it."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    def _with_suffix(self, name: str) -> str:
        tag = f":{self.tag}" if self.tag is not None else ""
        digest = f"@{self.digest}" if self.digest is not None else ""
        return f"{name}{tag}{digest}"

    def __str__(self) -> str:
        return self._with_suffix(self.name)

    @property
    def familiar_name(self) -> str:
        """The short name a person types: Docker Hub's domain and `library/` dropped."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        if self.path.startswith(OFFICIAL_REPO_PREFIX):
            rest = self.path[len(OFFICIAL_REPO_PREFIX) :]
            if "/" not in rest:
                return rest
        return self.path

    @property
    def familiar(self) -> str:
        """The familiar form with tag and digest: `ubuntu:22.04`, `user/app@sha256:…`."""
        return self._with_suffix(self.familiar_name)

    @property
    def is_docker_hub(self) -> bool:
        """Whether the reference points at Docker Hub."""
        return self.domain == DEFAULT_DOMAIN

    def with_tag(self, tag: str) -> Reference:
        """The same repository with another tag (checked against the tag grammar)."""
        _check_tag(tag)
        return replace(self, tag=tag)

    def with_digest(self, digest: str) -> Reference:
        """The same repository pinned to a digest (checked against the digest grammar)."""
        if not DIGEST_RE.fullmatch(digest):
            raise InvalidReference(
                f"the digest {digest!r} is not of the form algorithm:hex (for example sha256:…)",
                code="ErrDigestInvalidFormat",
                part="digest",
            )
        return replace(self, digest=digest)

    def without_tag_and_digest(self) -> Reference:
        """Just the repository."""
        return replace(self, tag=None, digest=None)

    def tagged_or_latest(self) -> Reference:
        """The reference with `latest` added when it has neither tag nor digest (as docker does)."""
        if self.tag is None and self.digest is None:
            return replace(self, tag=DEFAULT_TAG)
        return self


def _check_tag(tag: str) -> None:
    if TAG_RE.fullmatch(tag):
        return
    raise InvalidReference(_tag_problem(tag), code="ErrTagInvalidFormat", part="tag")


def describe_char(char: str) -> str:
    """A character named so a person can find it: `a space`, `'!'`, `the control character …`."""
    if char == " ":
        return "a space"
    if char == "\t":
        return "a tab"
    if char in "\r\n":
        return "a line break"
    if not char.isprintable():
        return f"the control character U+{ord(char):04X}"
    return f"'{char}'"


def _tag_problem(tag: str) -> str:
    if not tag:
        return f"the tag is empty after ':'; {_TAG_RULE}"
    if len(tag) > TAG_LENGTH_MAX:
        return f"the tag is {len(tag)} characters long; {_TAG_RULE}"
    if tag[0] in ".-":
        return f"the tag {tag!r} starts with '{tag[0]}'; {_TAG_RULE}"
    bad = next(c for c in tag if not re.fullmatch(r"[A-Za-z0-9_.-]", c))
    return f"the tag {tag!r} contains {describe_char(bad)}; {_TAG_RULE}"


def _validate_digest(digest: str) -> None:
    """go-digest's Parse: the exact checks and their order."""
    algorithm, sep, encoded = digest.partition(":")
    if not sep or not algorithm or not encoded:
        raise InvalidReference(
            f"the digest {digest!r} is not of the form algorithm:hex",
            code="ErrDigestInvalidFormat",
            part="digest",
        )
    pattern = _DIGEST_ENCODINGS.get(algorithm)
    if pattern is None:
        if not _GENERIC_DIGEST_RE.fullmatch(digest):
            raise InvalidReference(
                f"the digest {digest!r} is not of the form algorithm:hex",
                code="ErrDigestInvalidFormat",
                part="digest",
            )
        raise InvalidReference(
            f"the digest algorithm {algorithm!r} is not supported; use sha256 (or sha384, sha512)",
            code="ErrDigestUnsupported",
            part="digest",
        )
    expected = int(pattern.pattern.split("{")[1].rstrip("}"))
    if len(encoded) != expected:
        raise InvalidReference(
            f"a {algorithm} digest has {expected} hex characters, this one has {len(encoded)}",
            code="ErrDigestInvalidLength",
            part="digest",
        )
    if not pattern.fullmatch(encoded):
        raise InvalidReference(
            f"the {algorithm} digest must be lowercase hex (0-9, a-f)",
            code="ErrDigestInvalidFormat",
            part="digest",
        )


def _check_path_length(path: str) -> None:
    # Since distribution/reference v0.6.0 only the path counts, not the domain.
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"the repository path is {len(path)} characters long; at most "
            f"{NAME_TOTAL_LENGTH_MAX} are allowed",
            code="ErrNameTooLong",
            part="repository",
        )


def parse(text: str) -> Reference:
    """Parse with the raw grammar: no normalisation, no default domain or tag."""
    match = REFERENCE_RE.fullmatch(text)
    if match is None:
        if text == "":
            raise InvalidReference(
                "the reference is empty; type a name such as registry.example.com/team/app:1.0",
                code="ErrNameEmpty",
                part="reference",
            )
        if REFERENCE_RE.fullmatch(text.lower()):
            raise InvalidReference(
                _uppercase_message(text), code="ErrNameContainsUppercase", part="repository"
            )
        raise _invalid_format(text)
    name, tag, digest = match.group(1), match.group(2), match.group(3)
    name_match = NAME_RE.fullmatch(name)
    assert name_match is not None  # the reference grammar contains the name grammar
    domain, path = name_match.group(1) or "", name_match.group(2)
    _check_path_length(path)
    if digest is not None:
        _validate_digest(digest)
    return Reference(domain=domain, path=path, tag=tag, digest=digest)


def parse_name(text: str) -> Reference:
    """A repository name only (`WithName`): no tag or digest allowed."""
    match = NAME_RE.fullmatch(text)
    if match is None:
        raise InvalidReference(
            f"{text!r} is not a repository name; {_PATH_RULE}",
            code="ErrReferenceInvalidFormat",
            part="repository",
        )
    domain, path = match.group(1) or "", match.group(2)
    _check_path_length(path)
    return Reference(domain=domain, path=path)


def split_docker_domain(text: str) -> tuple[str, str]:
    """Split typed text into (domain, remainder) as the docker CLI does."""
    first, slash, rest = text.partition("/")
    if not slash:
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + text
    if first == LOCALHOST or ("." in first or ":" in first) or first.lower() != first:
        domain, remainder = first, rest
    else:
        domain, remainder = DEFAULT_DOMAIN, text
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse_normalized(text: str) -> Reference:
    """Parse text the way the docker CLI reads what a person types (`ParseNormalizedNamed`)."""
    if text == "":
        return parse(text)  # raises the "empty" explanation
    if IDENTIFIER_RE.fullmatch(text):
        raise InvalidReference(
            f"{text!r} is an image id, not a name; a repository name cannot be 64 hex characters",
            code="ErrReferenceInvalidFormat",
            part="repository",
        )
    domain, remainder = split_docker_domain(text)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        typed = remote.removeprefix(OFFICIAL_REPO_PREFIX) if "/" not in text else remote
        raise InvalidReference(
            _uppercase_message(typed), code="ErrNameContainsUppercase", part="repository"
        )
    try:
        return parse(f"{domain}/{remainder}")
    except InvalidReference as error:
        if error.code == "ErrReferenceInvalidFormat":
            # Explain against what the person typed, not the expanded form.
            raise _invalid_format(text) from None
        raise


def parse_docker_ref(text: str) -> Reference:
    """`ParseDockerRef`: normalised, `latest` added when untagged, tag dropped beside a digest."""
    reference = parse_normalized(text)
    if reference.digest is not None:
        return replace(reference, tag=None)
    return reference.tagged_or_latest()


def parse_any(text: str) -> Reference | str:
    """`ParseAnyReference`: a bare id or digest gives the digest string, else a reference."""
    if IDENTIFIER_RE.fullmatch(text):
        return f"sha256:{text}"
    try:
        _validate_digest(text)
    except InvalidReference:
        return parse_normalized(text)
    return text


def _uppercase_message(text: str) -> str:
    upper = list(dict.fromkeys(c for c in text if c.isupper()))
    return (
        f"the repository name {text!r} contains uppercase ({', '.join(upper)}); "
        "repository names must be lowercase (tags may use uppercase)"
    )


def _explain_format(text: str) -> tuple[str, str]:
    """Find the first broken part of text that does not match the grammar: (part, why)."""
    name, at, digest = text.partition("@")
    if at and not DIGEST_RE.fullmatch(digest):
        return "digest", (
            f"the digest {digest!r} after '@' is not of the form algorithm:hex "
            "(for example sha256: followed by 64 hex characters)"
        )
    components = name.split("/")
    last_name, colon, tag = components[-1].partition(":")
    if colon:
        components[-1] = last_name
        if not TAG_RE.fullmatch(tag):
            return "tag", _tag_problem(tag)
    if len(components) > 1 and (
        "." in components[0] or ":" in components[0] or components[0] == LOCALHOST
    ):
        registry = components.pop(0)
        if not DOMAIN_AND_PORT_RE.fullmatch(registry):
            return "registry", (
                f"the registry {registry!r} is not a host name or IP address with an optional "
                ":port (for example registry.example.com:5000)"
            )
    for component in components:
        if component == "":
            return "repository", (
                "the repository name has an empty part (two '/' in a row, or one at an end)"
            )
        if not PATH_COMPONENT_RE.fullmatch(component):
            bad = next((c for c in component if not re.fullmatch(r"[a-z0-9._-]", c)), None)
            problem = f"contains {describe_char(bad)}" if bad is not None else "is not allowed"
            return "repository", f"the repository part {component!r} {problem}; {_PATH_RULE}"
    return "reference", (
        f"{text!r} is not a valid image reference (registry/namespace/repository:tag)"
    )


def _invalid_format(text: str) -> InvalidReference:
    part, why = _explain_format(text)
    return InvalidReference(why, code="ErrReferenceInvalidFormat", part=part)


# -- registry names: the one key a registry's login is saved and looked up under -------------

# The key the docker CLI files Docker Hub's login under in config.json and credential helpers.
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
# Docker Hub's host names; an empty name means Docker Hub too, as in the CLI.
_DOCKER_HUB_HOSTS = frozenset({"", DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN, "registry-1.docker.io"})


def registry_key(registry: str) -> str:
    """The canonical name of a registry (a reference's domain, or a server named in the docker
    config): Docker Hub's many spellings become `docker.io`; scheme, `/v1`, `/v2` and case go."""
    text = registry.strip().lower()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    text = text.rstrip("/").removesuffix("/v1").removesuffix("/v2").rstrip("/")
    return DEFAULT_DOMAIN if text in _DOCKER_HUB_HOSTS else text
