"""A small token issuer for the sandbox's Bearer-auth registry (the distribution token flow).

`GET /token?service=…&scope=repository:name:pull,push` with HTTP Basic credentials answers
`{"token": JWT}`; `POST /token` with an OAuth2 password grant (the form containerd, and so the
containerd-image-store engine, sends first) answers `{"access_token": JWT}`. The JWT is signed
RS256 with a test key; its certificate travels in the `x5c` header, and the registry trusts it
through `rootcertbundle`, so the registry itself validates every token. Anonymous requests get
a token with no access; wrong credentials 401.

Run: python -m tests.harness.token_issuer PORT KEY_PEM CERT_PEM USER PASSWORD
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ISSUER = "dockpush-sandbox-issuer"
SERVICE = "dockpush-sandbox-token"


def make_key_and_cert(key_path: Path, cert_path: Path) -> None:
    """A fresh RSA key and a self-signed certificate for it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _parse_scope(scope: str) -> dict | None:
    parts = scope.split(":")
    if len(parts) < 3:
        return None
    return {"type": parts[0], "name": ":".join(parts[1:-1]), "actions": parts[-1].split(",")}


def serve(port: int, key_pem: Path, cert_pem: Path, user: str, password: str) -> None:
    """Answer token requests until killed."""
    key = serialization.load_pem_private_key(key_pem.read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:  # keep the sandbox log quiet
            return

        def _answer(self, status: int, document: dict) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _issue(self, authenticated: bool, scopes: list[str], service: str) -> None:
            access = []
            if authenticated:
                for scope in scopes:
                    for part in scope.split(" "):
                        parsed = _parse_scope(part)
                        if parsed:
                            access.append(parsed)
            now = dt.datetime.now(dt.UTC)
            claims = {
                "iss": ISSUER,
                "sub": user if authenticated else "",
                "aud": service,
                "exp": now + dt.timedelta(minutes=5),
                "nbf": now - dt.timedelta(seconds=30),
                "iat": now,
                "jti": uuid.uuid4().hex,
                "access": access,
            }
            token = jwt.encode(claims, key, algorithm="RS256", headers={"x5c": [x5c]})
            self._answer(200, {"token": token, "access_token": token, "expires_in": 300})

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path != "/token":
                self.send_error(404)
                return
            header = self.headers.get("Authorization")
            if header is not None and header != expected:
                self._answer(401, {"errors": [{"code": "UNAUTHORIZED"}]})
                return
            query = parse_qs(url.query)
            self._issue(
                header is not None, query.get("scope", []), query.get("service", [SERVICE])[0]
            )

        def do_POST(self) -> None:
            if urlparse(self.path).path != "/token":
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            grant = form.get("grant_type", [""])[0]
            if (
                grant != "password"
                or form.get("username") != [user]
                or form.get("password") != [password]
            ):
                self._answer(401, {"error": "invalid_grant"})
                return
            self._issue(True, form.get("scope", []), form.get("service", [SERVICE])[0])

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    port, key_file, cert_file, user_name, secret = sys.argv[1:6]
    serve(int(port), Path(key_file), Path(cert_file), user_name, secret)
