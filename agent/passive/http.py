"""Plain HTTP/1.x request head parsing: method, target and the host it is for.

Pure. Handles the three request-target forms a monitor sees (RFC 9112 §3.2): origin-form with a
Host header, absolute-form (``GET http://host/...``, sent to proxies) and authority-form
(``CONNECT host:443``, the start of a proxied TLS tunnel). Header names are case-insensitive.
"""

from __future__ import annotations

from typing import NamedTuple

from agent.passive.tls import valid_hostname

MAX_HEAD = 16384
METHODS = frozenset({b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"OPTIONS", b"PATCH",
                     b"CONNECT", b"TRACE", b"PROPFIND", b"PROPPATCH", b"MKCOL", b"COPY", b"MOVE",
                     b"LOCK", b"UNLOCK", b"REPORT", b"SEARCH"})
_PREFIXES = tuple(m + b" " for m in METHODS)


class _More:
    def __repr__(self) -> str:
        return "MORE"


MORE = _More()


class HttpRequest(NamedTuple):
    method: str
    host: str | None          # lower-case, no port
    port: int | None          # from the target or Host header, if given
    target_form: str          # origin | absolute | authority


def looks_like_request(data: bytes) -> bool:
    """Cheap prefilter: the first bytes are an HTTP method followed by a space."""
    return data.startswith(_PREFIXES)


def parse_request(data: bytes) -> HttpRequest | _More | None:
    """Parse the request line and Host from the start of a client stream.

    Returns MORE until the Host header (or the end of the head) has been seen.
    """
    line_end = data.find(b"\r\n")
    if line_end < 0:
        return MORE if len(data) < MAX_HEAD and looks_like_request(data) else None
    parts = data[:line_end].split(b" ")
    if len(parts) != 3 or parts[0] not in METHODS or not parts[2].startswith(b"HTTP/1."):
        return None
    method, target = parts[0].decode(), parts[1]
    if method == "CONNECT":
        host, port = _authority(target)
        return HttpRequest(method, host, port, "authority")
    lower = target[:8].lower()
    if lower.startswith((b"http://", b"https://")):
        rest = target.split(b"://", 1)[1]
        auth = rest.split(b"/", 1)[0].split(b"?", 1)[0]
        host, port = _authority(auth.rsplit(b"@", 1)[-1])
        return HttpRequest(method, host, port, "absolute")
    head_end = data.find(b"\r\n\r\n", line_end)
    head = data[line_end + 2:head_end if head_end >= 0 else len(data)]
    for line in head.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"host":
            host, port = _authority(value.strip())
            return HttpRequest(method, host, port, "origin")
    if head_end >= 0:
        return HttpRequest(method, None, None, "origin")   # HTTP/1.0 without Host
    return MORE if len(data) < MAX_HEAD else None


def _authority(raw: bytes) -> tuple[str | None, int | None]:
    port: int | None = None
    if raw.startswith(b"["):                  # [v6]:port
        host_b, _, rest = raw[1:].partition(b"]")
        if rest.startswith(b":") and rest[1:].isdigit():
            port = int(rest[1:])
        try:
            return host_b.decode("ascii").lower(), port
        except UnicodeDecodeError:
            return None, port
    host_b, sep, port_b = raw.rpartition(b":")
    if sep and port_b.isdigit() and b":" not in host_b:
        port = int(port_b)
    else:
        host_b = raw
    return valid_hostname(host_b), port
