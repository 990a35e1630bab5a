"""A small HTTP/1.1 load generator on asyncio streams (used by bench_http.py).

Why not locust: it would add gevent, Flask, pyzmq and a dozen more pinned packages for one benchmark, and on this
2-core machine every CPU cycle the generator spends is taken from the two gunicorn workers it measures. This one
costs a few tens of microseconds per request: each virtual user is one coroutine with its own keep-alive connection
(reopened when the server closes it) and its own session cookie. A user sends its next request when the previous
answer is read plus a think time (exponential, mean ``think`` seconds, seeded; 0 = closed loop with no pause, which
measures the server's capacity: latency is then queueing, users / throughput). Latency is measured from the first
byte written to the last byte of the body read.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def n(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.n / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        values = sorted(self.latencies)
        return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else 0.0

    def summary(self) -> dict:
        return {"requests": self.n, "rps": round(self.rps, 1), "p50_ms": round(self.pct(0.50) * 1000, 1),
                "p95_ms": round(self.pct(0.95) * 1000, 1), "p99_ms": round(self.pct(0.99) * 1000, 1),
                "mean_ms": round(statistics.fmean(self.latencies) * 1000, 1) if self.latencies else 0.0,
                "errors": sum(self.errors.values()), "error_kinds": dict(self.errors)}


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict, bytes]:
        for attempt in (1, 2):  # a keep-alive connection the server closed meanwhile: reconnect once
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            head = [f"{method} {path} HTTP/1.1", f"Host: {headers.get('Host', self.host)}", "Connection: keep-alive"]
            head += [f"{k}: {v}" for k, v in headers.items() if k != "Host"]
            if body:
                head.append(f"Content-Length: {len(body)}")
            try:
                self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
                await self.writer.drain()
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _response(self) -> tuple[int, dict, bytes]:
        assert self.reader is not None
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        headers: dict[str, list[str]] = {}
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers.setdefault(k.strip().lower(), []).append(v.strip())
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"][0]))
        elif headers.get("transfer-encoding", [""])[0].lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        else:
            body = await self.reader.read()
            await self.close()
        if headers.get("connection", [""])[0].lower() == "close":
            await self.close()
        return status, headers, body


async def _user(conn: Connection, next_path: Callable[[], str], headers: dict[str, str], stop_at: float,
                record_from: float, result: Result, think: float = 0.0, rng: random.Random | None = None) -> None:
    if think and rng:
        await asyncio.sleep(rng.uniform(0, think))  # users do not all start at the same instant
    while True:
        now = time.perf_counter()
        if now >= stop_at:
            break
        t = time.perf_counter()
        try:
            status, _h, _b = await conn.request("GET", next_path(), headers)
        except (OSError, asyncio.IncompleteReadError) as exc:
            result.errors[type(exc).__name__] = result.errors.get(type(exc).__name__, 0) + 1
            await asyncio.sleep(0.05)
            continue
        took = time.perf_counter() - t
        if t >= record_from:
            if status == 200:
                result.latencies.append(took)
            else:
                result.errors[str(status)] = result.errors.get(str(status), 0) + 1
        if think and rng:
            await asyncio.sleep(min(rng.expovariate(1 / think), max(0.0, stop_at - time.perf_counter())))


async def _run(host: str, port: int, users: Sequence[dict[str, str]], paths: Sequence[str], seconds: float,
               warmup: float, think: float) -> Result:
    conns = [Connection(host, port) for _ in users]
    result = Result()
    start = time.perf_counter()
    record_from, stop_at = start + warmup, start + warmup + seconds
    tasks = []
    for i, (conn, headers) in enumerate(zip(conns, users, strict=True)):
        cycle = {"i": i}

        def next_path(cycle=cycle) -> str:
            cycle["i"] += 1
            return paths[cycle["i"] % len(paths)]

        tasks.append(_user(conn, next_path, headers, stop_at, record_from, result, think, random.Random(1000 + i)))
    await asyncio.gather(*tasks)
    result.elapsed = min(time.perf_counter(), stop_at) - record_from
    for c in conns:
        await c.close()
    return result


def load(host: str, port: int, users: Sequence[dict[str, str]], paths: Sequence[str], *, seconds: float,
         warmup: float = 1.0, think: float = 0.0) -> Result:
    """Every user (its headers: cookie, proxy header) requests ``paths`` round-robin for ``seconds`` after ``warmup``."""
    return asyncio.run(_run(host, port, users, paths, seconds, warmup, think))


async def sql_load(dsn: str, users: int, statements: Sequence[str], *, seconds: float, warmup: float = 1.0,
                   think: float = 0.0) -> Result:
    """The reference of P8: ``users`` psycopg connections, each running the page's statements in a loop (with the same
    think time as the HTTP users)."""
    import psycopg

    conns = [await psycopg.AsyncConnection.connect(dsn, autocommit=True) for _ in range(users)]
    result = Result()
    start = time.perf_counter()
    record_from, stop_at = start + warmup, start + warmup + seconds

    async def one(conn, rng: random.Random) -> None:
        if think:
            await asyncio.sleep(rng.uniform(0, think))
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            async with conn.cursor() as cur:
                for sql in statements:
                    await cur.execute(sql)
                    if cur.description is not None:
                        await cur.fetchall()
            if t >= record_from:
                result.latencies.append(time.perf_counter() - t)
            if think:
                await asyncio.sleep(min(rng.expovariate(1 / think), max(0.0, stop_at - time.perf_counter())))

    await asyncio.gather(*(one(c, random.Random(2000 + i)) for i, c in enumerate(conns)))
    result.elapsed = min(time.perf_counter(), stop_at) - record_from
    for c in conns:
        await c.close()
    return result
