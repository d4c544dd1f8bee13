"""Celery's filesystem broker with atomic publishing (embedded defaults only).

kombu's filesystem transport creates a message file under its final name and writes it
afterwards, so a polling consumer can read an empty file and crash (kombu issue #1551); it also
moves consumed files to the system temp dir, possibly across filesystems. Here a message is
written under a name the consumer ignores and renamed into place, and consumed files are
renamed within the broker's own folder."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic_ns
from typing import Any

from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads


class Channel(filesystem.Channel):
    # kombu-stubs type _put differently on the base and the filesystem Channel: ignore[override].
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        folder = Path(self.data_folder_out)
        partial = folder / f"partial-{uuid.uuid4()}.tmp"
        with open(partial, "wb") as handle:
            handle.write(str_to_bytes(dumps(payload)))
        os.replace(partial, folder / name)

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        wanted = f"{queue}.msg"
        inbox = Path(self.data_folder_in)
        claimed_dir = inbox.parent / "claimed"
        claimed_dir.mkdir(parents=True, exist_ok=True)
        for filename in sorted(os.listdir(inbox)):
            if filename.partition(".")[2] != wanted:
                continue
            claimed = claimed_dir / f"{os.getpid()}-{filename}"
            try:
                os.rename(inbox / filename, claimed)
            except OSError:
                continue
            payload = claimed.read_bytes()
            claimed.unlink()
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
