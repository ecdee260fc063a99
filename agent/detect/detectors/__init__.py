"""The detectors, registered explicitly (no discovery): order is priority on ties."""

from __future__ import annotations

from agent.detect.config import DetectorConfig
from agent.detect.detectors.aws import AwsAccessKeyDetector
from agent.detect.detectors.banking import AbaDetector, BankAccountDetector
from agent.detect.detectors.base import Detector, NumberDetector, Pattern
from agent.detect.detectors.card import CardDetector
from agent.detect.detectors.credentials import CredentialsDetector
from agent.detect.detectors.email import EmailDetector
from agent.detect.detectors.icd10 import Icd10Detector
from agent.detect.detectors.identity import NyDriverLicenseDetector, PassportDetector
from agent.detect.detectors.marking import MarkingDetector
from agent.detect.detectors.medical import DeaDetector, MrnDetector, NpiDetector
from agent.detect.detectors.number import NumberRouter
from agent.detect.detectors.phone import PhoneDetector
from agent.detect.detectors.private_key import PrivateKeyDetector
from agent.detect.detectors.ssn import ItinDetector, SsnDetector
from agent.detect.detectors.vendor_tokens import VendorTokenDetector

__all__ = ["Detector", "NumberDetector", "Pattern", "default_detectors", "number_detectors"]


def number_detectors() -> list[NumberDetector]:
    """Number detectors in priority order: when one label names several candidate types, the
    first that validates wins (an 'ssn/itin' column: SSN, else ITIN)."""
    return [
        SsnDetector(),
        ItinDetector(),
        CardDetector(),
        AbaDetector(),
        NpiDetector(),
        DeaDetector(),
        PhoneDetector(),
        PassportDetector(),
        NyDriverLicenseDetector(),
        MrnDetector(),
        BankAccountDetector(),
    ]


def default_detectors(config: DetectorConfig) -> list[Detector]:
    return [
        NumberRouter(number_detectors()),
        Icd10Detector(),
        EmailDetector(),
        AwsAccessKeyDetector(),
        PrivateKeyDetector(),
        VendorTokenDetector(),
        CredentialsDetector(config.secrets),
        MarkingDetector(config),
    ]
