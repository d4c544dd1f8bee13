"""What a proposed pipeline looks like on a pull request: a commit status per stack and one
Markdown comment (valid on GitHub and GitLab) that never exceeds its limit. Pure: no I/O.

The comment always keeps its header and its table; the plans share what room is left, each
shrunk fairly and pointing to its full log when cut. Output is deterministic."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from orchestrator.runstate import ENDED_EARLY

COMMENT_LIMIT = 60_000
"""Well under GitHub's 65,536-character comment limit."""
STATUS_PREFIX = "stackrun/"

_DESCRIPTION_LIMIT = 140
_MARKER = "<!-- stackrun:pipeline -->"
_SHORT_SHA = 12

_COMMIT_STATES: Mapping[str, str] = {
    "QUEUED": "pending",
    "PREPARING": "running",
    "INITIALIZING": "running",
    "PLANNING": "running",
    # A proposed run never waits for approval nor applies; should one, it is still running.
    "UNCONFIRMED": "running",
    "CONFIRMED": "running",
    "APPLYING": "running",
    "FINISHED": "success",
    "FAILED": "failure",
    "DISCARDED": "canceled",
    "STOPPED": "canceled",
    "CANCELED": "canceled",
    "SKIPPED": "canceled",
}

_PLAN_COMMAND = re.compile(r"^\$ terraform plan(\s|$)")
_NOT_TERRAFORM = ("$ ", "stackrun:", "policy:")
_PLAN_STARTS = (
    "Note: Objects have changed outside of Terraform",
    "Terraform used the selected providers",
    "Terraform will perform the following actions",
    "No changes.",
)
_REFRESH_NOISE = re.compile(
    r"^\S.*: (Refreshing state\.\.\.|Reading\.\.\.|Read complete after |Still reading\.\.\.)"
    r"|^(Acquiring|Releasing) state lock\. This may take a few moments\.\.\.$"
)
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>&~])")
_MARKDOWN_BLOCK_START = re.compile(r"^([#+\-=]|\d+[.)])")


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


# --- commit statuses ---------------------------------------------------------------------


def status_context(stack: str) -> str:
    return f"{STATUS_PREFIX}{stack}"


def commit_state(report: RunReport) -> str:
    """The neutral commit state: pending, running, success, failure or canceled."""
    try:
        return _COMMIT_STATES[report.state]
    except KeyError:
        raise ValueError(f"run {report.run_id} has an unknown state {report.state!r}") from None


def status_description(report: RunReport) -> str:
    """One line of at most 140 characters saying how the stack's run stands."""
    return _shorten(_one_line(_describe(report)), _DESCRIPTION_LIMIT)


def _describe(report: RunReport) -> str:
    if report.state == "FINISHED":
        return _finished_description(report)
    if report.state == "FAILED":
        return _failed_description(report)
    if report.state in ENDED_EARLY:
        return _ended_early_description(report)
    return report.state.lower()


def _finished_description(report: RunReport) -> str:
    plan = f"plan: {_counts(report.summary)}" if report.summary is not None else "finished"
    if report.policy == "warn":
        return _with_first_message(f"{plan}, policy warn", report.policy_messages)
    return f"{plan}, policy {report.policy}" if report.policy else plan


def _failed_description(report: RunReport) -> str:
    if report.policy == "deny":
        return _with_first_message("denied by policy", report.policy_messages)
    return f"failed: {report.failure_reason or 'see the run log'}"


def _ended_early_description(report: RunReport) -> str:
    word = report.state.lower()
    return f"{word}: {report.failure_reason}" if report.failure_reason else word


def _with_first_message(text: str, messages: Sequence[str]) -> str:
    return f"{text}: {messages[0]}" if messages else text


def _counts(summary: Mapping[str, int] | None) -> str:
    summary = summary or {}
    if not any(summary.get(key, 0) for key in ("add", "change", "destroy")):
        return "no changes"
    return f"+{summary.get('add', 0)} ~{summary.get('change', 0)} -{summary.get('destroy', 0)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the pull request comment ------------------------------------------------------------


