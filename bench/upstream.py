"""A minimal, fast HTTP/1.1 keep-alive origin for proxy benchmarks (loopback only).

GET answers a ~2 KB HTML page; any request with a body is read fully and answered with its
length. Far faster than the proxies under test, so it never is the bottleneck.
"""

import asyncio
import sys

PAGE = b"<!doctype html><html><body>" + b"<p>County news and services.</p>" * 60 + b"</body></html>"


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            chunked = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                n = name.strip().lower()
                if n == b"content-length":
                    length = int(value.strip())
                elif n == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
            received = 0
            if chunked:
                while True:
                    size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                    if size == 0:
                        await reader.readuntil(b"\r\n")
                        break
                    await reader.readexactly(size + 2)
                    received += size
            elif length:
                while received < length:
                    chunk = await reader.read(min(1 << 20, length - received))
                    if not chunk:
                        return
                    received += len(chunk)
            body = PAGE if not received and head.startswith(b"GET") else b'{"received": %d}' % received
            ctype = b"text/html" if body is PAGE else b"application/json"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype + b"\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
