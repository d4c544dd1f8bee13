"""What a proposed pipeline looks like on a pull request: a commit status per stack and one
Markdown comment (valid on GitHub and GitLab) capped under GitHub's limit. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

COMMENT_LIMIT = 60_000
"""Well under GitHub's 65,536-character comment limit."""
STATUS_PREFIX = "stackrun/"
DESCRIPTION_LIMIT = 140
MARKER = "<!-- stackrun:pipeline -->"
PLAN_STARTS = (
    "Terraform used the selected providers",
    "Terraform will perform the following actions",
    "No changes.",
)
REFRESH_NOISE = re.compile(r"(Refreshing state\.\.\.|: Reading\.\.\.|: Read complete after)")

_RUNNING = frozenset(
    {"PREPARING", "INITIALIZING", "PLANNING", "UNCONFIRMED", "CONFIRMED", "APPLYING"}
)
_CANCELED = frozenset({"DISCARDED", "STOPPED", "CANCELED", "SKIPPED"})


@dataclass(frozen=True)
class RunReport:
    run_id: int
    stack: str
    state: str
    summary: Mapping[str, int] | None
    policy: str
    policy_messages: tuple[str, ...]
    failure_reason: str | None
    plan_text: str
    url: str
    log_url: str


@dataclass(frozen=True)
class CommentHeader:
    pipeline_id: int
    commit_sha: str
    branch: str
    pipeline_url: str
    note: str = ""


def status_context(stack: str) -> str:
    return f"{STATUS_PREFIX}{stack}"


def commit_state(report: RunReport) -> str:
    """The neutral commit state: pending, running, success, failure or canceled."""
    if report.state == "QUEUED":
        return "pending"
    if report.state in _RUNNING:
        return "running"
    if report.state == "FINISHED":
        return "success"
    if report.state == "FAILED":
        return "failure"
    return "canceled"


def status_description(report: RunReport) -> str:
    """One line of at most 140 characters saying how the stack's run stands."""
    return _shorten(_describe(report), DESCRIPTION_LIMIT)


def _describe(report: RunReport) -> str:
    first = report.policy_messages[0] if report.policy_messages else ""
    if report.state == "FAILED":
        if report.policy == "deny":
            return f"denied by policy: {first}" if first else "denied by policy"
        return f"failed: {_one_line(report.failure_reason or 'see the run log')}"
    if report.state == "FINISHED":
        plan = f"plan: {_counts(report.summary)}" if report.summary else "no changes"
        if report.policy == "warn":
            return f"{plan}, policy warn: {first}" if first else f"{plan}, policy warn"
        return f"{plan}, policy {report.policy}" if report.policy else plan
    if report.state in _CANCELED:
        reason = _one_line(report.failure_reason or "")
        word = report.state.lower()
        return f"{word}: {reason}" if reason else word
    return "queued" if report.state == "QUEUED" else report.state.lower()


def _counts(summary: Mapping[str, int] | None) -> str:
    summary = summary or {}
    return f"+{summary.get('add', 0)} ~{summary.get('change', 0)} -{summary.get('destroy', 0)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def comment(header: CommentHeader, reports: Sequence[RunReport], limit: int = COMMENT_LIMIT) -> str:
    """The pipeline's one comment: always the header and table, plans shrunk to fit `limit`."""
    top = _header(header)
    table = _table(reports)
    fixed = top + table
    if len(fixed) > limit:
        return _trimmed_table(top, reports, limit)
    sections = [_section(r) for r in reports if r.plan_text or r.policy_messages]
    body = fixed + "".join(sections)
    if len(body) <= limit:
        return body
    return fixed + _fitted_sections(reports, limit - len(fixed))


def _header(header: CommentHeader) -> str:
    lines = [
        MARKER,
        f"### stackrun: proposed pipeline [{header.pipeline_id}]({header.pipeline_url})",
        "",
        f"Commit `{header.commit_sha[:12]}` on `{_code(header.branch)}`: plan and policy only, "
        "nothing is applied.",
        "",
    ]
    if header.note:
        lines += [f"> **{_one_line(header.note)}**", ""]
    return "\n".join(lines) + "\n"


