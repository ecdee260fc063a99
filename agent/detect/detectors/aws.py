"""AWS access key IDs.

Prefix (AKIA long-term, ASIA temporary, ABIA/ACCA, A3T legacy) + 16 characters of the base32
alphabet (A-Z, 2-7: so 0, 1, 8, 9 never occur), as gitleaks. The AWS documentation keys
(AKIAIOSFODNN7EXAMPLE ...) and low-entropy fakes are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from agent.detect import entities as E
from agent.detect.detectors.base import SCORE_FORMAT, Detector, Pattern
from agent.detect.filters import is_example_aws_key, shannon_entropy

if TYPE_CHECKING:
    from agent.detect.scanner import ScanState


class AwsAccessKeyDetector(Detector):
    entity = E.AWS_ACCESS_KEY

    def patterns(self) -> Sequence[Pattern]:
        return (Pattern("aws_access_key_id",
                        rb"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b", 20),)

    def on_match(self, st: ScanState, pattern: Pattern, s: int, e: int) -> None:
        key = st.buf[s:e].decode("ascii")
        if is_example_aws_key(key) or shannon_entropy(key) < 3.0:
            return
        st.emit(self.entity, s, e, SCORE_FORMAT, "format", key)
