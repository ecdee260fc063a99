"""Private keys: PEM (RSA, EC, DSA, OPENSSH, PKCS#8, encrypted, PGP blocks), SSH2 and PuTTY.

A BEGIN line alone is a mention ("paste your -----BEGIN RSA PRIVATE KEY----- here"), not a key:
the block must have an END line and at least 64 base64 characters of body (gitleaks' rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from agent.detect import entities as E
from agent.detect.detectors.base import Detector, Pattern

if TYPE_CHECKING:
    from agent.detect.scanner import ScanState

_NOT_B64 = bytes(c for c in range(256) if chr(c) not in
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_SSH2 = b"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----"
MIN_BODY = 64
MAX_BLOCK = 64 * 1024    # a private key block is a few KB; do not search a whole body for END


class PrivateKeyDetector(Detector):
    entity = E.PRIVATE_KEY

    def patterns(self) -> Sequence[Pattern]:
        return (
            Pattern("pem", rb"-----BEGIN[ A-Z0-9_\-]{0,40}PRIVATE KEY(?: BLOCK)?-----",
                    data=(b"-----END", b"-----")),
            Pattern("ssh2", _SSH2, len(_SSH2),
                    data=(b"---- END SSH2 ENCRYPTED PRIVATE KEY ----", b"")),
            Pattern("putty", rb"PuTTY-User-Key-File-[23]: ", len(b"PuTTY-User-Key-File-2: "),
                    data=(b"Private-MAC:", b"\n")),
        )

    def on_match(self, st: ScanState, pattern: Pattern, s: int, e: int) -> None:
        buf = st.buf
        end_marker, line_end = pattern.data
        limit = min(st.hi, e + MAX_BLOCK)
        # Remember the last search so a body of BEGIN lines without END costs one pass, not
        # one 64 KB search per line: (marker, searched from, searched to, END offset or -1).
        memo = st.memo.get("pem")
        if memo is not None and memo[0] == end_marker and memo[1] <= e < memo[2]:
            end = memo[3] if memo[3] >= e else -1
            if end < 0 and limit > memo[2]:
                end = buf.find(end_marker, memo[2] - len(end_marker), limit)
        else:
            end = buf.find(end_marker, e, limit)
        st.memo["pem"] = (end_marker, e, limit if end < 0 else end, end)
        if end < 0:
            return
        body = buf[e:end].translate(None, _NOT_B64)
        if len(body) < MIN_BODY:
            return
        stop = end + len(end_marker)
        if line_end:
            close = buf.find(line_end, stop, min(limit, stop + 200))
            stop = limit if close < 0 else close + len(line_end)
        st.emit(self.entity, s, stop, 1.0, "format", body.decode("ascii"))
