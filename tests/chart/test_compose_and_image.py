"""compose.yaml and the Dockerfile, checked for their structure (no container engine runs
here): every service beside its sidecar with the code's names and ports, files that exist,
Dapr resources in step with deploy/dapr; a multi-stage image that runs as non-root."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from taskstream.bootstrap import SERVICES
from taskstream.settings import Settings
from tests.chart.conftest import ROOT

COMPOSE = ROOT / "compose.yaml"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _flags(command: list[str]) -> dict[str, str]:
    return dict(
        arg.removeprefix("--").partition("=")[::2] for arg in command if arg.startswith("--")
    )


def _yaml(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def test_every_service_runs_beside_its_sidecar_with_the_codes_names_and_ports() -> None:
    services = _compose()["services"]
    fields = {f"TASKSTREAM_{name.upper()}" for name in Settings.model_fields}
    for name in SERVICES:
        app, sidecar = services[name], services[f"{name}-dapr"]
        assert app["command"] == ["serve", name]
        env = app["environment"]
        assert set(env) <= fields
        assert sidecar["network_mode"] == f"service:{name}"  # one network namespace, as a pod
        flags = _flags(sidecar["command"])
        assert flags["app-id"] == name
        assert flags["app-port"] == env["TASKSTREAM_PORT"]
        assert flags["dapr-http-port"] == env["TASKSTREAM_DAPR_HTTP_PORT"]
        assert flags["dapr-listen-addresses"] == "127.0.0.1"  # the sidecar's API stays inside
        assert flags["scheduler-host-address"].split(":")[0] in services
        assert app["read_only"] is True
        assert app["cap_drop"] == ["ALL"]
    assert set(services) >= {"postgres", "kafka", "kafka-topics", "dapr-scheduler", "gateway"}


def test_every_reference_resolves_and_every_image_is_pinned() -> None:
    compose = _compose()
    services = compose["services"]
    for name, service in services.items():
        image = service["image"]
        assert ":" in image, name
        assert not image.endswith(":latest"), name
        for target in service.get("depends_on", {}):
            assert target in services, f"{name} depends on {target}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).is_file(), f"{name} mounts {source}"
            else:
                assert source in compose["volumes"], f"{name} mounts {source}"
    assert services["gateway"]["ports"] == ["127.0.0.1:8000:8000"]


def test_the_sidecars_load_deploy_dapr_or_compose_versions_that_agree_with_it() -> None:
    sidecar = _compose()["services"]["api-dapr"]
    mounted = {
        target: ROOT / source
        for source, target, *_ in (v.split(":") for v in sidecar["volumes"])
        if source.startswith(".")
    }
    components = {
        _yaml(p)["metadata"]["name"]: p for t, p in mounted.items() if t.startswith("/components/")
    }
    assert set(components) == {"pubsub", "secretstore", "statestore", "taskstream"}
    assert components["statestore"] == ROOT / "deploy/dapr/components/statestore.yaml"
    assert components["taskstream"] == ROOT / "deploy/dapr/components/resiliency.yaml"
    local = _yaml(ROOT / "deploy/dapr/components/pubsub.yaml")["spec"]
    compose = _yaml(components["pubsub"])["spec"]

    def without_brokers(spec: dict[str, Any]) -> list[dict[str, Any]]:
        return [m for m in spec["metadata"] if m["name"] != "brokers"]

    assert without_brokers(compose) == without_brokers(local)
    config = _yaml(mounted["/config/config.yaml"])["spec"]
    local_config = _yaml(ROOT / "deploy/dapr/config.yaml")["spec"]
    for spec in (config, local_config):
        spec["nameResolution"]["configuration"].pop("connectionString")
    assert config == local_config


# --- the image ------------------------------------------------------------------------------

DOCKERFILE = ROOT / "Dockerfile"


def _stages() -> dict[str, list[str]]:
    """The instructions of each stage, by stage name (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            current = stages.setdefault(line.split()[-1], [])
        current.append(line)
    return stages


def test_the_image_builds_the_web_app_then_the_environment_then_a_slim_runtime() -> None:
    stages = _stages()
    assert list(stages) == ["frontend", "build", "runtime"]
    frontend = " ".join(stages["frontend"])
    assert "npm ci" in frontend
    assert "npm run build" in frontend
    assert "uv sync --frozen --no-dev" in " ".join(stages["build"])
    runtime = stages["runtime"]
    assert "-slim" in runtime[0]
    copies = [line for line in runtime if line.startswith("COPY")]
    assert all("--from=" in line for line in copies)  # only built artefacts
    assert any("/src/frontend/out" in line for line in copies)
    text = " ".join(runtime)
    for tool in ("uv", "gcc", "build-essential", "npm", "apt-get install"):
        assert not re.search(rf"(^|\s){re.escape(tool)}(\s|$)", text), tool
    assert "pip uninstall" in text  # not even pip stays
    [user] = [line for line in runtime if line.startswith("USER")]
    assert user.split()[1].split(":")[0] not in ("0", "root")
    assert any(line.startswith("HEALTHCHECK") and "/healthz" in line for line in runtime)
    assert 'ENTRYPOINT ["taskstream"]' in runtime


def test_dockerignore_keeps_the_context_to_what_the_image_needs() -> None:
    rules = (ROOT / ".dockerignore").read_text().splitlines()
    assert rules[rules.index("**")] == "**"  # everything out, then only what is named
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert allowed == {"pyproject.toml", "uv.lock", "README.md", "src", "frontend"}
    assert "frontend/node_modules" in rules
