"""A small HTTP/1.1 load generator for the webhook benchmarks: C keep-alive connections, each
sending its share of prepared requests one after another; every request's latency and status.

Requests are prepared before the clock starts (signing is not measured), so the client costs
little CPU per request: the machine's cores go to the server under test."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Load:
    """What one burst measured: wall seconds, per-request seconds, statuses and bodies."""

    wall_s: float
    latencies_s: list[float]
    statuses: list[int]
    bodies: list[bytes]

    @property
    def per_second(self) -> float:
        return len(self.latencies_s) / self.wall_s if self.wall_s else float("nan")


def request_bytes(path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return status, await reader.readexactly(length)


async def _client(
    host: str, port: int, requests: list[bytes], out: list[tuple[float, int, bytes]]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for raw in requests:
            t0 = time.perf_counter()
            writer.write(raw)
            status, body = await _read_response(reader)
            out.append((time.perf_counter() - t0, status, body))
    finally:
        writer.close()


async def _burst(host: str, port: int, shares: list[list[bytes]]) -> Load:
    outs: list[list[tuple[float, int, bytes]]] = [[] for _ in shares]
    t0 = time.perf_counter()
    await asyncio.gather(*(_client(host, port, s, o) for s, o in zip(shares, outs, strict=True)))
    wall = time.perf_counter() - t0
    flat = [item for out in outs for item in out]
    return Load(wall, [f[0] for f in flat], [f[1] for f in flat], [f[2] for f in flat])


def burst(host: str, port: int, requests: list[bytes], clients: int) -> Load:
    """Send `requests` over `clients` concurrent keep-alive connections (round-robin shares)."""
    shares = [requests[i::clients] for i in range(clients)]
    return asyncio.run(_burst(host, port, [s for s in shares if s]))
