"""Build and run the proxy: a mitmproxy master carrying the agent addon and only the built-in
addons it needs.

Why not mitmdump: (1) mitmdump silently skips a script whose option values are invalid and
lets traffic through unfiltered; here every option error is fatal; (2) mitmdump dispatches
every event through ~31 built-in addons (measured: ~45% of its CPU per request); the lean set
below serves more requests per second. Built-in addons outside the lean set are loaded on
demand when one of their options is set (`--set map_remote=...`), so every mitmproxy option
still works.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from mitmproxy import addons as builtin
from mitmproxy import exceptions, master, options
from mitmproxy.addons import errorcheck, termlog

from agent.addon import DlpAddon

log = logging.getLogger("dlp")

# The proxy itself, TLS interception, proxy authentication, and mitmproxy's own safety default
# (block_global: refuse clients from public addresses).
LEAN = ("Core", "Block", "DisableH2C", "ProxyAuth", "Proxyserver", "NextLayer", "TlsConfig")


class _OptionNames:
    """A stand-in Loader that only records which options an addon declares."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add_option(self, name, *args, **kwargs) -> None:
        self.names.append(name)

    def add_command(self, *args, **kwargs) -> None:
        pass


def _optional_addons() -> dict[str, object]:
    """option name -> built-in addon instance (outside LEAN) that declares it."""
    out: dict[str, object] = {}
    for addon in builtin.default_addons():
        if type(addon).__name__ in LEAN or not hasattr(addon, "load"):
            continue
        names = _OptionNames()
        addon.load(names)
        for n in names.names:
            out[n] = addon
    return out


def parse_set(specs: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for s in specs:
        name, sep, value = s.partition("=")
        if not sep or not name:
            raise ValueError(f"--set {s!r}: expected NAME=VALUE")
        out.append((name.strip(), value))
    return out


def check_choices(opts: options.Options, names: Sequence[str]) -> None:
    """mitmproxy accepts any string for an option with `choices`; an invalid mode of operation
    silently running would be a policy bypass, so refuse it."""
    for name, opt in opts.items():
        if name in names and opt.choices and opt.current() not in opt.choices:
            raise exceptions.OptionsError(
                f"invalid value {opt.current()!r} for option {name}; choose one of: {', '.join(opt.choices)}")


async def run_proxy(settings: dict[str, object], sets: Sequence[str]) -> int:
    """Start the proxy with ``settings`` (typed option values) and ``sets`` (NAME=VALUE strings).

    Returns a process exit status: 2 for option errors, 1 for start-up errors, 0 on shutdown.
    """
    opts = options.Options()
    m = master.Master(opts)
    m.addons.add(termlog.TermLog())
    chosen = [a for a in builtin.default_addons() if type(a).__name__ in LEAN]
    m.addons.add(*chosen)
    dlp = DlpAddon()
    check = errorcheck.ErrorCheck(repeat_errors_on_stderr=True)
    m.addons.add(dlp, check)
    try:
        pairs = parse_set(sets)
        optional = _optional_addons()
        added: set[int] = set()
        for name, _ in pairs:
            addon = optional.get(name)
            if addon is not None and id(addon) not in added and name not in opts:
                m.addons.add(addon)
                added.add(id(addon))
        # Unknown names and invalid values raise OptionsError here: fatal, never ignored.
        opts.update(**settings)
        opts.set(*(f"{k}={v}" for k, v in pairs))
        check_choices(opts, [k for k, _ in pairs])
    except (exceptions.OptionsError, ValueError, NotImplementedError) as e:
        print(f"dlp-agent run: {e}", flush=True, file=sys.stderr)
        return 2

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, m.shutdown)
        except (NotImplementedError, RuntimeError):
            pass
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        await m.run()
    except SystemExit as e:  # errorcheck exits on errors logged during start-up
        return int(e.code or 1)
    return 0
