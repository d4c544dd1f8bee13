"""Graph build on a synthetic 1,000-stack monorepo (DESIGN §11), every figure from one run.

    .venv/bin/python bench/graph_build.py [--stacks 1000] [--pushes 5] [--skip-naive] [--json]
    .venv/bin/python bench/graph_build.py --large-file [--repeat 3] [--json]

Figures: cold build (empty caches, one process) against a naive single-process `hcl2.loads`
of every .tf file and against @cdktf/hcl2json (HashiCorp's Go parser in WebAssembly); then the
graph update after a push changing 3 files with a warm cache (p50 and max over --pushes).

--large-file: the cold graph build of a one-stack repository whose main.tf is a generated 1, 2
and 4 MB file (resources with nested blocks, heredocs and templates; a module call and a
remote-state read every ten resources), and the block scan alone, each the best of --repeat
rounds and shown as a ratio to the 1 MB figure of the same run: linear time reads 1 : 2 : 4."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gen_monorepo
import parse_baselines

from orchestrator.graph import analysis as graph_analysis
from orchestrator.graph import carry, facts, relink
from orchestrator.graph.cache import MemoryCache
from orchestrator.graph.evaluate import parse_snippet
from orchestrator.graph.load import graph_of_commit
from orchestrator.graph.scan import top_blocks
from orchestrator.vcs.mirror import Mirror

LARGE_FILE_MB = (1, 2, 4)
_UNIT = """resource "aws_instance" "web_{n}" {{
  ami           = "ami-${{var.image}}-{n}"  # a comment with {{ and "
  instance_type = var.size
  tags = merge(var.tags, {{ Name = "web-{n}", Note = "}}" }})
  user_data = <<-EOT
    #!/bin/sh
    echo "${{var.greeting}} {n}" > /tmp/hello
  EOT
  dynamic "ebs_block_device" {{
    for_each = [for d in var.disks : d if d.size > {n}]
    content {{
      device_name = ebs_block_device.value.name
    }}
  }}
}}

"""
_EVERY_TENTH = """module "tags_{n}" {{
  source = "../modules/tags"
  name   = "web-{n}"
}}

data "terraform_remote_state" "peer_{n}" {{
  backend = "s3"
  config = {{
    bucket = "acme-tfstate"
    key    = "peers/{n}/terraform.tfstate"
  }}
}}

