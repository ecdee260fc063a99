"""Peak memory of Inspector.inspect on bodies with ~200 MB of extracted text, with text spilled
to disk past Limits.memory_text_bytes (the default) vs all text held in memory (the behaviour
before spilling: max_spilled_bytes=0, with max_extracted_bytes raised so the whole body is read).

Each run is a fresh process: the body is read from a file, the scanner compiled, the peak RSS
reset (/proc/self/clear_refs), then one inspect; printed are the peak RSS above the RSS before
inspect, wall time, and whether the body was read whole and the planted SSN found.

Run: .venv/bin/python bench/bench_spill.py [--mb 200] [--cases zip,docx,xlsx,text]
The code before spilling: copy this file into an older checkout's bench/ and run it there
with --modes before (``git worktree add /tmp/base be46023``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 ** 2
SSN = "536-22-5555"   # made up, valid shape
LINE = (b"The county board reviewed the winter road plan, the library hours and the park "
        b"maintenance schedule; residents asked about permits and bus route %d.\n")

MODES = {
    "spill": {},                                                    # shipped defaults
    "memory": {"max_spilled_bytes": 0, "max_extracted_bytes": 4096 * MiB},
    "memory-default-cap": {"max_spilled_bytes": 0},                 # 64 MiB: size_limit
    # for a checkout from before spilling (copy this file into its bench/): whole parts read
    "before": {"max_extracted_bytes": 4096 * MiB},
}


def prose(size: int, seed: int = 0) -> bytes:
    out, n, i = [], 0, seed * 10_000_000
    while n < size:
        line = LINE % i
        out.append(line)
        n += len(line)
        i += 1
    return b"".join(out)


def zip_body(total: int) -> tuple[bytes, str | None, str]:
    """An archive of 1 MB text files (deflated), SSN in the last one."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(total // MiB):
            zf.writestr(f"minutes/{i:04d}.txt", prose(MiB, seed=i))
        zf.writestr("minutes/last.txt", f"SSN {SSN}\n".encode())
    return out.getvalue(), None, "minutes.zip"


def docx_body(total: int) -> tuple[bytes, str | None, str]:
    """A docx (python-docx template) whose body holds ``total`` bytes of paragraphs."""
    import docx

    paras = [b"<w:p><w:r><w:t>" + line.rstrip(b"\n") + b"</w:t></w:r></w:p>"
             for line in prose(total).splitlines()]
    paras.append(f"<w:p><w:r><w:t>SSN {SSN}</w:t></w:r></w:p>".encode())
    xml = b"".join([b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/'
                    b'2006/main"><w:body>', *paras, b"</w:body></w:document>"])
    tmpl = io.BytesIO()
    docx.Document().save(tmpl)
    return _with_part(tmpl, "word/document.xml", xml), None, "minutes.docx"


def xlsx_body(total: int) -> tuple[bytes, str | None, str]:
    """An xlsx (openpyxl template) whose one sheet holds ``total`` bytes of inline-string rows."""
    import openpyxl

    rows = [b'<row><c t="inlineStr"><is><t>name</t></is></c><c t="inlineStr"><is><t>note</t>'
            b'</is></c></row>']
    for i, line in enumerate(prose(total).splitlines()):
        rows.append(b'<row><c t="inlineStr"><is><t>person %d</t></is></c><c t="inlineStr"><is>'
                    b'<t>%s</t></is></c></row>' % (i, line))
    rows.append(f'<row><c t="inlineStr"><is><t>last</t></is></c><c t="inlineStr"><is><t>SSN {SSN}'
                '</t></is></c></row>'.encode())
    xml = b"".join([b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    b"<sheetData>", *rows, b"</sheetData></worksheet>"])
    tmpl = io.BytesIO()
    openpyxl.Workbook().save(tmpl)
    return _with_part(tmpl, "xl/worksheets/sheet1.xml", xml), None, "minutes.xlsx"


def _with_part(package: io.BytesIO, name: str, data: bytes) -> bytes:
    """The zip package (a library's own template) with part ``name`` replaced by ``data``."""
    out = io.BytesIO()
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, data if item.filename == name else src.read(item.filename))
    return out.getvalue()


def text_body(total: int) -> tuple[bytes, str | None, str | None]:
    """A plain text upload: the body is its own text (nothing extracted, nothing copied)."""
    return prose(total) + f"SSN {SSN}\n".encode(), "text/plain", None


CASES = {"zip": zip_body, "docx": docx_body, "xlsx": xlsx_body, "text": text_body}


def _status(key: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    return 0


def child(path: str, ctype: str | None, name: str | None, mode: str, spill_dir: str) -> None:
    sys.path.insert(0, str(ROOT))
    from agent.detect import Scanner
    from agent.extract import Limits
    from agent.inspect import Inspector

    body = Path(path).read_bytes()
    extra = {"spill_dir": spill_dir} if "spill_dir" in Limits.__dataclass_fields__ else {}
    inspector = Inspector(Scanner(), Limits(max_seconds=600.0, **extra, **MODES[mode]))
    inspector.inspect(b"warm up " + SSN.encode(), "text/plain")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")      # reset VmHWM to the current RSS
    except OSError:
        pass
    before = _status("VmRSS:")
    t = time.monotonic()
    r = inspector.inspect(body, ctype, filename=name)
    seconds = time.monotonic() - t
    print(json.dumps({"peak": _status("VmHWM:") - before, "seconds": seconds,
                      "extracted": r.bytes_extracted, "complete": r.complete,
                      "reasons": sorted(r.uninspectable_reasons), "ssn": r.counts.get("SSN", 0),
                      "left_on_disk": os.listdir(spill_dir)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=200, help="MB of text per body")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--modes", default="spill,memory,memory-default-cap")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        path, ctype, name, mode, spill_dir = a.child
        child(path, ctype or None, name or None, mode, spill_dir)
        return
    print(f"{'case':6} {'mode':18} {'body MB':>8} {'text MB':>8} {'peak RSS MB':>12} "
          f"{'seconds':>8}  result")
    with tempfile.TemporaryDirectory() as tmp:
        for case in a.cases.split(","):
            body, ctype, name = CASES[case](a.mb * MiB)
            path = Path(tmp) / f"{case}.body"
            path.write_bytes(body)
            del body
            for mode in a.modes.split(","):
                spill_dir = Path(tmp) / "spill"
                spill_dir.mkdir(exist_ok=True)
                p = subprocess.run([sys.executable, __file__, "--child", str(path), ctype or "",
                                    name or "", mode, str(spill_dir)],
                                   capture_output=True, text=True, check=False)
                if p.returncode:
                    print(f"{case:6} {mode:18} failed: {p.stderr.strip().splitlines()[-1:]}")
                    continue
                r = json.loads(p.stdout.strip().splitlines()[-1])
                result = ("complete" if r["complete"] else ",".join(r["reasons"])) + \
                    f", SSN {'found' if r['ssn'] else 'missed'}" + \
                    (f", LEFT ON DISK {r['left_on_disk']}" if r["left_on_disk"] else "")
                print(f"{case:6} {mode:18} {path.stat().st_size / MiB:8.1f} "
                      f"{r['extracted'] / MiB:8.1f} {r['peak'] / MiB:12.1f} {r['seconds']:8.2f}  "
                      f"{result}", flush=True)


if __name__ == "__main__":
    main()
