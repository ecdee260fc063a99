"""Helpers the fingerprint tests import (a plainly named module: ``from conftest import``
breaks when another test directory's conftest.py was imported first)."""

from __future__ import annotations

import io
import os
import secrets
import sys
from pathlib import Path

from agent import cli as _cli


def main(argv: list[str]) -> int:
    """`dlp-agent <command> ...` in-process, building only that command's parser (the real
    COMMANDS entry and module), so another command's import problem cannot break these tests."""
    import argparse
    import importlib

    name = argv[0]
    module = importlib.import_module(_cli.COMMANDS[name][0])
    parser = argparse.ArgumentParser(prog=f"dlp-agent {name}")
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    args.command = name
    try:
        return int(module.run(args) or 0)
    except _cli.UsageError as e:
        print(f"dlp-agent {name}: {e}", file=sys.stderr)
        return 2


def write_key(path: Path, mode: int = 0o600) -> Path:
    path.write_text(secrets.token_hex(32) + "\n")
    os.chmod(path, mode)
    return path


def docx_bytes(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    if table:
        t = d.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def pdf_bytes(text: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(0, 5, text)
    return bytes(pdf.output())


SNOW_MEMO = (
    "Department of Public Works - Snow and Ice Control Plan. The salt dome at the Valhalla "
    "campus holds nine thousand tons. Plow routes 14 through 22 are reassigned to the "
    "Ardsley garage because the Elmsford yard loses its fuel island during the tank "
    "replacement. Contractors on the per-storm schedule are paid only after the route "
    "supervisor signs the completion sheet. Priority one roads are cleared within four hours "
    "of the end of snowfall, priority two within eight hours. Brine pre-treatment starts "
    "when the forecast shows two inches or more and pavement temperature below thirty degrees."
)

HR_NOTE = (
    "Human Resources note on the pilot of compressed work weeks at the Department of Health "
    "laboratory. Technicians on the pilot work four ten-hour days and rotate Fridays so the "
    "specimen intake window stays open. Overtime fell by a fifth during the first quarter of "
    "the pilot, and sick leave use did not change. Two supervisors asked that the pilot be "
    "extended to the environmental testing unit before the summer beach monitoring season."
)
