import sys
from pathlib import Path

# The end-to-end harness (real `dlp-agent run` behind a fake internet) lives with tests/e2e.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.path.insert(0, str(Path(__file__).parent))
