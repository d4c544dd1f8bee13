"""The UI's pure parts: ANSI colours become escaped HTML, the DAG is laid out in
topological generations, times say how long ago with the UTC time on hover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orchestrator.ui import ansi, dag
from orchestrator.ui.live import tail_of
from orchestrator.ui.render import ago, stack_url


def test_ansi_colours_become_spans_and_text_is_escaped() -> None:
    html = str(ansi.to_html("\x1b[1m\x1b[32m+ create\x1b[0m <b>&\x1b[2K"))
    assert html == '<span class="a-b a-32">+ create</span> &lt;b&gt;&amp;'


def test_a_log_line_with_a_script_stays_text() -> None:
    assert "<script>" not in str(ansi.to_html("\x1b[31m<script>alert(1)</script>"))


def test_dag_layers_follow_topological_generations() -> None:
    nodes = [dag.Node(k, k) for k in ("app", "vpc", "eks", "dns")]
    drawing = dag.layout(nodes, [("vpc", "eks"), ("eks", "app"), ("vpc", "dns")])
    column = {b.key: b.x for b in drawing.boxes}
    assert column["vpc"] < column["eks"] == column["dns"] < column["app"]
    assert len(drawing.lines) == 3 and drawing.width > 3 * dag.NODE_W


def test_a_cycle_is_still_drawn() -> None:
    nodes = [dag.Node(k, k) for k in ("a", "b")]
    drawing = dag.layout(nodes, [("a", "b"), ("b", "a")])
    assert {b.key for b in drawing.boxes} == {"a", "b"} and len(drawing.lines) == 2


def test_times_are_relative_with_the_utc_time_on_hover() -> None:
    now = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    shown = str(ago(now - timedelta(minutes=5), now))
    assert ">5 min ago<" in shown and 'title="2026-12-06 07:55:00 UTC"' in shown


def test_stack_links_keep_slashes_and_environments() -> None:
    assert stack_url("acme/p/infra-vpc@integration") == "/stacks/acme/p/infra-vpc@integration"


def test_a_long_log_is_shown_from_a_line_start_within_the_limit() -> None:
    raw = b"".join(f"line {n}\n".encode() for n in range(1000))
    shown = tail_of(raw, 100)
    assert len(shown) <= 100 and shown.startswith(b"line ") and raw.endswith(shown)
