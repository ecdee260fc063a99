"""Vendor API tokens recognised by their documented shapes (reported as GENERIC_API_TOKEN).

Each hyperscan pattern matches a distinctive prefix plus enough of the body to be specific, and
ends at a fixed place so a token matches once; the span is then extended over the token's
alphabet. Sources: each vendor's token-format documentation as collected by gitleaks and
detect-secrets (shared/reference/detectors.md section 3-4).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.detect import entities as E
from agent.detect.detectors.base import SCORE_CHECKSUM, SCORE_FORMAT, Detector, Pattern
from agent.detect.filters import is_sequential, shannon_entropy

if TYPE_CHECKING:
    from agent.detect.scanner import ScanState

URLSAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


@dataclass(frozen=True, slots=True)
class Shape:
    name: str
    regex: bytes
    length: int = 0                       # fixed match length (0: leftmost start tracked)
    alphabet: frozenset[int] = URLSAFE    # the span is extended over these bytes
    min_entropy: float = 3.0


SHAPES: tuple[Shape, ...] = (
    # GitHub: classic PATs and app/OAuth tokens (ghp_ gho_ ghu_ ghs_ ghr_ + 36), fine-grained PATs.
    Shape("github", rb"\bgh[pousr]_[A-Za-z0-9]{36}", 40, ALNUM),
    Shape("github_fine_grained", rb"\bgithub_pat_[A-Za-z0-9_]{82}", 93),
    # GitLab personal / project / group access tokens.
    Shape("gitlab", rb"\bglpat-[A-Za-z0-9_\-]{20}", 26),
    # Slack bot / user / app tokens (xoxb-<team>-<bot>-<secret>), and incoming webhooks.
    Shape("slack", rb"\bxox[abposre]-[0-9]{6,15}-"),
    Shape("slack_webhook", rb"hooks\.slack\.com/services/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/",
          alphabet=frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/")),
    # Stripe secret and restricted live keys.
    Shape("stripe", rb"\b[rs]k_live_[A-Za-z0-9]{24}", 32, ALNUM),
    # Google API keys.
    Shape("google_api", rb"\bAIza[A-Za-z0-9_\-]{35}", 39),
    # SendGrid.
    Shape("sendgrid", rb"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}", 69),
    # Twilio API key SID.
    Shape("twilio", rb"\bSK[0-9a-fA-F]{32}\b", 34, ALNUM),
    # npm access tokens.
    Shape("npm", rb"\bnpm_[A-Za-z0-9]{36}", 40, ALNUM),
    # PyPI upload tokens (macaroon whose first bytes encode 'pypi.org').
    Shape("pypi", rb"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50}", 70),
    # Anthropic and OpenAI keys.
    Shape("anthropic", rb"\bsk-ant-(?:api03|admin01)-[A-Za-z0-9_\-]{80}"),
    Shape("openai", rb"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40}"),
    Shape("openai_legacy", rb"\bsk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}", 51, ALNUM),
    # Azure storage account keys in connection strings.
    Shape("azure_storage", rb"AccountKey=[A-Za-z0-9+/]{86}==", 99,
          frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")),
    # JSON Web Tokens: header.payload.signature, both JSON parts start '{"' = 'eyJ'.
    Shape("jwt", rb"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8}"),
)


def jwt_header_ok(token: str) -> bool:
    """The header part must decode to a JSON object naming an algorithm."""
    head = token.split(".", 1)[0]
    try:
        obj = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return isinstance(obj, dict) and "alg" in obj


class VendorTokenDetector(Detector):
    entity = E.GENERIC_API_TOKEN

    def patterns(self) -> Sequence[Pattern]:
        return [Pattern(s.name, s.regex, s.length, data=s) for s in SHAPES]

    def on_match(self, st: ScanState, pattern: Pattern, s: int, e: int) -> None:
        shape: Shape = pattern.data
        buf, hi = st.buf, st.hi
        alphabet = shape.alphabet
        while e < hi and buf[e] in alphabet and e - s < 1024:
            e += 1
        if e < hi and buf[e] in URLSAFE:
            return  # runs on into a longer word: not this vendor's token
        token = buf[s:e].decode("ascii")
        if shape.name == "slack_webhook":
            secret = token.rsplit("/", 1)[-1]
            if len(secret) < 20:
                return
        elif shape.name == "jwt":
            if not jwt_header_ok(token):
                return
            st.emit(self.entity, s, e, SCORE_CHECKSUM, "checksum", token)
            return
        elif shape.name == "slack" and len(token) < 30:
            return
        if shannon_entropy(token) < shape.min_entropy or is_sequential(token):
            return
        st.emit(self.entity, s, e, SCORE_FORMAT, "format", token)
