"""Cut off a flow whose body is being streamed: the one place that reaches into mitmproxy's
proxy-server internals.

Why internals: once a request body streams, mitmproxy cannot answer it with a response
(setting ``flow.response`` raises inside mitmproxy and the client hangs), and ``flow.kill()``
did not stop the upload (measured: the upstream received all 300 MiB). Closing the server
connection through the connection handler stops the upstream at once and the client sees its
connection closed within milliseconds. No public API does this in mitmproxy 12; the behaviour
is pinned by tests/e2e/test_streaming.py, which fails if an upgrade changes it.
"""

from __future__ import annotations

import logging

from mitmproxy import ctx, http

log = logging.getLogger("dlp")

# Server connections of cut-off flows that were still being opened: mitmproxy connects them
# afterwards and would then flush the queued request (headers, and for chunked bodies the
# terminator). server_connected() resets them the moment they open.
_pending_cut: set[str] = set()


def abort_flow(flow: http.HTTPFlow) -> bool:
    """Close the flow's server and client connections now. True if the connections were found."""
    proxyserver = ctx.master.addons.get("proxyserver")
    handler = getattr(proxyserver, "connections", {}).get(flow.client_conn.id) if proxyserver else None
    if handler is None:
        log.error("abort: no live connection handler for flow %s; killing the flow instead", flow.id)
        flow.kill()
        return False
    # Server side first: the upstream must not receive another byte. transport.abort() resets
    # the connection and drops whatever is still buffered for writing (a graceful close would
    # flush it - and with it, for a chunked request, the terminator that makes the upload look
    # complete). Every server transport of this client connection goes: in upstream mode the
    # bytes travel on the connection to the upstream proxy, not on `flow.server_conn`, and the
    # client connection is closed anyway. Then the handler tasks are cancelled as mitmproxy does.
    if flow.server_conn not in handler.transports:
        flow.server_conn.error = "upload cut off by DLP policy"   # checked before connecting
        _pending_cut.add(flow.server_conn.id)
    conns = [c for c in handler.transports if c is not handler.client] + [handler.client]
    for conn in conns:
        io = handler.transports.get(conn)
        if io is None:
            continue
        transport = getattr(io.writer, "transport", None)
        if transport is not None:
            transport.abort()
        handler.close_connection(conn)
    flow.live = False
    return True


def server_connected(client_id: str, server) -> None:
    """Reset a server connection that opened after its flow was cut off (see _pending_cut)."""
    if server.id not in _pending_cut:
        return
    _pending_cut.discard(server.id)
    proxyserver = ctx.master.addons.get("proxyserver")
    handler = getattr(proxyserver, "connections", {}).get(client_id) if proxyserver else None
    io = handler.transports.get(server) if handler else None
    if io is not None:
        transport = getattr(io.writer, "transport", None)
        if transport is not None:
            transport.abort()
        handler.close_connection(server)
