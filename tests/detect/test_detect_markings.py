# ruff: noqa: E501  (tables of realistic text read better unwrapped)
"""Classification markings, keyword dictionaries, e-mail addresses and ICD-10 codes."""

from __future__ import annotations

import pytest

# fmt: off
MARKING_CASES = [
    ("CONFIDENTIAL\nQ3 budget draft",                         ["CONFIDENTIAL"]),
    ("Page 2 of 9    COUNTY CONFIDENTIAL",                    ["COUNTY CONFIDENTIAL"]),
    ("FOR OFFICIAL USE ONLY",                                 ["FOR OFFICIAL USE ONLY"]),
    ("For Official Use Only - do not forward",                ["FOR OFFICIAL USE ONLY"]),
    ("ATTORNEY-CLIENT PRIVILEGED",                            ["ATTORNEY-CLIENT PRIVILEGED"]),
    ("PRIVILEGED AND CONFIDENTIAL",                           ["PRIVILEGED AND CONFIDENTIAL"]),
    ("Privileged and confidential communication",             ["PRIVILEGED AND CONFIDENTIAL"]),
    ("CUI//SP-PRVCY",                                         ["CUI"]),
    ("Classification: Confidential",                          ["CLASSIFICATION: CONFIDENTIAL"]),
    ("Sensitivity label = Highly Confidential",               ["SENSITIVITY LABEL: HIGHLY CONFIDENTIAL"]),
    ("data classification - restricted",                      ["DATA CLASSIFICATION: RESTRICTED"]),
    ("SEALED RECORD - Family Court",                          ["SEALED RECORD"]),       # dictionary
    # not markings
    ("Please keep your password confidential.",               []),
    ("Confidential information must be handled with care.",   []),
    ("All records are kept confidential by the County.",      []),
    ("CONFIDENTIALITY AGREEMENT",                             []),
    ("Our cuisine is excellent; CUIsine",                     []),
    ("Classification: public",                                []),
    ("the classification of the report",                      []),
    ("sealed record",                                         []),                      # case-sensitive dictionary
]
# fmt: on


@pytest.mark.parametrize("text,expected", MARKING_CASES)
def test_markings(scanner, text, expected):
    from agent.extract.model import Segment

    result = scanner.scan([Segment(text.encode(), "t")])
    got = [f.norm for f in result.findings if f.type == "CONFIDENTIAL_MARKING"]
    assert got == expected


# fmt: off
EMAIL_CASES = [
    ("Contact john.smith@westchestercountyny.gov today", ["john.smith@westchestercountyny.gov"]),
    ("<Mary.O'Brien+hr@gmail.com>",                       ["Mary.O'Brien+hr@gmail.com"]),
    ("email='jane@yahoo.com'",                            ["jane@yahoo.com"]),
    ("mailto:a_b-c.d@sub.dept.example.org.uk",            ["a_b-c.d@sub.dept.example.org.uk"]),
    ("end of sentence: jane@yahoo.com.",                  ["jane@yahoo.com"]),
    ("JANE@YAHOO.COM",                                    ["JANE@YAHOO.COM"]),
    ("icon@2x.png and logo@3x.webp",                      []),
    ("npm i left-pad@1.3.0",                              []),
    ("user@localhost",                                    []),
    ("docs: someone@example.com",                         []),
    ("@mention and a@b",                                  []),
    ("x@y.notarealtld",                                   []),
]
# fmt: on


@pytest.mark.parametrize("text,expected", EMAIL_CASES)
def test_email(scan, text, expected):
    assert [v for t, v, _ in scan(text) if t == "EMAIL"] == expected


def test_email_norm_is_lower_case(scanner):
    from agent.extract.model import Segment

    [f] = scanner.scan([Segment(b"JANE@YAHOO.COM", "t")]).findings
    assert f.norm == "jane@yahoo.com"


# fmt: off
ICD_CASES = [
    ("Diagnosis: E11.9",                  [("ICD10_MEDICAL", "E11.9")]),
    ("dx J45.909, I10",                   [("ICD10_MEDICAL", "J45.909"), ("ICD10_MEDICAL", "I10")]),
    ("ICD-10 code E119",                  [("ICD10_MEDICAL", "E119")]),
    ("diagnosis code: I10",               [("ICD10_MEDICAL", "I10")]),
    ("E11.9",                             []),
    ("Part A10 and room B12",             []),
    ("diagnosis U07.1",                   []),                               # U codes reserved
]
# fmt: on


@pytest.mark.parametrize("text,expected", ICD_CASES)
def test_icd10(scan, text, expected):
    assert [(t, v) for t, v, _ in scan(text)] == expected
