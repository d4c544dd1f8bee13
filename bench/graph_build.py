"""Graph build on a synthetic 1,000-stack monorepo (DESIGN §11), every figure from one run.

    .venv/bin/python bench/graph_build.py [--stacks 1000] [--pushes 5] [--skip-naive] [--json]

Figures: cold build (empty caches, one process) against a naive single-process `hcl2.loads`
of every .tf file and against @cdktf/hcl2json (HashiCorp's Go parser in WebAssembly); then the
graph update after a push changing 3 files with a warm cache (p50 and max over --pushes)."""

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

from orchestrator.graph import build as graph_build
from orchestrator.graph.cache import MemoryCache
from orchestrator.graph.evaluate import parse_snippet
from orchestrator.graph.load import graph_of_commit
from orchestrator.vcs.mirror import Mirror


def _forget_process_caches() -> None:
    parse_snippet.cache_clear()
    graph_build._MEMO.clear()


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
    args = parser.parse_args()
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
