"""The rendered chart submitted to a real Kubernetes API server (server-side dry-run).

A kube-apiserver and its etcd, built from the Go module proxy by scripts/k8s-toolchain.sh,
run on loopback for the session; the Dapr and Strimzi CRDs are created in it, then every
object of each rendering is sent as a server-side apply with `dryRun=All` and strict field
validation (what `kubectl apply --server-side --dry-run=server` does): the server runs its
defaulting, validation and admission on each, stores nothing. `helm install
--dry-run=server` runs against the same server too.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.chart.conftest import NAMESPACE, VALUES, helm_args, objects, ready, run, toolchain

STARTUP_TIMEOUT = 120.0


def _free_port() -> int:
    """A free port below Linux's ephemeral range (32768 and up), so no client holds it."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


@dataclass
class ApiServer:
    url: str
    token: str
    kubeconfig: Path
    http: httpx.Client
    _resources: dict[str, tuple[str, bool]] | None = None

    def resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        """The plural name of `kind` and whether it is namespaced (from discovery)."""
        key = f"{api_version}/{kind}"
        if self._resources is None or key not in self._resources:
            found = self._resources or {}
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            response = self.http.get(base)
            response.raise_for_status()
            for item in response.json()["resources"]:
                if "/" not in item["name"]:
                    found[f"{api_version}/{item['kind']}"] = (item["name"], item["namespaced"])
            self._resources = found
        return self._resources[key]

    def path(self, obj: dict[str, Any]) -> str:
        api_version, kind = obj["apiVersion"], obj["kind"]
        plural, namespaced = self.resource(api_version, kind)
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        where = f"/namespaces/{obj['metadata'].get('namespace', NAMESPACE)}" if namespaced else ""
        return f"{base}{where}/{plural}/{obj['metadata']['name']}"

    def dry_run_apply(self, obj: dict[str, Any]) -> httpx.Response:
        return self.http.patch(
            self.path(obj),
            params={
                "dryRun": "All",
                "fieldManager": "taskstream-tests",
                "fieldValidation": "Strict",
                "force": "true",
            },
            content=yaml.safe_dump(obj),
            headers={"content-type": "application/apply-patch+yaml"},
        )

    def create(self, obj: dict[str, Any]) -> None:
        path = self.path(obj).rsplit("/", 1)[0]
        response = self.http.post(path, json=obj)
        if response.status_code != 409:  # already there (a second run in one session)
            response.raise_for_status()


def _wait_ready(http: httpx.Client, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"kube-apiserver exited ({process.returncode}):\n{log.read_text()[-4000:]}")
        try:
            if http.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"kube-apiserver not ready after {STARTUP_TIMEOUT} s:\n{log.read_text()[-4000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def apiserver() -> Iterator[ApiServer]:
    tools = toolchain()
    with contextlib.ExitStack() as stack:
        work = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="taskstream-apiserver-"))
        )
        etcd_port, peer_port, api_port = _free_port(), _free_port(), _free_port()
        etcd_log, api_log = work / "etcd.log", work / "kube-apiserver.log"
        etcd = subprocess.Popen(  # noqa: S603
            [
                str(tools.etcd),
                "--name",
                "default",
                "--data-dir",
                str(work / "etcd"),
                "--listen-client-urls",
                f"http://127.0.0.1:{etcd_port}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{etcd_port}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-cluster",
                f"default=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync",
                "--log-level",
                "warn",
            ],
            stdout=stack.enter_context(etcd_log.open("wb")),
            stderr=subprocess.STDOUT,
        )
        api: subprocess.Popen[bytes] | None = None
        try:
            key = work / "sa.key"
            run("openssl", "genrsa", "-out", key, "2048")
            run("openssl", "rsa", "-in", key, "-pubout", "-out", work / "sa.pub")
            token = secrets.token_urlsafe(32)
            (work / "tokens.csv").write_text(f'{token},admin,admin,"system:masters"\n')
            api = subprocess.Popen(  # noqa: S603
                [
                    str(ready(tools.kube_apiserver)),
                    f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                    "--bind-address=127.0.0.1",
                    "--advertise-address=127.0.0.1",
                    f"--secure-port={api_port}",
                    f"--cert-dir={work / 'certs'}",
                    f"--token-auth-file={work / 'tokens.csv'}",
                    "--authorization-mode=RBAC",
                    "--service-account-issuer=https://kubernetes.default.svc",
                    f"--service-account-key-file={work / 'sa.pub'}",
                    f"--service-account-signing-key-file={key}",
                    "--service-cluster-ip-range=10.96.0.0/16",
                    "--enable-priority-and-fairness=false",
                    # No kubernetes Service endpoints for a server on loopback.
                    "--endpoint-reconciler-type=none",
                ],
                stdout=stack.enter_context(api_log.open("wb")),
                stderr=subprocess.STDOUT,
            )
            url = f"https://127.0.0.1:{api_port}"
            http = httpx.Client(
                base_url=url,
                headers={"authorization": f"Bearer {token}"},
                verify=False,  # noqa: S501 - its own self-signed certificate, on loopback
                timeout=30,
                trust_env=False,  # loopback: no proxy of the environment in between
            )
            stack.callback(http.close)
            kubeconfig = work / "kubeconfig"
            kubeconfig.write_text(
                yaml.safe_dump(
                    {
                        "apiVersion": "v1",
                        "kind": "Config",
                        "clusters": [
                            {
                                "name": "test",
                                "cluster": {"server": url, "insecure-skip-tls-verify": True},
                            }
                        ],
                        "users": [{"name": "admin", "user": {"token": token}}],
                        "contexts": [
                            {"name": "test", "context": {"cluster": "test", "user": "admin"}}
                        ],
                        "current-context": "test",
                    }
                )
            )
            kubeconfig.chmod(0o600)
            started = time.monotonic()
            _wait_ready(http, api, api_log)
            print(f"\nkube-apiserver ready in {time.monotonic() - started:.1f} s")
            server = ApiServer(url, token, kubeconfig, http)
            server.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
            )
            _create_crds(
                server,
                [*tools.dapr_crds.glob("crds/*.yaml"), *tools.strimzi_crds.glob("crds/*.yaml")],
            )
            yield server
        finally:
            if api is not None:
                _stop(api)
            _stop(etcd)


