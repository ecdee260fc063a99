"""Entity type names. They are a contract: rules, metrics, alerts and SIEM queries use them."""

SSN = "SSN"
CREDIT_CARD = "CREDIT_CARD"
ABA_ROUTING = "ABA_ROUTING"
BANK_ACCOUNT = "BANK_ACCOUNT"
US_PASSPORT = "US_PASSPORT"
US_ITIN = "US_ITIN"
DRIVER_LICENSE_NY = "DRIVER_LICENSE_NY"
NPI = "NPI"
DEA = "DEA"
ICD10_MEDICAL = "ICD10_MEDICAL"
MRN = "MRN"
EMAIL = "EMAIL"
PHONE = "PHONE"
AWS_ACCESS_KEY = "AWS_ACCESS_KEY"
PRIVATE_KEY = "PRIVATE_KEY"
PASSWORD = "PASSWORD"
GENERIC_API_TOKEN = "GENERIC_API_TOKEN"
CONFIDENTIAL_MARKING = "CONFIDENTIAL_MARKING"

ALL = (
    SSN, CREDIT_CARD, ABA_ROUTING, BANK_ACCOUNT, US_PASSPORT, US_ITIN, DRIVER_LICENSE_NY,
    NPI, DEA, ICD10_MEDICAL, MRN, EMAIL, PHONE, AWS_ACCESS_KEY, PRIVATE_KEY, PASSWORD,
    GENERIC_API_TOKEN, CONFIDENTIAL_MARKING,
)

# Exact-data-match and document-fingerprint detections are named "EDM:<dataset>" and
# "IDM:<collection>"; dataset names are limited to this shape so they are safe as metric labels.
INDEX_NAME_RE = r"[a-z][a-z0-9_]{0,39}"


def is_known(name: str) -> bool:
    import re

    if name in ALL:
        return True
    m = re.fullmatch(rf"(EDM|IDM):({INDEX_NAME_RE})", name)
    return m is not None
