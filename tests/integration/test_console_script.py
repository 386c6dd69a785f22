"""The installed console script `anakinra-cds` (a subprocess): its help lists every command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_console_script_help_lists_every_command():
    exe = Path(sys.executable).with_name("anakinra-cds")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60, check=True).stdout
    for cmd in ("serve", "fhir-server", "explain", "audit", "authorizations", "db"):
        assert cmd in out
