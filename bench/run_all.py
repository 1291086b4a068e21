"""Run every benchmark in bench/ (each prints its own measurements and ratios)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in sorted(HERE.glob("*.py")):
    if script.name == "run_all.py" or script.name.startswith("_"):
        continue
    print(f"== {script.name}")
    subprocess.run([sys.executable, str(script)], check=True)
