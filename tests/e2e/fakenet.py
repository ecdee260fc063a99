"""A stand-in for the whole internet, run as a mitmdump script behind the agent.

The agent forwards to it in upstream mode, so every production host name (content.dropboxapi.com,
graph.facebook.com ...) stays intact end to end. It answers every request itself (no real
connection leaves the machine) and appends what it received to a JSON-lines log:
method, host, path, body length and SHA-256 - enough to prove a blocked body never arrived
and an allowed one arrived byte-identical.
"""

import hashlib
import json

from mitmproxy import ctx, http


class FakeNet:
    def load(self, loader):
        loader.add_option("fakenet_log", str, "", "JSON-lines file receiving one record per request")
        loader.add_option("fakenet_ws_port", int, 0, "loopback WebSocket echo server for upgrade requests")

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.request.headers.get("upgrade", "").lower() == "websocket" and ctx.options.fakenet_ws_port:
            # WebSockets go on to a real echo server on loopback, whatever host they named.
            flow.request.scheme, flow.request.host = "http", "127.0.0.1"
            flow.request.port = ctx.options.fakenet_ws_port
            return
        body = flow.request.raw_content or b""
        rec = {
            "method": flow.request.method,
            "host": flow.request.pretty_host,
            "path": flow.request.path,
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "headers": {k.lower(): v for k, v in flow.request.headers.items()
                        if k.lower().startswith(("restrict-", "x-googapps", "x-dropbox", "x-slack",
                                                 "youtube-restrict", "sec-restrict"))},
        }
        with open(ctx.options.fakenet_log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        path = flow.request.path
        if path.startswith("/2/files/upload_session/start"):
            self.sessions = getattr(self, "sessions", 0) + 1
            flow.response = http.Response.make(200, json.dumps({"session_id": f"AAAA-{self.sessions}"}).encode(),
                                               {"Content-Type": "application/json"})
            return
        rng = flow.request.headers.get("content-range", "")
        if flow.request.method == "PUT" and rng.startswith("bytes "):
            a_b, _, total = rng[6:].partition("/")
            end = int(a_b.split("-")[1])
            if total != "*" and end + 1 < int(total):
                flow.response = http.Response.make(308, b"", {"Range": f"bytes=0-{end}"})
                return
        if path.endswith("/createUploadSession"):
            flow.response = http.Response.make(
                200, json.dumps({"uploadUrl": "https://sn3302.up.1drv.com/up/fAkEsEsSiOn"}).encode(),
                {"Content-Type": "application/json"})
            return
        if flow.request.path.startswith("/page"):
            flow.response = http.Response.make(200, b"<html><body>" + b"x" * 2000 + b"</body></html>",
                                               {"Content-Type": "text/html"})
            return
        flow.response = http.Response.make(
            200, json.dumps({"ok": True, "received": len(body)}).encode(),
            {"Content-Type": "application/json"})


addons = [FakeNet()]
