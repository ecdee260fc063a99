"""The hostile suite's stand-in for the internet: a mitmdump script that answers every
request itself and logs what arrived (method, host, path, body length and SHA-256).

tests/e2e/fakenet.py does the same for the e2e suite, but copies request headers with
``Headers.items()``, which is quadratic in the header count; a request with thousands of
headers would then stall the upstream and be blamed on the agent. This one reads
``headers.fields`` once.
"""

import hashlib
import json

from mitmproxy import ctx, http


class Origin:
    def load(self, loader):
        loader.add_option("origin_log", str, "", "JSON-lines file receiving one record per request")

    def request(self, flow: http.HTTPFlow) -> None:
        body = flow.request.raw_content or b""
        rec = {"method": flow.request.method, "host": flow.request.pretty_host,
               "path": flow.request.path, "length": len(body),
               "sha256": hashlib.sha256(body).hexdigest(),
               "headers": len(flow.request.headers.fields)}
        with open(ctx.options.origin_log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        if flow.request.path.startswith("/page"):
            page = b"<html><body>" + b"x" * 2000 + b"</body></html>"
            flow.response = http.Response.make(200, page, {"Content-Type": "text/html"})
            return
        reply = json.dumps({"ok": True, "received": len(body)}).encode()
        flow.response = http.Response.make(200, reply, {"Content-Type": "application/json"})


addons = [Origin()]