"""


def _forget_process_caches() -> None:
    parse_snippet.cache_clear()
    facts.forget_blocks()
    graph_analysis._MEMO.clear()
    relink.forget()
    carry.forget()


def large_tf(size: int) -> str:
    """A realistic .tf of about `size` bytes (every block distinct, so no parse is reused)."""
    parts = [
        'terraform {\n  backend "s3" {\n    bucket = "acme-tfstate"\n    key = "big"\n  }\n}\n\n'
    ]
    total, n = len(parts[0]), 0
    while total < size:
        piece = _UNIT.format(n=n) + (_EVERY_TENTH.format(n=n) if n % 10 == 0 else "")
        parts.append(piece)
        total += len(piece)
        n += 1
    return "".join(parts)[:size]


def measure_large_files(workdir: Path, repeat: int) -> dict[str, Any]:
    """Sizes are measured in turn within each round (noise of a shared machine then falls on
    all of them alike); each figure is the best round."""
    cases: list[tuple[int, str, Mirror, str]] = []
    for megabytes in LARGE_FILE_MB:
        repo = workdir / f"large-{megabytes}mb"
        text = large_tf(megabytes * 1_000_000)
        text = text[: text.rfind("\n\n") + 1]  # end on a whole block
        (repo / "big").mkdir(parents=True)
        (repo / "big" / "main.tf").write_text(text)
        gen_monorepo.git_init(repo, f"one {megabytes} MB .tf")
        mirror = Mirror(repo, "")
        cases.append((megabytes, text, mirror, mirror.resolve("HEAD")))
    builds: dict[int, list[float]] = {mb: [] for mb in LARGE_FILE_MB}
    scans: dict[int, list[float]] = {mb: [] for mb in LARGE_FILE_MB}
    for _ in range(repeat):
        for megabytes, text, mirror, head in cases:
            _forget_process_caches()
            started = time.perf_counter()
            graph = graph_of_commit(mirror, head, MemoryCache())
            builds[megabytes].append(time.perf_counter() - started)
            assert graph.stacks["big"].blockers == [], graph.stacks["big"].blockers
            started = time.perf_counter()
            top_blocks(text)
            scans[megabytes].append(time.perf_counter() - started)
    first = LARGE_FILE_MB[0]
    rows = [
        {
            "mb": mb,
            "bytes": len(text),
            "build_s": round(min(builds[mb]), 3),
            "build_ratio": round(min(builds[mb]) / min(builds[first]), 2),
            "scan_s": round(min(scans[mb]), 3),
            "scan_ratio": round(min(scans[mb]) / min(scans[first]), 2),
        }
        for mb, text, _, _ in cases
    ]
    return {"large_file": rows}


def print_large_files(result: dict[str, Any]) -> None:
    print("one .tf file      graph build (cold)        block scan alone")
    for row in result["large_file"]:
        build = f"{row['build_s']:7.3f} s  x{row['build_ratio']:<5}"
        scan = f"{row['scan_s']:7.3f} s  x{row['scan_ratio']}"
        print(f"{row['mb']} MB ({row['bytes']:>9,} B) {build}   {scan}")
    print("ratios against the 1 MB figure of this run; linear time is x1 : x2 : x4")


def measure(repo: Path, pushes: int, naive: bool) -> dict[str, Any]:
    mirror = Mirror(repo, "")
    head = mirror.resolve("HEAD")
    _forget_process_caches()
    cache = MemoryCache()
    started = time.perf_counter()
    graph = graph_of_commit(mirror, head, cache)
    cold = time.perf_counter() - started
    updates: list[float] = []
    for push in range(pushes):
        gen_monorepo.touch_files(repo, n=3, seed=push)
        new_head = mirror.resolve("HEAD")
        started = time.perf_counter()
        graph_of_commit(mirror, new_head, cache)
        updates.append(time.perf_counter() - started)
    result: dict[str, Any] = {
        "stacks": len(graph.stacks),
        "edges": len(graph.edges),
        "cold_build_s": round(cold, 3),
        "update_3_files_ms": {
            "p50": round(statistics.median(updates) * 1000, 1),
            "max": round(max(updates) * 1000, 1),
        },
    }
    wasm = parse_baselines.hcl2json_wasm(repo)
    result["hcl2json_parse_s"] = round(wasm.parse_s, 3)
    result["cold_over_hcl2json"] = round(cold / wasm.parse_s, 2)
    if naive:
        naive_s = parse_baselines.naive_hcl2(repo)
        result["naive_hcl2_s"] = round(naive_s, 3)
        result["cold_over_naive"] = round(cold / naive_s, 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stacks", type=int, default=1000)
    parser.add_argument("--pushes", type=int, default=5)
    parser.add_argument("--skip-naive", action="store_true", help="skip the ~1 min baseline")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--large-file", action="store_true", help="1, 2 and 4 MB .tf files")
    parser.add_argument("--repeat", type=int, default=5, help="--large-file: best of N")
    args = parser.parse_args()
    if args.large_file:
        with tempfile.TemporaryDirectory(prefix="stackrun-graph-bench-") as workdir:
            large = measure_large_files(Path(workdir), args.repeat)
        print(json.dumps(large, indent=2)) if args.json else print_large_files(large)
        return
    with tempfile.TemporaryDirectory(prefix="stackrun-graph-bench-") as workdir:
        repo = Path(workdir) / "mono"
        gen_monorepo.generate(repo, stacks=args.stacks, seed=1)
        gen_monorepo.git_init(repo, "synthetic monorepo")
        result = measure(repo, args.pushes, not args.skip_naive)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"synthetic monorepo: {result['stacks']} stacks, {result['edges']} edges")
    print(f"cold graph build              {result['cold_build_s']:8.2f} s")
    if "naive_hcl2_s" in result:
        print(
            f"naive hcl2.loads of every .tf {result['naive_hcl2_s']:8.2f} s"
            f"   cold ÷ naive = {result['cold_over_naive']:.2f} (target ≤ 0.5)"
        )
    print(
        f"@cdktf/hcl2json parse loop    {result['hcl2json_parse_s']:8.2f} s"
        f"   cold ÷ hcl2json = {result['cold_over_hcl2json']:.2f}"
    )
    update = result["update_3_files_ms"]
    print(
        f"update after a 3-file push    {update['p50']:8.1f} ms p50, {update['max']:.1f} ms max"
        " (warm cache; target ≤ 100 ms)"
    )


if __name__ == "__main__":
    main()
