"""A small Chrome DevTools Protocol driver for headless Debian Chromium (websockets, sync).

It does what a person does, without running any script in the page (the report pages allow
none): type into the focused field, press Enter, read the document and take a screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As the machine notes say: root needs --no-sandbox; nothing may reach the network.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--no-default-browser-check",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0")


class Chromium:
    def __init__(self, user_data_dir: Path, width: int = 1280, height: int = 1600,
                 timeout: float = 60) -> None:
        self.log = user_data_dir.parent / "chromium.log"
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={user_data_dir}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=self.log.open("wb"))
        port_file = user_data_dir / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"chromium did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(
            connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=timeout))
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        self.width, self.height = width, height
        self.session = ""

    # -- protocol ----------------------------------------------------------------------------

    def send(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        msg_id = next(self.ids)
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if self.session and not method.startswith(("Target.", "Browser.")):
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, name: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == name:
                    del self.events[i]      # earlier events stay: responses are read later
                    return ev["params"]
            left = max(0.1, deadline - time.monotonic())
            self.events.append(json.loads(self.ws.recv(timeout=left)))

    def open_page(self) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable")
        self.send("Network.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
                   "mobile": False})

    # -- what a person does --------------------------------------------------------------------

    def _document_statuses(self) -> list[int]:
        return [ev["params"]["response"]["status"] for ev in self.events
                if ev.get("method") == "Network.responseReceived"
                and ev["params"].get("type") == "Document"]

    def navigate(self, url: str) -> int:
        """Go to ``url``; returns the HTTP status of the document finally shown."""
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        return self._after_navigation()

    def _after_navigation(self) -> int:
        self.wait_event("Page.loadEventFired")
        statuses = self._document_statuses()
        return statuses[-1] if statuses else 0

    def type_into(self, selector: str, text: str) -> None:
        root = self.send("DOM.getDocument")["root"]["nodeId"]
        node = self.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        if not node:
            raise LookupError(f"no element {selector!r} on the page")
        self.send("DOM.focus", {"nodeId": node})
        self.send("Input.insertText", {"text": text})

    def press_enter(self) -> int:
        """Enter in a form field submits it; returns the status of the page that results."""
        self.events.clear()
        key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13,
               "nativeVirtualKeyCode": 13}
        self.send("Input.dispatchKeyEvent", {"type": "keyDown", "text": "\r", **key})
        self.send("Input.dispatchKeyEvent", {"type": "keyUp", **key})
        return self._after_navigation()

    def url(self) -> str:
        h = self.send("Page.getNavigationHistory")
        return h["entries"][h["currentIndex"]]["url"]

    def html(self) -> str:
        root = self.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        return self.send("DOM.getOuterHTML", {"nodeId": root})["outerHTML"]

    def screenshot(self, scale: float = 0.5) -> bytes:
        shot = self.send("Page.captureScreenshot", {
            "format": "png", "clip": {"x": 0, "y": 0, "width": self.width,
                                      "height": self.height, "scale": scale}})
        return base64.b64decode(shot["data"])

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            try:
                self.send("Browser.close", timeout=10)
            except (ConnectionClosed, TimeoutError, RuntimeError, OSError):
                pass        # the browser may drop the socket before answering; wait() below
            self._stack.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