def comment(header: CommentHeader, reports: Sequence[RunReport], limit: int = COMMENT_LIMIT) -> str:
    """The pipeline's one comment, never longer than `limit`: the header and the table are
    kept whole while they fit, and the plans share what is left."""
    top = _header(header)
    fixed = top + _table(reports)
    if len(fixed) > limit:
        return _hard_cut(_trimmed_table(top, reports, limit), limit)
    whole = fixed + "".join(_section(report) for report in _with_sections(reports))
    if len(whole) <= limit:
        return whole
    return fixed + _fitted_sections(_with_sections(reports), limit - len(fixed))


def _header(header: CommentHeader) -> str:
    sha = header.commit_sha[:_SHORT_SHA]
    lines = [
        _MARKER,
        f"### stackrun pipeline [{header.pipeline_id}]({header.pipeline_url}) at `{sha}`",
        "",
    ]
    if header.note:
        lines += [f"> **{_markdown_text(header.note)}**", ""]
    lines += [
        f"Branch {_code_span(header.branch)}: plan and policy only, nothing is applied.",
        "",
    ]
    return _join(lines)


def _table(reports: Sequence[RunReport]) -> str:
    rows = "".join(_row(report) for report in reports)
    return _table_head() + rows + "\n"


def _table_head() -> str:
    return (
        "| Stack | State | Add | Change | Destroy | Policy | Run |\n"
        "| --- | --- | --: | --: | --: | --- | --- |\n"
    )


def _row(report: RunReport) -> str:
    summary = report.summary or {}
    counts = [str(summary[key]) if key in summary else "-" for key in ("add", "change", "destroy")]
    cells = [
        _cell(report.stack),
        _cell(report.state),
        *counts,
        _cell(report.policy or "-"),
        f"[#{report.run_id}]({report.url})",
    ]
    return "| " + " | ".join(cells) + " |\n"


def _more_stacks_row(left_out: int) -> str:
    stacks = "stack" if left_out == 1 else "stacks"
    return f"| … and {left_out} more {stacks} | | | | | | |\n"


def _trimmed_table(top: str, reports: Sequence[RunReport], limit: int) -> str:
    """The table does not fit: keep the rows that do, then one row counting the rest."""
    body = top + _table_head()
    for index, report in enumerate(reports):
        row = _row(report)
        tail = _more_stacks_row(len(reports) - index) + "\n"
        if len(body) + len(row) + len(tail) > limit:
            return body + tail
        body += row
    return body + "\n"


def _hard_cut(text: str, limit: int) -> str:
    """Last resort for limits too small for even the header: cut after the last whole
    paragraph that fits, else after the last whole line, else anywhere."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    for boundary in ("\n\n", "\n"):
        end = cut.rfind(boundary)
        if end >= 0:
            return cut[: end + len(boundary)]
    return cut


def _with_sections(reports: Sequence[RunReport]) -> list[RunReport]:
    return [report for report in reports if report.plan_text or report.policy_messages]


def _section(report: RunReport, plan: str | None = None, lines_left: int = 0) -> str:
    """A stack's part below the table: its policy messages and its folded plan. `plan` is the
    (possibly cut) plan to show; `lines_left` says how many of its lines were cut."""
    shown = report.plan_text if plan is None else plan
    lines = [f"#### {_markdown_text(report.stack)}", "", f"[Full plan and log]({report.log_url})"]
    lines.append("")
    if report.policy_messages:
        lines += [f"- {_list_item(message)}" for message in report.policy_messages]
        lines.append("")
    text = _join(lines)
    if report.plan_text:
        text += _folded_plan(report, shown, lines_left)
    return text


def _folded_plan(report: RunReport, plan: str, lines_left: int) -> str:
    fence = _fence(report.plan_text)
    title = f"Plan: {_counts(report.summary)}" if report.summary is not None else "Terraform output"
    lines = [f"<details><summary>{title}</summary>", "", f"{fence}diff"]
    lines += [plan] if plan else []
    lines += [fence, ""]
    if lines_left:
        lines += [_cut_note(lines_left, report.log_url), ""]
    lines += ["</details>", ""]
    return _join(lines)


def _cut_note(lines_left: int, log_url: str) -> str:
    return f"… {lines_left} more lines: full plan at {log_url}"


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks inside the text, so it cannot close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _fitted_sections(reports: Sequence[RunReport], room: int) -> str:
    wants = [len(_section(report)) for report in reports]
    shares = _fair_shares(wants, room)
    return "".join(
        _section_within(report, share) for report, share in zip(reports, shares, strict=True)
    )


def _fair_shares(wants: Sequence[int], room: int) -> list[int]:
    """Split `room` so small wants are met in full and the rest share equally what they leave."""
    shares = [0] * len(wants)
    order = sorted(range(len(wants)), key=lambda index: (wants[index], index))
    left = room
    for rank, index in enumerate(order):
        share = min(wants[index], left // (len(wants) - rank))
        shares[index] = share
        left -= share
    return shares


def _section_within(report: RunReport, share: int) -> str:
    """The richest form of the stack's section that fits `share`, or nothing."""
    return next((text for text in _section_forms(report, share) if len(text) <= share), "")


