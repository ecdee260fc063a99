"""Synthetic County data for fingerprint tests and the benchmark: people records and a memo.

Names are built from syllables so a million rows have mostly distinct names without a name list;
SSNs are unique and valid-shaped, case numbers unique. Everything is made up.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

_ONSETS = ["b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "l", "m", "n", "p",
           "r", "s", "sh", "st", "t", "th", "v", "w", "z"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ie", "ou"]
_CODAS = ["", "n", "r", "l", "s", "th", "nd", "rt", "m", "x", "ck"]
HEADER = ["full_name", "dob", "ssn", "case_number", "phone"]


def _syllables(r: random.Random, n: int) -> str:
    return "".join(r.choice(_ONSETS) + r.choice(_VOWELS) + r.choice(_CODAS) for _ in range(n))


def name_pools(seed: int = 7, firsts: int = 3000,
               lasts: int = 30000) -> tuple[list[str], list[str]]:
    r = random.Random(seed)
    f = sorted({_syllables(r, r.randint(1, 2)).capitalize() for _ in range(firsts * 2)})
    la = sorted({_syllables(r, r.randint(2, 3)).capitalize() for _ in range(lasts * 2)})
    r.shuffle(f)
    r.shuffle(la)
    return f[:firsts], la[:lasts]


@dataclass(frozen=True)
class Person:
    first: str
    middle: str          # an initial or ""
    last: str
    dob: dt.date
    ssn: str             # 9 digits
    case: str            # 2019-CV-001234
    phone: str           # 10 digits


def people(n: int, seed: int = 11, ssn_pool_offset: int = 0) -> list[Person]:
    """n people with unique SSNs and case numbers; ``ssn_pool_offset`` gives disjoint sets."""
    r = random.Random(seed)
    firsts, lasts = name_pools()
    # SSN areas 001-665 (valid shape); disjoint pools keep "unrelated" people truly unrelated.
    ssns = r.sample(range(1_000_000 + ssn_pool_offset * 100_000_000,
                          99_000_000 + ssn_pool_offset * 100_000_000), n)
    base = dt.date(1935, 1, 1)
    out = []
    for i in range(n):
        case = f"{2000 + (i % 25)}-{r.choice(('CV', 'CR', 'FA', 'SC'))}-{seed % 97:02d}{i:07d}"
        out.append(Person(r.choice(firsts), r.choice(["", "", r.choice("ABCDEFGHJKLMNPRSTW")]),
                          r.choice(lasts), base + dt.timedelta(days=r.randint(0, 27000)),
                          f"{ssns[i]:09d}", case,
                          f"{r.choice((914, 845, 212, 718))}{r.randint(2000000, 9999999)}"))
    return out


def source_row(p: Person) -> list[str]:
    """The way the County system exports the row: "First M. Last", ISO date, dashed SSN."""
    mid = f" {p.middle}." if p.middle else ""
    return [f"{p.first}{mid} {p.last}", p.dob.isoformat(),
            f"{p.ssn[:3]}-{p.ssn[3:5]}-{p.ssn[5:]}", p.case,
            f"({p.phone[:3]}) {p.phone[3:6]}-{p.phone[6:]}"]


def write_csv(path: Path, persons: list[Person]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for p in persons:
            w.writerow(source_row(p))


def reformatted(p: Person) -> dict[str, str]:
    """The same person as an upload would show them: "Last, First", M/D/YYYY, SSN without dashes."""
    return {"name": f"{p.last}, {p.first}", "dob": f"{p.dob.month}/{p.dob.day}/{p.dob.year}",
            "ssn": p.ssn}


MEMO = """\
CONFIDENTIAL - INTERNAL MEMORANDUM

To: Commissioners of Parks, Transportation and Social Services
From: Office of the Budget Director
Re: Proposed consolidation of the Yonkers and Peekskill field offices

The Budget Office has completed its review of field office utilisation for the fiscal year. \
Occupancy at the Peekskill annex averaged thirty-one percent, while maintenance costs rose by \
eighteen percent after the roof replacement was deferred twice. We recommend closing the annex \
at the end of the second quarter and moving its caseworkers to the Yonkers office on Nepperhan \
Avenue, which has eleven vacant workstations and a renovated intake area.

Staff will not be laid off. Fourteen positions will be reassigned, and the union has asked for \
mileage reimbursement for employees whose commute grows by more than twelve miles each way. \
Labor Relations estimates the reimbursement at ninety thousand dollars a year, far below the \
annex lease savings of roughly four hundred and twenty thousand dollars.

The sale of the annex parcel on Division Street should not be discussed outside this group \
until the Legislature's Budget and Appropriations Committee has been briefed in executive \
session. An early leak would weaken the County's position with the two developers who have \
already approached the Real Estate Division about the site.

Please send comments on the draft timeline to the Budget Director by the fifteenth. A revised \
plan, including the transit options for clients who now walk to the Peekskill annex, will \
follow after the committee briefing.
"""

UNRELATED_POST = """\
Had the best Saturday at the farmers market in Pleasantville! The apple cider donuts are back \
and the line was worth it. Picked up heirloom tomatoes, fresh basil and a sourdough loaf from \
the new bakery stall. If you go next week, bring cash because the card reader kept failing. \
Also the kids loved the bluegrass band by the train station. Summer in the Hudson Valley is \
hard to beat.
"""
