"""The lean request path over TLS, configured as a real cluster's kubeconfig configures it: the
cluster's CA, a client certificate, a bearer token, all inline. Certificates are made with the
openssl CLI for each test; the fake API server requires the client's certificate."""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import signal
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from urllib3.exceptions import SSLError

from scalers.fakeapi import FakeApiServer
from scalers.kube.client import Kube, Stopper
from scalers.kube.config import api_client
from scalers.resources import HPA
from tests.builders import hpa
from tests.support import SCALERS, wait_for


class Pki(NamedTuple):
    ca: bytes  # PEM, what the kubeconfig trusts
    user: dict[str, str]  # the kubeconfig user: a client certificate signed by the CA
    context: ssl.SSLContext  # the server's, requiring a client certificate from the CA


def _openssl(directory: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True, timeout=60)


def _signed(directory: Path, name: str, ca: str, extensions: str) -> None:
    """`name`.key and `name`.crt, signed by the CA named `ca`, with these v3 extensions."""
    (directory / f"{name}.ext").write_text(extensions)
    _openssl(directory, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")  # fmt: skip
    _openssl(directory, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey",
             f"{ca}.key", "-CAcreateserial", "-days", "1", "-out", f"{name}.crt",
             "-extfile", f"{name}.ext")  # fmt: skip


def _authority(directory: Path, name: str) -> bytes:
    _openssl(directory, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "1",
             "-subj", f"/CN={name}")  # fmt: skip
    return (directory / f"{name}.crt").read_bytes()


def _inline(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _pki(directory: Path) -> Pki:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is needed to make certificates")
    ca = _authority(directory, "ca")
    _signed(directory, "server", "ca", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    _signed(directory, "client", "ca", "extendedKeyUsage=clientAuth\n")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(directory / "ca.crt"))
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(directory / "server.crt", directory / "server.key")
    user = {
        "client-certificate-data": _inline(directory / "client.crt"),
        "client-key-data": _inline(directory / "client.key"),
    }
    return Pki(ca, user, context)


@pytest.fixture
def pki(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pki:
    # The kubeconfig loader writes inline certificates to temporary files: keep them here.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return _pki(tmp_path)


@pytest.fixture
def tls_server(pki: Pki) -> Iterator[FakeApiServer]:
    with FakeApiServer(ssl_context=pki.context) as server:
        server.create(hpa("web"))
        yield server


def _kube(server: FakeApiServer, path: Path, ca: bytes, user: dict[str, str]) -> Kube:
    server.write_kubeconfig(path, ca=ca, user=user)
    return Kube(api_client(str(path), None, "test/1"), retries=1, backoff=0.001)


def test_list_watch_and_write_go_over_tls_with_the_client_certificate(
    tls_server: FakeApiServer, pki: Pki, tmp_path: Path
) -> None:
    assert tls_server.url.startswith("https://127.0.0.1:")
    kube = _kube(tls_server, tmp_path / "kubeconfig", pki.ca, pki.user)
    items, version = kube.list(HPA, "shop")
    assert [i["metadata"]["name"] for i in items] == ["web"]
    stopper = Stopper()
    events = kube.watch(HPA, version, stopper, "shop", timeout_seconds=5)
    tls_server.create(hpa("api"))
    kind, obj = next(e for e in events if e[0] != "BOOKMARK")
    assert (kind, obj["metadata"]["name"]) == ("ADDED", "api")
    stopper.stop()
    kube.merge_patch(HPA, "shop", "web", {"spec": {"minReplicas": 3}}, "scalers-test")
    stored = tls_server.get("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "web")
    assert stored is not None and stored["spec"]["minReplicas"] == 3
    # The server does require the certificate: without it the same kubeconfig is refused.
    # (TLS 1.3: the server's alert, or the EOF after it, whichever the client reads first.)
    anonymous = _kube(tls_server, tmp_path / "anonymous", pki.ca, {})
    answered = len(tls_server.requests)
    with pytest.raises(SSLError):
        anonymous.list(HPA, "shop")
    assert len(tls_server.requests) == answered


def test_a_kubeconfig_trusting_another_ca_fails_verification(
    tls_server: FakeApiServer, pki: Pki, tmp_path: Path
) -> None:
    other = _authority(tmp_path, "other-ca")
    kube = _kube(tls_server, tmp_path / "kubeconfig", other, pki.user)
    with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        kube.list(HPA, "shop")
    assert tls_server.requests == []  # refused in the handshake, before any request


def test_scalers_run_against_an_untrusted_server_says_so_and_writes_nothing(
    tls_server: FakeApiServer, pki: Pki, tmp_path: Path
) -> None:
    tls_server.create(hpa("cron", json.dumps([{"schedule": "* * * * *", "minReplicas": 3}])))
    kubeconfig = tls_server.write_kubeconfig(
        tmp_path / "kubeconfig", ca=_authority(tmp_path, "other-ca"), user=pki.user
    )
    process = subprocess.Popen(
        [*SCALERS, "run", "--kubeconfig", str(kubeconfig), "--no-leader-elect",
         "--health-port", "0", "--no-proportional-loop"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    try:
        stderr = process.stderr
        assert stderr is not None
        lines: list[dict[str, Any]] = []

        def failed() -> bool:  # reads only a line that is there: a silent process cannot hang us
            if select.select([stderr], [], [], 0.5)[0]:
                lines.append(json.loads(stderr.readline()))
            return any("CERTIFICATE_VERIFY_FAILED" in str(x.get("error")) for x in lines)

        wait_for(failed, timeout=30)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    finally:
        process.kill()
    said = next(x for x in lines if "CERTIFICATE_VERIFY_FAILED" in str(x.get("error")))
    assert said["message"] in ("retrying a request", "watch interrupted"), said
    assert tls_server.requests == []  # not one request got through the handshake
    cron = tls_server.get("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "cron")
    assert cron is not None and cron["spec"]["minReplicas"] == 2


def test_a_bearer_token_reaches_the_server_over_tls(
    tls_server: FakeApiServer, pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, str]] = []
    serve = tls_server.serve

    def recording(method: str, t: Any, query: Any, body: bytes, headers: dict[str, str]) -> Any:
        seen.append(dict(headers))
        return serve(method, t, query, body, headers)

    monkeypatch.setattr(tls_server, "serve", recording)
    kube = _kube(tls_server, tmp_path / "kubeconfig", pki.ca, {**pki.user, "token": "s3cr3t"})
    kube.list(HPA, "shop")
    kube.merge_patch(HPA, "shop", "web", {"spec": {"minReplicas": 3}}, "scalers-test", answer=False)
    assert [h.get("authorization") for h in seen] == ["Bearer s3cr3t"] * 2
    assert all(h.get("user-agent") == "test/1" for h in seen)
