"""The docker CLI's configuration: its folder, its config.json and its credential helpers.

`docker_config_dir()` is the one place `DOCKER_CONFIG` is resolved: contexts and logins both
live under that folder. `read_docker_config()` never raises. What cannot be used is left out
and described in `DockerConfig.problems`: an unreadable file, broken JSON, an entry of the
wrong type. Each problem says what is wrong and what to do, so a broken file shows as broken,
never as "no logins".

Credential helpers follow the docker-credential-helpers protocol: `docker-credential-NAME
get|list`, with JSON on stdin and stdout. `helper_get` and `helper_list` run them, and raise
DockerConfigBroken when a helper cannot be used. A helper's output is never quoted in an error.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.core.errors import DockerConfigBroken
from app.core.secret import Secret

# A helper is a program `docker-credential-NAME` found on PATH; NAME is a bare name such as
# `secretservice`, `pass` or `ecr-login`: a separator or a leading dot would let a config file
# run a program relative to the current folder.
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
# What the docker-credential-helpers protocol prints when it holds no login for a server.
HELPER_NOT_FOUND = "credentials not found in native keychain"
HELPER_TIMEOUT_SECONDS = 30

_FIX_OR_MOVE = "Fix or move {path}; logins saved by dockpush keep working."
_FIX_ENTRY = (
    "Fix that entry in {path} (`docker logout` then `docker login` rewrites it), or move the "
    "file away; logins saved by dockpush keep working."
)


def docker_config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The docker CLI's config folder: DOCKER_CONFIG, else ~/.docker."""
    env = os.environ if env is None else env
    return Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker")


def docker_config_file(env: Mapping[str, str] | None = None) -> Path:
    """The docker CLI's config.json, as the CLI finds it."""
    return docker_config_dir(env) / "config.json"


@dataclass(frozen=True)
class DockerCredential:
    """A user and secret the docker CLI keeps for one server (in `auths` or in a helper)."""

    username: str
    secret: Secret
    identity_token: bool = False