def _section_forms(report: RunReport, share: int) -> Iterator[str]:
    yield _section(report)
    if report.plan_text:
        yield _section_with_cut_plan(report, share)
        yield _without_plan(report)


def _section_with_cut_plan(report: RunReport, share: int) -> str:
    """The section with as many first lines of the plan as fit, then where the rest is."""
    lines = report.plan_text.splitlines()
    budget = share - len(_section(report, plan="", lines_left=len(lines)))
    kept: list[str] = []
    for line in lines:
        budget -= len(line) + 1
        if budget < 0:
            break
        kept.append(line)
    kept = _to_block_end(kept)
    return _section(report, plan="\n".join(kept), lines_left=len(lines) - len(kept))


def _to_block_end(kept: list[str]) -> list[str]:
    """Drop a resource block cut halfway, unless that would lose most of what was kept."""
    blank = max((index for index, line in enumerate(kept) if not line.strip()), default=0)
    return kept[:blank] if blank >= len(kept) // 2 else kept


def _without_plan(report: RunReport) -> str:
    return _section(replace(report, plan_text=""))


def _join(lines: Sequence[str]) -> str:
    return "\n".join(lines) + "\n"


def _markdown_text(text: str) -> str:
    """One line of literal text: characters that would start a link, a code span, emphasis,
    an HTML tag or an entity are escaped, so a name or a message renders as written."""
    return _MARKDOWN_INLINE.sub(r"\\\1", _one_line(text))


def _list_item(text: str) -> str:
    """Literal text that also cannot open a heading, a quote or a nested list."""
    escaped = _markdown_text(text)
    match = _MARKDOWN_BLOCK_START.match(escaped)
    if match is None:
        return escaped
    marker = match.group(1)
    return f"{marker[:-1]}\\{marker[-1]}{escaped[len(marker) :]}"


def _cell(text: str) -> str:
    """Literal text for a table cell: one line, and a `|` cannot end the cell."""
    return _markdown_text(text).replace("|", "\\|")


def _code_span(text: str) -> str:
    """`text` as inline code, delimited by more backticks than it holds."""
    flat = _one_line(text)
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    ticks = "`" * (longest + 1)
    padding = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{padding}{flat}{padding}{ticks}"


# --- the plan out of a run log -----------------------------------------------------------


def plan_text_from_log(log: str) -> str:
    """Terraform's human plan out of a run log: the output of the last `$ terraform plan`
    command, from where the plan starts, without refresh noise nor stackrun's own lines."""
    lines = log.splitlines()
    starts = [index for index, line in enumerate(lines) if _PLAN_COMMAND.match(line)]
    if not starts:
        return ""
    output = [line for line in _command_output(lines[starts[-1] + 1 :]) if not _is_noise(line)]
    begin = next((i for i, line in enumerate(output) if _starts_the_plan(line)), 0)
    return "\n".join(output[begin:]).strip("\n").rstrip()


def _command_output(lines: Sequence[str]) -> Iterator[str]:
    for line in lines:
        if line.startswith(_NOT_TERRAFORM):
            return
        yield line


def _starts_the_plan(line: str) -> bool:
    return line.lstrip().startswith(_PLAN_STARTS)


def _is_noise(line: str) -> bool:
    return _REFRESH_NOISE.search(line) is not None
