"""The code base passes ruff with the project's rules (pyproject.toml [tool.ruff]), including the
banned APIs: yaml.load, bare asyncio.create_task, non-defused XML parsing."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean():
    ruff = Path(sys.executable).parent / "ruff"
    p = subprocess.run([str(ruff), "check", "agent", "tests", "bench", "dashboards", "deploy"],
                       cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-3000:]
