"""When, where and how a benchmark's JSON was measured.

Every benchmark that writes JSON stores `measured(program)` under the key
"measured": {"date", "machine", "command"}. The results pages print
`header(measured)` above each table rendered from that JSON
(pqrnn_tf/benchmarks/results.py), so a table always says where it came from.
"""
from __future__ import annotations

import shlex
import subprocess
import sys
import time

#: The key of a benchmark JSON that holds `measured()`.
KEY = "measured"


def machine() -> str:
  """The CPU in a few words (lscpu's model name and CPU count, e.g. "AMD EPYC,
  2 CPUs"); "unknown" where lscpu does not run."""
  try:
    out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
  except (OSError, subprocess.CalledProcessError):
    return "unknown"
  fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in
                                                   out.splitlines()) if v}
  parts = [fields.get("Model name"), fields.get("CPU(s)") and f"{fields['CPU(s)']} CPUs"]
  return ", ".join(p for p in parts if p) or "unknown"


def command(program: str, argv: list[str] | None = None) -> str:
  """The command line that ran: `program` (how a user starts it, e.g.
  "python -m pqrnn_tf.benchmarks.accuracy") and the arguments of `argv`
  (default sys.argv) after its program name, quoted for a shell."""
  args = (sys.argv if argv is None else argv)[1:]
  return " ".join([program, *map(shlex.quote, args)])


def measured(program: str, argv: list[str] | None = None) -> dict:
  """The date (UTC, to the minute), machine and command of this run."""
  return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
          "command": command(program, argv)}


def header(info: dict) -> str:
  """One Markdown line from a "measured" field: date, machine and command."""
  return f"Measured {info['date']} on {info['machine']}: `{info['command']}`"
