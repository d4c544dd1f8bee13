"""The UI's Jinja2 templates: autoescaped, with the filters pages share (relative times with
the absolute UTC time on hover, links to stacks whose ids hold `/` and `@`)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from orchestrator.models import utcnow
from orchestrator.ui import ansi


def ago(moment: datetime | str | None, now: datetime | None = None) -> Markup:
    """`<time>` saying how long ago, its title the absolute UTC time."""
    if moment is None:
        return Markup("—")
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = int(((now or utcnow()) - moment).total_seconds())
    absolute = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        moment.isoformat(), absolute, _relative(seconds)
    )


def _relative(seconds: int) -> str:
    if seconds < 0:
        return "in the future"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def stack_url(stack_id: str) -> str:
    return "/stacks/" + quote(stack_id, safe="/@")


def query(params: dict[str, Any], **changes: Any) -> str:
    """A list's query string with `changes` applied; empty values left out."""
    merged = {**params, **changes}
    return "?" + urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def summary(plan: dict[str, int] | None) -> str:
    if not plan:
        return "no plan yet"
    return f"+{plan.get('add', 0)} ~{plan.get('change', 0)} \u2212{plan.get('destroy', 0)}"


def short(sha: str | None) -> str:
    return (sha or "")[:8]


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("orchestrator.ui", "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        ago=ago, stack_url=stack_url, summary=summary, short=short, ansi=ansi.to_html
    )
    env.globals.update(query=query)
    return env


def page(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)
