"""WebSocket pieces for end-to-end tests: an echo server (loopback) and a client that goes
through an HTTP proxy with CONNECT + TLS. Frames per RFC 6455, text only, no extensions."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
import struct
import threading

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _read_frame(sock: socket.socket) -> tuple[int, bytes]:
    def exact(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    b1, b2 = exact(2)
    n = b2 & 0x7F
    if n == 126:
        n = struct.unpack("!H", exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", exact(8))[0]
    mask = exact(4) if b2 & 0x80 else None
    data = exact(n)
    if mask:
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
    return b1 & 0x0F, data


def _frame(opcode: int, data: bytes, masked: bool) -> bytes:
    head = bytes([0x80 | opcode])
    n = len(data)
    mbit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if masked:
        key = os.urandom(4)
        return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(data))
    return head + data


class EchoServer:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(4096)
            key = next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                       if line.lower().startswith(b"sec-websocket-key"))
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            while True:
                op, data = _read_frame(conn)
                if op == 8:
                    conn.sendall(_frame(8, b"", False))
                    return
                if op == 1:
                    self.received.append(data)
                    conn.sendall(_frame(1, b"echo:" + data, False))
        except (ConnectionError, OSError, StopIteration):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()


class ProxiedClient:
    """wss:// through an HTTP proxy (CONNECT), trusting the proxy's CA."""

    def __init__(self, proxy_port: int, ca: str, host: str, path: str, auth: tuple[str, str] | None = None):
        raw = socket.create_connection(("127.0.0.1", proxy_port), timeout=10)
        hdr = f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n"
        if auth:
            hdr += "Proxy-Authorization: Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode() + "\r\n"
        raw.sendall((hdr + "\r\n").encode())
        resp = b""
        while b"\r\n\r\n" not in resp:
            resp += raw.recv(4096)
        if b" 200" not in resp.split(b"\r\n", 1)[0]:
            raise ConnectionError(resp.decode(errors="replace"))
        ctx = ssl.create_default_context(cafile=ca)
        ctx.set_alpn_protocols(["http/1.1"])
        self.sock = ctx.wrap_socket(raw, server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           "Origin: https://" + host + "\r\n\r\n").encode())
        resp = b""
        while b"\r\n\r\n" not in resp:
            resp += self.sock.recv(4096)
        if b" 101 " not in resp.split(b"\r\n", 1)[0] + b" ":
            raise ConnectionError(resp.decode(errors="replace"))

    def send(self, text: str) -> None:
        self.sock.sendall(_frame(1, text.encode(), True))

    def recv(self, timeout: float = 3.0) -> bytes | None:
        self.sock.settimeout(timeout)
        try:
            op, data = _read_frame(self.sock)
            return data if op == 1 else None
        except TimeoutError:
            return None

    def close(self) -> None:
        try:
            self.sock.sendall(_frame(8, b"", True))
        finally:
            self.sock.close()
