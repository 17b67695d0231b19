"""Fixtures of the chart tests: the Kubernetes toolchain and the chart rendered per values file.

The tools (helm, kubeconform, actionlint, kube-apiserver, etcd, the schemas and CRDs) are
built once by `scripts/k8s-toolchain.sh all` (the test command runs it first) and cached."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
CHART = ROOT / "deploy" / "helm" / "taskstream"
TOOLCHAIN = ROOT / "scripts" / "k8s-toolchain.sh"
RELEASE = "taskstream"
NAMESPACE = "taskstream"
VALUES = {
    "default": None,
    "minikube": CHART / "values-minikube.yaml",
    "cloud": CHART / "values-cloud.yaml",
}
"""Every way the chart is installed: its defaults and each values file."""


@dataclass(frozen=True, slots=True)
class Toolchain:
    helm: Path
    kubeconform: Path
    actionlint: Path
    kube_apiserver: Path
    etcd: Path
    kubernetes_schemas: Path
    dapr_crds: Path
    strimzi_crds: Path


@cache
def toolchain() -> Toolchain:
    out = subprocess.run(  # noqa: S603 -- our own script, literal arguments
        ["bash", str(TOOLCHAIN), "paths"],  # noqa: S607 -- bash from PATH, as the Makefile
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    paths = {
        key.lower(): Path(value)
        for key, _, value in (line.partition("=") for line in out.splitlines())
        if value
    }
    return Toolchain(**{field: paths[field] for field in Toolchain.__slots__})


def ready(path: Path) -> Path:
    """`path` of the toolchain, once built: its folder (the binary's, or the folder itself)
    holds `.complete` when it is whole."""
    if not any((home / ".complete").exists() for home in _homes(path)):
        pytest.fail(
            f"{path} is not built: run `bash scripts/k8s-toolchain.sh all` (the test command "
            "does, and caches the tools)"
        )
    return path


def _homes(path: Path) -> tuple[Path, Path]:
    return (path, path.parent)


def run(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a tool; on failure the test fails with its output."""
    if isinstance(args[0], Path):
        ready(args[0])
    result = subprocess.run(  # noqa: S603 -- the cached tools, arguments from the tests
        [str(a) for a in args], capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{Path(str(args[0])).name} {' '.join(str(a) for a in args[1:])} failed "
            f"({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def helm_args(values: Path | None) -> list[str | Path]:
    return [RELEASE, CHART, "--namespace", NAMESPACE, *(["--values", values] if values else [])]


@cache
def rendered_text(name: str) -> str:
    """`helm template` of the chart with the values file `name` (a key of VALUES)."""
    return run(toolchain().helm, "template", *helm_args(VALUES[name])).stdout


@cache
def _objects(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(doc for doc in yaml.safe_load_all(rendered_text(name)) if doc)


def objects(name: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The rendered objects (of `kind`, if given)."""
    return [o for o in _objects(name) if kind is None or o["kind"] == kind]


@pytest.fixture(params=list(VALUES))
def values_name(request: pytest.FixtureRequest) -> str:
    """Each way of installing the chart in turn."""
    return str(request.param)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "chart: checks the Helm chart and the deployment files with the real tools"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.chart)
