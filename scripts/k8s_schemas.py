"""Writes the JSON schemas that `kubeconform -strict` validates the Helm chart with.

    python scripts/k8s_schemas.py kubernetes SRC OUT
        SRC is one `v1.X.Y-local-strict` folder of the kubernetes-validate wheel: its
        schemas refer to a shared `_definitions.json` by an absolute URL, which
        kubeconform would try to download, so each object schema is written to OUT
        standalone, with the definitions it reaches copied into its `$defs`.

    python scripts/k8s_schemas.py crds OUT CRD.yaml...
        One schema per served version of each CustomResourceDefinition (the Dapr and
        Strimzi CRDs), made strict like the Kubernetes ones: an object that lists its
        properties accepts no others unless it says it preserves unknown fields.

File names follow kubeconform's `{{.ResourceKind}}{{.KindSuffix}}.json`
(`deployment-apps-v1.json`, `component-dapr-v1alpha1.json`, `kafka-kafka-v1.json`).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

REF = re.compile(r"^(?:.*_definitions\.json)?#/\$defs/(.+)$")


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and (match := REF.match(ref)):
            found.add(match.group(1))
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        out = {key: _rewrite(value) for key, value in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and (match := REF.match(ref)):
            out["$ref"] = f"#/$defs/{match.group(1)}"
        return out
    if isinstance(node, list):
        return [_rewrite(value) for value in node]
    return node


def kubernetes(src: Path, out: Path) -> int:
    definitions: dict[str, Any] = json.loads((src / "_definitions.json").read_text())["$defs"]
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for path in sorted(src.glob("*.json")):
        if path.name.startswith("_"):
            continue
        schema = json.loads(path.read_text())
        if "x-kubernetes-group-version-kind" not in schema:
            continue  # a part of objects, never a whole object
        needed: set[str] = set()
        _refs(schema, needed)
        pending = list(needed)
        while pending:
            found: set[str] = set()
            _refs(definitions[pending.pop()], found)
            for name in found - needed:
                needed.add(name)
                pending.append(name)
        schema.pop("$id", None)
        schema = _rewrite(schema)
        schema["$defs"] = {name: _rewrite(definitions[name]) for name in sorted(needed)}
        (out / path.name).write_text(json.dumps(schema))
        written += 1
    return written


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        out = {key: _strict(value) for key, value in node.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_strict(value) for value in node]
    return node


def crds(out: Path, files: list[Path]) -> int:
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for file in files:
        for crd in yaml.safe_load_all(file.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            group, kind = spec["group"], spec["names"]["kind"]
            for version in spec["versions"]:
                if not version.get("served", True):
                    continue
                schema = _strict(version["schema"]["openAPIV3Schema"])
                properties = schema.setdefault("properties", {})
                api_version = f"{group}/{version['name']}"
                properties["apiVersion"] = {"type": "string", "enum": [api_version]}
                properties["kind"] = {"type": "string", "enum": [kind]}
                properties.setdefault("metadata", {"type": "object"})
                schema["$schema"] = "http://json-schema.org/draft-07/schema#"
                suffix = f"-{group.split('.')[0]}-{version['name']}".lower()
                (out / f"{kind.lower()}{suffix}.json").write_text(json.dumps(schema))
                written += 1
    return written


def main(argv: list[str]) -> None:
    if len(argv) == 3 and argv[0] == "kubernetes":
        count = kubernetes(Path(argv[1]), Path(argv[2]))
    elif len(argv) >= 3 and argv[0] == "crds":
        count = crds(Path(argv[1]), [Path(arg) for arg in argv[2:]])
    else:
        sys.exit(__doc__)
    if count == 0:
        sys.exit(f"{argv[0]}: no schema written")
    print(f"{argv[0]}: {count} schemas", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
