"""The repository speaks of the project, not of how it was made.

Every tracked text file (`git ls-files`) and the `--help` of every console
script is searched for words about the making of the project: numbered work
periods, ticket numbers, and the people or roles who ran the work. Each rule
below is a regular expression (case-insensitive unless it says otherwise)
chosen to hit those senses only:

- work periods: the word for a work period with a number after it, or with
  "this / earlier / previous / next" before it; not pytest's
  `scope="session"` or an ONNX Runtime `InferenceSession`, which are the
  words of an API;
- ticket numbers: a ticket word (issue, ticket, bug, PR) with a number, a
  bare `#` and 1-5 digits in prose (not after a word character, `&` or `/`,
  not before a hex digit or word character; on a line that styles colours,
  a 3/4-digit "#333" is a colour), and "this / the / an" before the word
  for a ticket; not "a ticket from boston" (ATIS sentences are about plane
  tickets);
- people and roles: who led, helped or ran the work, in the possessive or
  with a verb of doing (`RULES` lists them), any "agent" but a "user
  agent", and the upper-case title of a chief executive; not "helper
  function", "the helpers of QrnnPool" or "lead byte", which are about code.

`test_rules_hit_process_words_and_spare_project_words` shows examples of each kind.

The word "task" is not searched: `--task` is a flag of the distillation
benchmark and "task" (intent classification, slot tagging) is the project's
own vocabulary. This file is not searched either: it holds the patterns.
"""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

from pqrnn_tf import console

ROOT = pathlib.Path(__file__).resolve().parent.parent
THIS_FILE = pathlib.Path(__file__).resolve().relative_to(ROOT).as_posix()

_PERIOD = r"(this|that|earlier|previous|prior|next|later|last|same|a new|the next)"
RULES = [
    ("work period", re.compile(r"\bsessions?[ -]?\d+", re.I)),
    ("work period", re.compile(rf"\b{_PERIOD} sessions?(?!\w)", re.I)),
    ("work period", re.compile(r"\b(start|end) of the session\b|\bthe session (ended|began|started)\b",
                               re.I)),
    ("ticket number", re.compile(r"\b(issue|ticket|bug|pr)s?\s*#\s*\d+", re.I)),
    ("ticket number", re.compile(r"\b(issue|ticket)s? \d+\b", re.I)),
    ("ticket number", re.compile(r"\b(this|that|the|an|earlier) issue(?!\w)", re.I)),
    ("person or role", re.compile(r"\bthe lead's|\bthe lead (ran|asked|said|wants|wrote|measured|"
                                  r"found|did)\b|\blead (engineer|developer)s?\b", re.I)),
    ("person or role", re.compile(r"\bhelper's|\bhelpers'|\b(other|another) helpers?\b|"
                                  r"\bhelpers? (ran|did|wrote|measured|found|said|asked)\b", re.I)),
    ("person or role", re.compile(r"(?<!user )(?<!user-)\bagents?\b", re.I)),
    ("person or role", re.compile(r"\bCEO\b")),
]
# "#13" in prose; colours ("#333", "#4a7dff") and "#!" are not tickets.
BARE_NUMBER = re.compile(r"(?<![\w&/])#(\d{1,5})(?![0-9A-Fa-f\w])")
COLOUR_LINE = re.compile(r"color|background|border|fill|stroke|outline", re.I)


def findings(text: str) -> list[tuple[int, str, str]]:
  """(line number, rule, matched text) for every hit in `text`."""
  out = []
  for number, line in enumerate(text.splitlines(), 1):
    for name, pattern in RULES:
      for match in pattern.finditer(line):
        out.append((number, name, match.group(0)))
    for match in BARE_NUMBER.finditer(line):
      if len(match.group(1)) in (3, 4) and COLOUR_LINE.search(line):
        continue
      out.append((number, "ticket number", match.group(0)))
  return out


def tracked_text_files() -> list[str]:
  listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode()
  return [p for p in listing.split("\0") if p and p != THIS_FILE]


def test_rules_hit_process_words_and_spare_project_words():
  hits = ["see session 6", "the session-4 export", "sessions 5–6", "docs/benchmark/session6/",
          "this session's builds", "the earlier sessions' machine", "before the session ended",
          "Issue #15: the graph", "issue 15", "ticket #13", "the targets of #13",
          "(#16)", "the issue's targets", "the lead's jobs", "the other helpers' jobs",
          "a helper ran it", "the agent wrote", "the CEO asked"]
  spared = ['@pytest.fixture(scope="session")', "ort.InferenceSession(path)",
            "one ONNX Runtime session per thread", "a ticket from boston to denver",
            "helper functions are inlined", "the helpers of QrnnPool", "by lead-byte length",
            "color: #333;", "background: #4a7dff;", "#!/bin/sh", "&#1234;",
            "https://example.org/page#12", "#define X 1", "user agent string", "# 3 seeds"]
  for text in hits:
    assert findings(text), text
  for text in spared:
    assert not findings(text), text


def test_tracked_files_speak_of_the_project():
  problems = []
  for path in tracked_text_files():
    file = ROOT / path
    if not file.is_file():  # deleted in the working tree
      continue
    try:
      text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:  # binary (images, fuzz corpora)
      continue
    problems += [f"{path}:{n}: {rule}: {found!r}" for n, rule, found in findings(text)]
  assert not problems, "words about how the project was made:\n" + "\n".join(problems)


def test_console_help_speaks_of_the_project():
  runs = {tool: subprocess.Popen([sys.executable, "-m", "pqrnn_tf.console", tool, "--help"],
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True)
          for tool in console.TOOLS}
  problems = []
  for tool, process in runs.items():
    output, _ = process.communicate(timeout=300)
    assert "--" in output, f"{tool} --help printed no flags:\n{output[-2000:]}"
    problems += [f"{tool} --help:{n}: {rule}: {found!r}" for n, rule, found in findings(output)]
  assert not problems, "words about how the project was made:\n" + "\n".join(problems)


if __name__ == "__main__":
  sys.exit(pytest.main([__file__, "-q"]))
