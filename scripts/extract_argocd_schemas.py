"""Extract the v1alpha1 openAPIV3Schema of Argo CD's Application and ApplicationSet CRDs.

Usage: .venv/bin/python scripts/extract_argocd_schemas.py CRD_FOLDER [OUTPUT_FOLDER]

CRD_FOLDER holds upstream `application-crd.yaml` and `applicationset-crd.yaml`
(`manifests/crds/` of github.com/argoproj/argo-cd). OUTPUT_FOLDER defaults to
`orchestrator/handoff/schemas`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

VERSION = "v1alpha1"
SOURCES = {
    "application.json": "application-crd.yaml",
    "applicationset.json": "applicationset-crd.yaml",
}
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "orchestrator" / "handoff" / "schemas"


def crd_schema(crd: dict[str, Any], version: str = VERSION) -> dict[str, Any]:
    """`spec.versions[name=version].schema.openAPIV3Schema` of one CRD document."""
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            schema: dict[str, Any] = entry["schema"]["openAPIV3Schema"]
            return schema
    raise ValueError(f"{crd['metadata']['name']} has no version {version}")


def extract(crd_folder: Path) -> dict[str, str]:
    """Output file name → its exact text."""
    texts: dict[str, str] = {}
    for target, source in SOURCES.items():
        crd = _load_yaml((crd_folder / source).read_text(encoding="utf-8"))
        texts[target] = json.dumps(crd_schema(crd), sort_keys=True, separators=(",", ":"))
    return texts


def _load_yaml(text: str) -> Any:
    """Safe-load with libyaml when available: the ApplicationSet CRD is 1.4 MB."""
    if yaml.__with_libyaml__:
        return yaml.load(text, Loader=yaml.CSafeLoader)
    return yaml.safe_load(text)


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    output = Path(argv[1]) if len(argv) == 2 else DEFAULT_OUTPUT
    output.mkdir(parents=True, exist_ok=True)
    for name, text in extract(Path(argv[0])).items():
        (output / name).write_text(text, encoding="utf-8")
        print(f"{output / name}: {len(text)} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
