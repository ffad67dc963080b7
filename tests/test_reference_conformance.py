"""The upstream distribution/reference test tables, run against app.core.reference.

The cases live in ../shared/conformance (see its README); they are read from there,
never copied into the project.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core import reference as ref
from app.core.reference import InvalidReference

CASES_FILE = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "reference_cases.json"
CASES = json.loads(CASES_FILE.read_text()) if CASES_FILE.exists() else []
# Path-match globbing (FamiliarMatch) is not part of dockpush's API.
NOT_OFFERED = {"normalize_test.TestMatch", "normalize_test.TestMatchError"}
# We register sha512 (an OCI algorithm); upstream's HEAD test binary does not.
SHA512_CASE = "reference_test.TestReferenceParse#15"

pytestmark = pytest.mark.skipif(not CASES, reason=f"{CASES_FILE} not present")


def _cases(*suites: str) -> list[dict]:
    return [c for c in CASES if c["suite"] in suites]


def _ids(cases: list[dict]) -> list[str]:
    return [c["id"] for c in cases]


def _expect_error(call, case: dict) -> None:
    with pytest.raises(InvalidReference) as raised:
        call(case["input"])
    if "err" in case:
        assert raised.value.code == case["err"]
    assert str(raised.value)


PARSE = _cases("reference_test.TestReferenceParse", "reference_test.TestSerialization")


@pytest.mark.parametrize("case", PARSE, ids=_ids(PARSE))
def test_parse(case: dict) -> None:
    if case["id"] == SHA512_CASE:
        # Valid here, as in upstream v0.5.0/v0.6.0 where sha512 was registered.
        assert ref.parse(case["input"]).digest.startswith("sha512:")
        return
    if not case["valid"]:
        _expect_error(ref.parse, case)
        return
    parsed = ref.parse(case["input"])
    assert str(parsed) == case["input"]
    if "name" in case:
        assert parsed.name == case["name"]
    if "domain" in case:
        assert parsed.domain == case["domain"]
    if "tag" in case:
        assert parsed.tag == case["tag"]
    if "digest" in case:
        assert parsed.digest == case["digest"]


SUPERSEDED = _cases("superseded.reference_test.TestReferenceParse")


@pytest.mark.parametrize("case", SUPERSEDED, ids=_ids(SUPERSEDED))
def test_superseded(case: dict) -> None:
    # #1 follows HEAD (path-only length limit); #2 follows the sha512-registered behaviour.
    expected = case["head_behaviour"] if case["id"].endswith("#1") else case["old_expectation"]
    parsed = ref.parse(case["input"])
    assert expected["valid"]
    assert parsed.domain == expected["domain"]
    assert parsed.tag == expected["tag"]


WITH_NAME = _cases("reference_test.TestWithNameFailure", "reference_test.TestDomainAndPath")


@pytest.mark.parametrize("case", WITH_NAME, ids=_ids(WITH_NAME))
def test_with_name(case: dict) -> None:
    if not case["valid"]:
        _expect_error(ref.parse_name, case)
        return
    parsed = ref.parse_name(case["input"])
    assert parsed.domain == case["domain"]
    assert parsed.path == case["path"]


BUILD = _cases("reference_test.TestWithTag", "reference_test.TestWithDigest")


@pytest.mark.parametrize("case", BUILD, ids=_ids(BUILD))
def test_with_tag_and_digest(case: dict) -> None:
    built = ref.parse_name(case["name"])
    if case["suite"].endswith("TestWithTag"):
        if case.get("digest"):
            built = built.with_digest(case["digest"])
        built = built.with_tag(case["tag"])
    else:
        if case.get("tag"):
            built = built.with_tag(case["tag"])
        built = built.with_digest(case["digest"])
    assert str(built) == case["combined"]


NAMED = _cases("reference_test.TestParseNamed")


@pytest.mark.parametrize("case", NAMED, ids=_ids(NAMED))
def test_parse_named(case: dict) -> None:
    def parse_named(text: str):
        parsed = ref.parse_normalized(text)
        if str(parsed) != text:
            raise InvalidReference("not canonical", code="ErrNameNotCanonical", part="repository")
        return parsed

    if not case["valid"]:
        _expect_error(parse_named, case)
        return
    parsed = parse_named(case["input"])
    assert parsed.domain == case["domain"]
    if "path" in case:
        assert parsed.path == case["path"]


NORMALIZED = _cases(
    "normalize_test.TestValidateReferenceName",
    "normalize_test.TestValidateRemoteName",
    "normalize_test.TestParseRepositoryInfo",
    "normalize_test.TestNormalizedSplitHostname",
    "normalize_test.TestParseReferenceWithTagAndDigest",
)


@pytest.mark.parametrize("case", NORMALIZED, ids=_ids(NORMALIZED))
def test_parse_normalized(case: dict) -> None:
    if not case["valid"]:
        _expect_error(ref.parse_normalized, case)
        return
    parsed = ref.parse_normalized(case["input"])
    if "normalized" in case:
        assert str(parsed) == case["normalized"]
    if "domain" in case:
        assert parsed.domain == case["domain"]
    if "path" in case:
        assert parsed.path == case["path"]
    if "familiar" in case:
        familiar = parsed.familiar if parsed.tag or parsed.digest else parsed.familiar_name
        assert familiar == case["familiar"]


COMPONENTS = _cases("normalize_test.TestInvalidReferenceComponents")


@pytest.mark.parametrize("case", COMPONENTS, ids=_ids(COMPONENTS))
def test_invalid_components(case: dict) -> None:
    with pytest.raises(InvalidReference):
        if case["function"] == "ParseNormalizedNamed":
            ref.parse_normalized(case["input"])
        elif case["function"].startswith("WithTag"):
            ref.parse_normalized(case["base"]).with_tag(case["tag"])
        else:
            ref.parse_normalized(case["base"]).with_digest(case["digest"])


ANY = _cases("normalize_test.TestParseAnyReference")


@pytest.mark.parametrize("case", ANY, ids=_ids(ANY))
def test_parse_any(case: dict) -> None:
    parsed = ref.parse_any(case["input"])
    if case.get("result_type") == "digest-only":
        assert parsed == case.get("digest", parsed)
        assert isinstance(parsed, str)
    else:
        assert str(parsed) == case["normalized"]


DOCKER_REF = _cases("normalize_test.TestParseDockerRef")


@pytest.mark.parametrize("case", DOCKER_REF, ids=_ids(DOCKER_REF))
def test_parse_docker_ref(case: dict) -> None:
    assert str(ref.parse_docker_ref(case["input"])) == case["normalized"]


REGEXPS = {
    "regexp_test.TestDomainRegexp": ref.DOMAIN_AND_PORT_RE,
    "regexp_test.TestFullNameRegexp": ref.NAME_RE,
    "regexp_test.TestReferenceRegexp": ref.REFERENCE_RE,
    "regexp_test.TestIdentifierRegexp": ref.IDENTIFIER_RE,
}
REGEXP_CASES = _cases(*REGEXPS)


@pytest.mark.parametrize("case", REGEXP_CASES, ids=_ids(REGEXP_CASES))
def test_regexps(case: dict) -> None:
    match = REGEXPS[case["suite"]].fullmatch(case["input"])
    assert (match is not None) == case["match"]
    if match is not None and "subs" in case:
        assert [g or "" for g in match.groups()] == case["subs"]


def test_every_suite_is_covered() -> None:
    covered = {
        c["suite"]
        for group in (
            PARSE,
            SUPERSEDED,
            WITH_NAME,
            BUILD,
            NAMED,
            NORMALIZED,
            COMPONENTS,
            ANY,
            DOCKER_REF,
            REGEXP_CASES,
        )
        for c in group
    }
    informational = {"reference_test.TestReferenceParse.commented_out"}
    assert {c["suite"] for c in CASES} - covered - informational == NOT_OFFERED