@dataclass(frozen=True)
class AuthEntry:
    """One `auths` entry: a base64 `user:password`, or an identity token (both may be empty,
    as when the CLI keeps the login in a credential helper)."""

    server: str
    auth: str = ""
    identity_token: str = ""
    username: str = ""

    def credential(self, path: Path) -> DockerCredential | None:
        """The login this entry holds, None when it holds none; DockerConfigBroken when its
        `auth` is not base64 of `user:password` (`path` names the file in that error)."""
        if self.identity_token:
            return DockerCredential(
                self.username or "<token>", Secret(self.identity_token), identity_token=True
            )
        if not self.auth:
            return None
        next_step = _FIX_ENTRY.format(path=path)
        try:
            decoded = base64.b64decode(self.auth, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise DockerConfigBroken(
                f"The login for {self.server} in {path} is not valid base64.", next_step=next_step
            ) from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise DockerConfigBroken(
                f"The login for {self.server} in {path} has no ':' between user and password.",
                next_step=next_step,
            )
        return DockerCredential(username, Secret(password))


@dataclass(frozen=True)
class ConfigProblem:
    """Something in the docker config that cannot be used: what it concerns, and why."""

    subject: str  # the config file, or the server an entry is for
    error: DockerConfigBroken


@dataclass(frozen=True)
class DockerConfig:
    """What config.json says, keeping only well-formed parts; `problems` names the rest."""

    path: Path
    auths: Mapping[str, AuthEntry] = field(default_factory=dict)
    creds_store: str = ""
    cred_helpers: Mapping[str, str] = field(default_factory=dict)
    current_context: str = ""
    problems: tuple[ConfigProblem, ...] = ()


def _json_kind(value: object) -> str:
    """How JSON names a value's type, for messages."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def _file_problem(path: Path, explanation: str) -> ConfigProblem:
    return ConfigProblem(
        str(path), DockerConfigBroken(explanation, next_step=_FIX_OR_MOVE.format(path=path))
    )


def _load_json(path: Path) -> tuple[object, ConfigProblem | None]:
    """The file's JSON value, or why it cannot be had. The file may hold secrets: errors say
    where the JSON breaks, never what the file says."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except UnicodeDecodeError:
        return None, _file_problem(path, f"{path} is not UTF-8 text; its logins are ignored.")
    except OSError as error:
        why = error.strerror or type(error).__name__
        return None, _file_problem(
            path, f"{path} could not be read ({why}); its logins are ignored."
        )
    try:
        return json.loads(text), None
    except json.JSONDecodeError as error:
        where = f"{error.msg} at line {error.lineno}, column {error.colno}"
        return None, _file_problem(
            path, f"{path} is not valid JSON ({where}); its logins are ignored."
        )


def _helper_name_problem(
    name: object, path: Path, subject: str, where: str
) -> ConfigProblem | None:
    """Why `name` cannot name a credential helper, or None when it can."""
    if isinstance(name, str) and _HELPER_NAME.fullmatch(name):
        return None
    shown = repr(name) if isinstance(name, str) else _json_kind(name)
    return ConfigProblem(
        subject,
        DockerConfigBroken(
            f"{where} in {path} names the credential helper {shown}, which is not a bare "
            "program name (letters, digits, . _ + -, no path); it is not run and its logins "
            "are ignored.",
            next_step=(
                f'Name the helper by its bare name in {path} (for example "secretservice" '
                "for docker-credential-secretservice); logins saved by dockpush keep working."
            ),
        ),
    )


def _wrong_type(path: Path, subject: str, what: str, value: object, wanted: str) -> ConfigProblem:
    return ConfigProblem(
        subject,
        DockerConfigBroken(
            f"In {path}, {what} is {_json_kind(value)}, not {wanted}; it is ignored.",
            next_step=_FIX_ENTRY.format(path=path),
        ),
    )


def _read_auths(path: Path, value: object, problems: list[ConfigProblem]) -> dict[str, AuthEntry]:
    if not isinstance(value, dict):
        problems.append(_wrong_type(path, str(path), '"auths"', value, "an object of servers"))
        return {}
    auths = {}
    for server, entry in value.items():
        if not isinstance(entry, dict):
            what = f'the "auths" entry for {server}'
            problems.append(_wrong_type(path, server, what, entry, "an object"))
            continue
        # null counts as absent, as in the CLI (Go decodes it to "").
        fields = {
            name: "" if entry.get(name) is None else entry[name]
            for name in ("auth", "identitytoken", "username")
        }
        wrong = [name for name, field_value in fields.items() if not isinstance(field_value, str)]
        if wrong:
            what = f'"{wrong[0]}" in the "auths" entry for {server}'
            problems.append(_wrong_type(path, server, what, fields[wrong[0]], "a string"))
            continue
        auths[server] = AuthEntry(
            server, fields["auth"], fields["identitytoken"], fields["username"]
        )
    return auths


def _read_helpers(path: Path, value: object, problems: list[ConfigProblem]) -> dict[str, str]:
    if not isinstance(value, dict):
        what = '"credHelpers"'
        problems.append(_wrong_type(path, str(path), what, value, "an object of servers"))
        return {}
    helpers = {}
    for server, name in value.items():
        problem = _helper_name_problem(name, path, server, f'"credHelpers" for {server}')
        if problem is not None:
            problems.append(problem)
        # A refused helper stays, named "": that server's login must not come from elsewhere.
        helpers[server] = "" if problem else str(name)
    return helpers


def read_docker_config(env: Mapping[str, str] | None = None) -> DockerConfig:
    """Read config.json (a missing file is an empty config). Never raises: see `problems`."""
    path = docker_config_file(env)
    value, problem = _load_json(path)
    if problem is not None:
        return DockerConfig(path, problems=(problem,))
    if not isinstance(value, dict):
        kind = _json_kind(value)
        explanation = f"{path} holds {kind}, not a JSON object; its logins are ignored."
        return DockerConfig(path, problems=(_file_problem(path, explanation),))
    problems: list[ConfigProblem] = []
    auths = _read_auths(path, value.get("auths") or {}, problems)
    helpers = _read_helpers(path, value.get("credHelpers") or {}, problems)
    store = value.get("credsStore") or ""
    store_problem = _helper_name_problem(store, path, str(path), '"credsStore"') if store else None
    if store_problem is not None:
        problems.append(store_problem)
        store = ""
    context = value.get("currentContext") or ""
    if not isinstance(context, str):
        problems.append(_wrong_type(path, str(path), '"currentContext"', context, "a name"))
        context = ""
    return DockerConfig(path, auths, store, helpers, context, tuple(problems))


# -- credential helpers ------------------------------------------------------------------------


def credential_helper_program(name: str) -> str:
    """The absolute path of `docker-credential-NAME` on PATH (relative PATH entries such as
    `.` are skipped); DockerConfigBroken when NAME is not a bare name or nothing is found."""
    if not _HELPER_NAME.fullmatch(name):
        # read_docker_config reports such a name already; this guard keeps it from ever running.
        raise DockerConfigBroken(
            f"The credential helper {name!r} is not a bare program name; it is not run."
        )
    program = f"docker-credential-{name}"
    search = os.environ.get("PATH", os.defpath).split(os.pathsep)
    found = shutil.which(program, path=os.pathsep.join(d for d in search if os.path.isabs(d)))
    if found is None:
        raise DockerConfigBroken(
            f"The docker config names the credential helper {name!r}, but {program} is "
            "not installed (not on PATH); its logins are ignored.",
            next_step=(
                f"Install {program}, or remove the helper from {docker_config_file()}; "
                "logins saved by dockpush keep working."
            ),
        )
    return found


def _run_helper(name: str, action: str, payload: str) -> str | None:
    """Run `docker-credential-NAME action`; its answer, or None when it has no such login.

    A failing helper's output is never quoted: a helper may print what it was handling.
    """
    program = credential_helper_program(name)
    try_it = (
        f"Try `{program} list` in a terminal: unlock or fix what it needs (often the "
        "system keyring), or remove the helper from the docker config; logins saved by "
        "dockpush keep working."
    )
    try:
        result = subprocess.run(
            [program, action],
            input=payload,
            capture_output=True,
            text=True,
            timeout=HELPER_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DockerConfigBroken(
            f"{program} {action} did not answer within {HELPER_TIMEOUT_SECONDS} s; "
            "its logins are ignored.",
            next_step=try_it,
        ) from None
    except OSError as error:
        raise DockerConfigBroken(
            f"{program} could not be started ({error.strerror}); its logins are ignored.",
            next_step=try_it,
        ) from None
    if result.returncode == 0:
        return result.stdout
    if result.stdout.strip() == HELPER_NOT_FOUND:
        return None
    raise DockerConfigBroken(
        f"{program} {action} failed with exit status {result.returncode}; its output "
        "is not shown, as it may hold a secret. Its logins are ignored.",
        next_step=try_it,
    )


def _not_a_login(name: str) -> DockerConfigBroken:
    return DockerConfigBroken(
        f"The credential helper {name!r} answered something other than the protocol's JSON; "
        "its logins are ignored.",
        next_step=f"Try `docker-credential-{name} list` in a terminal, or remove the helper "
        "from the docker config; logins saved by dockpush keep working.",
    )


def helper_get(name: str, server: str) -> DockerCredential | None:
    """The helper's login for `server`, None when it holds none. May block (a locked keyring)."""
    output = _run_helper(name, "get", server)
    if output is None:
        return None
    try:
        data = json.loads(output)
        username, secret = data.get("Username", ""), data.get("Secret", "")
    except (ValueError, AttributeError):
        raise _not_a_login(name) from None
    if not isinstance(username, str) or not isinstance(secret, str):
        raise _not_a_login(name)
    if not secret:
        return None
    # The protocol's way of saying "an identity token, not a password".
    return DockerCredential(username, Secret(secret), identity_token=username == "<token>")


def helper_list(name: str) -> dict[str, str]:
    """Server -> user name of every login the helper holds (no secret is read)."""
    output = _run_helper(name, "list", "") or "{}"
    try:
        listed = json.loads(output)
    except ValueError:
        raise _not_a_login(name) from None
    if not isinstance(listed, dict) or not all(
        isinstance(server, str) and isinstance(user, str) for server, user in listed.items()
    ):
        raise _not_a_login(name)
    return listed