def _table(reports: Sequence[RunReport]) -> str:
    rows = [_row(r) for r in reports]
    return _table_head() + "".join(rows) + "\n"


def _table_head() -> str:
    return (
        "| Stack | State | Add | Change | Destroy | Policy | Run |\n"
        "| --- | --- | --: | --: | --: | --- | --- |\n"
    )


def _row(report: RunReport) -> str:
    summary = report.summary or {}
    counts = [str(summary[k]) if k in summary else "-" for k in ("add", "change", "destroy")]
    cells = [
        _cell(report.stack),
        report.state,
        *counts,
        report.policy or "-",
        f"[#{report.run_id}]({report.url})",
    ]
    return "| " + " | ".join(cells) + " |\n"


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")


def _code(text: str) -> str:
    return text.replace("`", "'")


def _trimmed_table(top: str, reports: Sequence[RunReport], limit: int) -> str:
    """Even the table does not fit: keep the rows that do and count the rest."""
    body = top + _table_head()
    for index, report in enumerate(reports):
        rest = len(reports) - index
        tail = f"| … and {rest} more stacks | | | | | | |\n\n"
        row = _row(report)
        if len(body) + len(row) + len(tail) > limit:
            return (body + tail)[:limit]
        body += row
    return body[:limit]


def _section(report: RunReport, plan: str | None = None) -> str:
    plan = report.plan_text if plan is None else plan
    lines = [f"#### {_cell(report.stack)}", "", f"[Full plan and log]({report.log_url})", ""]
    lines += [f"- {_one_line(m)}" for m in report.policy_messages]
    if report.policy_messages:
        lines.append("")
    text = "\n".join(lines) + "\n"
    if plan:
        fence = _fence(plan)
        text += (
            f"<details><summary>Plan of {_cell(report.stack)} ({_counts(report.summary)})"
            f"</summary>\n\n{fence}diff\n{plan}\n{fence}\n\n</details>\n\n"
        )
    return text


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks inside the text."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _fitted_sections(reports: Sequence[RunReport], room: int) -> str:
    """Each plan gets an equal share of `room` (shares unused by small plans pass on)."""
    with_plans = [r for r in reports if r.plan_text or r.policy_messages]
    out = ""
    for index, report in enumerate(with_plans):
        share = (room - len(out)) // (len(with_plans) - index)
        out += _section_within(report, share)
    return out


def _section_within(report: RunReport, share: int) -> str:
    whole = _section(report)
    if len(whole) <= share:
        return whole
    lines = report.plan_text.splitlines()
    empty = _section(report, plan=_cut_note(len(lines), report.log_url))
    if len(empty) > share:
        return ""
    kept: list[str] = []
    budget = share - len(empty)
    for line in lines:
        if len(line) + 1 > budget:
            break
        kept.append(line)
        budget -= len(line) + 1
    cut = "\n".join([*kept, _cut_note(len(lines) - len(kept), report.log_url)])
    section = _section(report, plan=cut)
    return section if len(section) <= share else empty


def _cut_note(lines_left: int, log_url: str) -> str:
    return f"… {lines_left} more lines: full plan at {log_url}"


def plan_text_from_log(log: str) -> str:
    """Terraform's human plan out of a run log: the `$ terraform plan` command's output from
    where the plan starts, without refresh noise or stackrun's own lines."""
    lines = log.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("$ terraform plan")), None)
    if start is None:
        return ""
    output: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith(("$ ", "stackrun:", "policy:")):
            break
        if not REFRESH_NOISE.search(line):
            output.append(line)
    begin = next((i for i, line in enumerate(output) if line.strip().startswith(PLAN_STARTS)), 0)
    return "\n".join(output[begin:]).rstrip()
