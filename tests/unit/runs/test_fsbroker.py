"""The embedded filesystem broker publishes atomically and never hands out a partial message.

kombu keeps exchange bindings in a per-process state shared by all connections of a transport,
so each test uses its own queue name."""

from __future__ import annotations

from pathlib import Path

from kombu import Connection

from orchestrator.runs.fsbroker import Transport


def _connection(folder: Path) -> Connection:
    return Connection(
        transport=Transport,
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
        },
    )


def _folders(tmp_path: Path) -> None:
    for name in ("queue", "control"):
        (tmp_path / name).mkdir()


def test_messages_come_out_in_order_and_leave_nothing_behind(tmp_path: Path) -> None:
    _folders(tmp_path)
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue("first")
        for number in range(5):
            queue.put({"n": number})
        received = [queue.get(timeout=1) for _ in range(5)]
        for message in received:
            message.ack()
        queue.close()
    assert [m.payload["n"] for m in received] == [0, 1, 2, 3, 4]
    assert list((tmp_path / "queue").iterdir()) == []
    assert list((tmp_path / "claimed").iterdir()) == []


def test_a_message_still_being_written_is_not_consumed(tmp_path: Path) -> None:
    _folders(tmp_path)
    (tmp_path / "queue" / "partial-1234.tmp").write_bytes(b"")
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue("second")
        queue.put({"n": 1})
        message = queue.get(timeout=1)
        message.ack()
        assert message.payload == {"n": 1}
        assert queue.qsize() == 0
        queue.close()
    assert (tmp_path / "queue" / "partial-1234.tmp").exists()