def _create_crds(server: ApiServer, files: list[Path]) -> None:
    names = []
    for file in files:
        for crd in yaml.safe_load_all(file.read_text()):
            if crd and crd["kind"] == "CustomResourceDefinition":
                server.create(crd)
                names.append(crd["metadata"]["name"])
    assert len(names) >= 8, names  # 5 Dapr kinds, 3 Strimzi kinds
    deadline = time.monotonic() + 60
    for name in names:
        while True:
            response = server.http.get(
                f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
            )
            conditions = (response.json().get("status") or {}).get("conditions") or []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                break
            assert time.monotonic() < deadline, f"CRD {name} not established"
            time.sleep(0.2)


def test_the_api_server_accepts_every_rendered_object(
    apiserver: ApiServer, values_name: str
) -> None:
    refused = []
    rendered = objects(values_name)
    for obj in rendered:
        response = apiserver.dry_run_apply(obj)
        if response.status_code not in (200, 201):
            refused.append(
                f"{obj['kind']} {obj['metadata']['name']}: {response.status_code} {response.text[:600]}"
            )
    assert not refused, "\n".join(refused)
    # Nothing was stored: a dry run.
    assert apiserver.http.get(apiserver.path(rendered[0])).status_code == 404


def test_the_api_server_refuses_what_its_schemas_forbid(apiserver: ApiServer) -> None:
    """The dry-run can fail: an unknown field, and a Strimzi topic with a bad partition count."""
    [deployment] = [
        d for d in objects("default", "Deployment") if d["metadata"]["name"].endswith("-api")
    ]
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    response = apiserver.dry_run_apply(broken)
    # Server-side apply refuses a field its schema lacks before admission (with a 500).
    assert response.status_code >= 400, response.text
    assert ".spec.replica: field not declared in schema" in response.text
    topic = objects("default", "KafkaTopic")[0]
    bad = {**topic, "spec": {**topic["spec"], "partitions": "many"}}
    response = apiserver.dry_run_apply(bad)
    assert response.status_code >= 400, response.text
    assert "partitions" in response.text


def test_helm_installs_each_values_file_with_a_server_dry_run(
    apiserver: ApiServer, values_name: str
) -> None:
    result = run(
        toolchain().helm, "install", *helm_args(VALUES[values_name]),
        "--dry-run=server", "--kubeconfig", apiserver.kubeconfig,
    )  # fmt: skip
    assert "STATUS: pending-install" in result.stdout
