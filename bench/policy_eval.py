"""Policy evaluation cost of issue 5: five attached policies on a real 500-resource plan.

Run: .venv/bin/python bench/policy_eval.py [--resources 500] [--samples 7]

A stack of `--resources` null_resources is planned by the offline Terraform (init, plan -out);
`terraform show -json` of that plan is timed `--samples` times (the baseline), then the five
policies (the three built-ins, a Spacelift-style no-delete and a v0 tag rule) are evaluated on
that plan through `orchestrator.policy.gates`' path: `inputs.plan_input` + one
`engine.evaluate` call (one child process, one interpreter per policy), `--samples` times.
Printed: medians and the ratio evaluation ÷ show -json. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from orchestrator.policy import engine, inputs
from orchestrator.policy.store import builtin_body, builtin_names
from orchestrator.toolchain import offline_cli_config, resolve_terraform

EXTRA = {
    "no-delete": 'package spacelift\ndeny[sprintf("may not delete %s", [c.entity.address])] '
    '{ c := input.spacelift.run.changes[_]; c.action == "deleted" }\n',
    "many-changes": "package acme.size\nimport rego.v1\n"
    'warn contains "a large plan: look twice" if count(input.terraform.resource_changes) > 100\n',
}


def facts() -> inputs.RunFacts:
    return inputs.RunFacts(
        1,
        "TRACKED",
        "PLANNING",
        "0" * 40,
        "dev",
        "bench",
        "main",
        "push:dev",
        "bench/app",
        "app",
        "app",
        ("prod",),
        False,
        "bench",
        "default",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=500)
    parser.add_argument("--samples", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stackrun-bench-policy-") as tmp:
        root = Path(tmp)
        config = offline_cli_config(root / "tf")
        if config is None:
            raise SystemExit("the null provider is not installed: pip install -e '.[dev]'")
        env = {"TF_CLI_CONFIG_FILE": str(config), "TF_IN_AUTOMATION": "1", "PATH": "/usr/bin:/bin"}
        stack = root / "stack"
        stack.mkdir()
        (stack / "main.tf").write_text(
            f'resource "null_resource" "r" {{\n  count = {args.resources}\n'
            "  triggers = { i = count.index }\n}\n"
        )
        binary = resolve_terraform("terraform")
        for command in (["init", "-input=false"], ["plan", "-input=false", "-out=p"]):
            subprocess.run([binary, *command], cwd=stack, env=env, check=True, capture_output=True)
        show: list[float] = []
        plan: dict[str, object] = {}
        for _ in range(args.samples):
            started = time.perf_counter()
            done = subprocess.run(
                [binary, "show", "-json", "p"], cwd=stack, env=env, check=True, capture_output=True
            )
            show.append(time.perf_counter() - started)
            plan = json.loads(done.stdout)
        policies = [
            engine.PolicySource(name, builtin_body(name) or "") for name in builtin_names()
        ] + [engine.PolicySource(name, body) for name, body in EXTRA.items()]
        evaluation: list[float] = []
        decisions = []
        for _ in range(args.samples):
            started = time.perf_counter()
            document = inputs.plan_input(facts(), plan)
            decisions = engine.evaluate(policies, document, timeout=120)
            evaluation.append(time.perf_counter() - started)
    errors = [d for d in decisions if isinstance(d, engine.PolicyError)]
    show_p50, eval_p50 = statistics.median(show), statistics.median(evaluation)
    print(
        f"plan: {args.resources} null_resources; {len(policies)} policies; {args.samples} samples"
    )
    print(f"  terraform show -json p50     {show_p50:.3f} s")
    print(f"  policy evaluation p50        {eval_p50:.3f} s (input build + one child process)")
    print(f"  ratio evaluation ÷ show      {eval_p50 / show_p50:.2f}")
    for outcome in decisions:
        rules = outcome.rules if isinstance(outcome, engine.Evaluated) else str(outcome)
        summary = (
            {k: (len(v) if isinstance(v, list) else v) for k, v in rules.items()}
            if isinstance(rules, dict)
            else rules
        )
        print(f"  {outcome.policy:<36} {outcome.seconds:.3f} s in the engine  {summary}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
