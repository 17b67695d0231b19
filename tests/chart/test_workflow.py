"""The CI/CD workflow: actionlint accepts it, and it tests, builds and deploys as documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.chart.conftest import ROOT, run, toolchain

WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "ci-cd.yaml"


def _workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def test_actionlint_accepts_every_workflow() -> None:
    files = sorted(WORKFLOWS.glob("*.y*ml"))
    assert WORKFLOW in files
    run(toolchain().actionlint, "-no-color", "-oneline", *files)


def test_actionlint_refuses_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yaml"
    broken.parent.mkdir(parents=True)
    text = WORKFLOW.read_text().replace("needs: image", "needs: imagee")
    broken.write_text(text.replace("${{ github.sha }}", "${{ github.shaa }}"))
    result = run(toolchain().actionlint, "-no-color", "-oneline", broken, check=False)
    assert result.returncode == 1
    assert "imagee" in result.stdout


def test_main_tests_then_pushes_the_image_then_deploys_the_chart() -> None:
    workflow = _workflow()
    jobs = workflow["jobs"]
    assert [step.get("run") for step in jobs["test"]["steps"] if "run" in step] == ["bash .ci/run"]
    assert jobs["image"]["needs"] == "test"
    assert jobs["deploy"]["needs"] == "image"
    assert jobs["deploy"]["if"] == "github.ref == 'refs/heads/main' && github.event_name == 'push'"
    [deploy] = [s for s in jobs["deploy"]["steps"] if "helm upgrade --install" in s.get("run", "")]
    assert "values-cloud.yaml" in deploy["run"]
    assert "--atomic" in deploy["run"]
    # The credentials come from repository secrets, never from the repository.
    [credentials] = [s for s in jobs["deploy"]["steps"] if s.get("name") == "Cluster credentials"]
    assert credentials["env"]["KUBECONFIG_DATA"] == "${{ secrets.KUBECONFIG }}"
    assert jobs["test"]["timeout-minutes"] <= 90
