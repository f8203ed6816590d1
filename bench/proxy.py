"""A sticky-session reverse proxy for the many-viewers bench: two app processes behind one port.

A Streamlit session lives in one process, so a browser must keep reaching the process it
started with (as nginx's `ip_hash` or a cookie-based upstream does in a deployment). All bench
browsers share 127.0.0.1, so stickiness here is by cookie: a connection without the cookie is
sent to the next process in turn; when it asks for a page (not a script, style or the
WebSocket), the response gains ``Set-Cookie: bsab_backend=N``, so every later connection of
that browser (the WebSocket and uploads included) carries it. Only the page sets it: cookies
set by the parallel requests for scripts would each name another process, and the last one to
arrive would move the browser's session. Bytes are passed
through untouched otherwise (WebSocket upgrades work because nothing is parsed after the head).

Each connection's first request, its cookie and the process it went to are written to standard
error, one line each (the bench keeps them with ``--logs``).

Run: ``python -m bench.proxy PORT BACKEND_PORT [BACKEND_PORT ...]`` (127.0.0.1 only).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
import time

_COOKIE = re.compile(rb"(?im)^cookie:[^\r\n]*\bbsab_backend=(\d+)")
_PAGE = re.compile(rb"(?im)^sec-fetch-dest:\s*document")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def _log(head: bytes, known: re.Match[bytes] | None, index: int) -> None:
    """One line on standard error: the connection's first request, its cookie and its backend."""
    request = head.split(b"\r\n", 1)[0].decode("latin-1")
    cookie = known.group(1).decode() if known else "-"
    line = f"{time.monotonic():.3f} {request} cookie={cookie} -> {index}"
    print(line, file=sys.stderr, flush=True)


def serve(port: int, backends: list[int]) -> None:
    """Listen on 127.0.0.1:`port` and forward each browser to its own backend, forever."""
    turn = itertools.cycle(range(len(backends)))

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            head = await client_r.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            client_w.close()
            return
        known = _COOKIE.search(head)
        index = int(known.group(1)) % len(backends) if known else next(turn)
        _log(head, known, index)
        backend_r, backend_w = await asyncio.open_connection("127.0.0.1", backends[index])
        backend_w.write(head)
        if known is None and _PAGE.search(head):
            answer = await backend_r.readuntil(b"\r\n\r\n")
            cookie = f"Set-Cookie: bsab_backend={index}; Path=/; SameSite=Lax\r\n".encode()
            client_w.write(answer[:-2] + cookie + b"\r\n")
        await asyncio.gather(_pipe(client_r, backend_w), _pipe(backend_r, client_w))

    async def main() -> None:
        listener = await asyncio.start_server(handle, "127.0.0.1", port)
        async with listener:
            await listener.serve_forever()

    asyncio.run(main())


if __name__ == "__main__":
    serve(int(sys.argv[1]), [int(p) for p in sys.argv[2:]])
