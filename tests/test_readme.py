"""Every shell command of README.md runs, from a fresh clone of HEAD.

The README's shell blocks (```sh, ```bash, ```shell; in ```console blocks the
`$ ` lines) are run in order, in one bash process (so `. .venv/bin/activate`
holds for the commands after it, as in a user's terminal), in a `git clone` of
the repository's HEAD in a temporary folder. A command that exits non-zero
fails the test, naming its README line.

The clone is a fresh machine except for its packages: before the README's
commands run, the clone gets a `.venv` whose site-packages reach the main
venv's through a `.pth` file (appended after its own, as tests/test_install.py
does), so the README's `pip install` commands find every pin satisfied instead
of downloading 4 GB, while `make demo`'s set-up and `pip install -e .` still
install the clone's package and compile its C++ ops (a minute or two each).

Two rules keep the run to minutes, both listed below and checked against the
README by the tests that follow them:
- EXEMPT: commands not run, each with why;
- SHORT_RUN: flags appended to commands that train or time for minutes
  (fewer epochs, fewer timed calls); the README's own flags are kept, and a
  flag given twice takes its last value (absl, make), so an appended one wins.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shlex
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.test_runtime_install import ROOT

#: Info strings of the fenced blocks that are run.
SHELL_LANGUAGES = ("sh", "bash", "shell", "console")
#: Commands not run (their words, as shlex splits them, comments dropped) -> why.
EXEMPT = {
    ("make", "test"): "the test suite this test is part of (CI runs it: .ci/run)",
}
#: (program, words) -> flags appended to a command of `program` that has
#: all of `words` (a subcommand, a flag as written) among its own.
SHORT_RUN = {
    ("make", "demo"): ("DEMO_FLAGS=--epochs=1",),
    ("pqrnn-train",): ("--epochs=1",),
    ("pqrnn-teacher", "train"): ("--epochs=1", "--min_steps=1"),
    ("pqrnn-benchmark",): ("--buckets=16", "--sentences_per_bucket=5", "--num_invokes=20",
                           "--warmup=2", "--throughput_seconds=0.2", "--nopeak_int8"),
    # 2 of the 6 default signatures (each is converted and int8-calibrated
    # alone); 512 rows hold pqrnn_base's longest sentence.
    ("pqrnn-export", "--portable"): ("--buckets=16,512",),
}
#: Characters of the shell's operators (&&, ;, |, >, ...) and expansions ($X,
#: `...`): a command with them is more than words, and flags appended to its
#: words could change what it does.
SHELL_SPECIAL = set("&;|<>()$`")
#: Seconds the whole README may take: generous, because on 2 cores shared
#: with other runs (load 10 to 20) the commands before the teacher's took 17
#: minutes of wall time (5 of CPU), the teacher's fine-tuning over 30.
TIMEOUT = 7200


@dataclasses.dataclass(frozen=True)
class Command:
  """One shell command of the README: its first line's number (1-based) and
  its text (continuation lines and multi-line quotes included)."""
  line: int
  text: str

  def words(self) -> list[str]:
    """The command's words as the shell splits them, its comment dropped."""
    # A backslash-newline joins lines (shlex would keep the newline in a word).
    lexer = shlex.shlex(self.text.replace("\\\n", ""), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def shell_blocks(markdown: str) -> list[tuple[int, str, list[str]]]:
  """The fenced blocks of `markdown` in SHELL_LANGUAGES, as (line number of the
  block's first line, language, lines)."""
  blocks, inside, language, start, lines = [], False, "", 0, []
  for number, line in enumerate(markdown.splitlines(), 1):
    fence = re.match(r"^\s*```\s*([\w-]*)", line)
    if fence and not inside:
      inside, language, start, lines = True, fence.group(1).lower(), number + 1, []
    elif fence and inside:
      if language in SHELL_LANGUAGES:
        blocks.append((start, language, lines))
      inside = False
    elif inside:
      lines.append(line)
  if inside:
    raise ValueError(f"line {start - 1}: a ``` block is not closed")
  return blocks


def _is_complete(text: str) -> bool:
  """Whether `text` ends a command: no trailing backslash, no open quote."""
  if text.endswith("\\"):
    return False
  try:
    Command(0, text).words()
  except ValueError:  # shlex: "No closing quotation"
    return False
  return True


def commands(markdown: str) -> list[Command]:
  """The commands of the shell blocks of `markdown`, in order. Comment lines
  and blank lines are skipped; in a console block only `$ ` lines (and the
  lines that continue them) are commands, the rest is output."""
  found = []
  for start, language, lines in shell_blocks(markdown):
    pending: Command | None = None
    for offset, line in enumerate(lines):
      if pending is not None:
        pending = Command(pending.line, pending.text + "\n" + line)
      else:
        stripped = line.strip()
        if language == "console":
          if not stripped.startswith("$ "):
            continue
          stripped = stripped[2:].strip()
        if not stripped or stripped.startswith("#"):
          continue
        pending = Command(start + offset, stripped)
      if _is_complete(pending.text):
        found.append(pending)
        pending = None
    if pending is not None:
      raise ValueError(f"line {pending.line}: the command does not end in its block")
  return found


def _matches(words: list[str], rule: tuple[str, ...]) -> bool:
  """Whether a command of `words` is one that `rule` (a key of SHORT_RUN) names."""
  return words[:1] == [rule[0]] and set(rule[1:]) <= set(words[1:])


def exemption(command: Command) -> str | None:
  """Why `command` is not run (EXEMPT), or None."""
  return EXEMPT.get(tuple(command.words()))


def short_run(command: Command) -> str:
  """The shell text that runs `command`: as written, or with the SHORT_RUN
  flags of the first rule it matches appended (the README's comment dropped)."""
  words = command.words()
  for rule, flags in SHORT_RUN.items():
    if _matches(words, rule):
      if any(SHELL_SPECIAL & set(w) for w in words):
        raise ValueError(f"README.md:{command.line}: cannot append {' '.join(flags)} to a "
                         f"command with shell operators or expansions: {command.text}")
      return shlex.join([*words, *flags])
  return command.text


def script(runs: list[tuple[Command, str]]) -> str:
  """A bash script running each (command, shell text) in order: it prints
  `>>> README.md:<line>: <text>` before each, its times after, and stops at
  the first failure with `README.md:<line>: exit status <n>`."""
  parts = ["TIMEFORMAT='<<< %R s wall, %U s user, %S s sys'"]
  for command, text in runs:
    where = f"README.md:{command.line}"
    parts.append(f"printf '\\n>>> %s: %s\\n' {shlex.quote(where)} {shlex.quote(text)}\n"
                 f"time {{\n{text}\n}}\n"
                 f"status=$?\n"
                 f"if [ $status != 0 ]; then echo \"{where}: exit status $status\"; exit 1; fi")
  return "\n".join(parts) + "\n"


def _runs(markdown: str) -> list[tuple[Command, str]]:
  return [(c, short_run(c)) for c in commands(markdown) if exemption(c) is None]


def _main_site_packages() -> str:
  """site-packages of the venv running the tests (the main .venv)."""
  return sysconfig.get_paths()["purelib"]


def _environment() -> dict[str, str]:
  """This process's environment without its venv (the clone's own comes from
  the README's commands)."""
  env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
  venv_bin = str(Path(sys.prefix) / "bin")
  env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                if p and Path(p) != Path(venv_bin))
  return env


def fresh_clone(directory: Path) -> Path:
  """A clone of ROOT's HEAD in `directory`, with a `.venv` that reaches the
  main venv's packages (after its own); returns the clone's root."""
  clone = directory / "clone"
  subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
                 check=True, capture_output=True, timeout=300)
  subprocess.run([sys.executable, "-m", "venv", str(clone / ".venv")], check=True, timeout=300)
  python = clone / ".venv" / "bin" / "python"
  own = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                        "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip()
  (Path(own) / "main_venv_packages.pth").write_text(_main_site_packages() + "\n")
  return clone


def run_script(clone: Path, text: str, log: Path) -> int:
  """Runs bash `text` in `clone`, its output (stdout and stderr) to `log`;
  returns its exit status. Past TIMEOUT, the script and every process it
  started are killed and the test fails."""
  (clone.parent / "readme.sh").write_text(text)
  with open(log, "wb") as out:
    # Its own process group, so that a timeout ends the tools it runs too.
    process = subprocess.Popen(["bash", str(clone.parent / "readme.sh")], cwd=clone,
                               env=_environment(), stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
      return process.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
      os.killpg(process.pid, signal.SIGKILL)
      process.wait()
      pytest.fail(f"the README's commands took over {TIMEOUT} s: {_failure(log)}")


def _failure(log: Path) -> str:
  """The failing command's report and the end of its output."""
  output = log.read_text(errors="replace")
  last = output.rfind("\n>>> ")
  return f"{output[last:][:300]}\n...\n{output[-4000:]}\n(whole output: {log})"


# ----------------------------------------------------------------------- the rules


README_EXAMPLE = """\
Text.

```sh
make demo   # comment
pqrnn-train --model_dir=runs/a \\
  --epochs=30
# a comment line
python -c "print(1)
print(2)"
```

```python
not = "a shell command"
```

```console
$ pqrnn-benchmark --models=a.tflite
output line
$ pqrnn-export --output=a.tflite --portable
$ make test
```
"""


def test_commands_are_found_with_their_lines():
  found = commands(README_EXAMPLE)
  assert [(c.line, c.text) for c in found] == [
      (4, "make demo   # comment"),
      (5, "pqrnn-train --model_dir=runs/a \\\n  --epochs=30"),
      (8, 'python -c "print(1)\nprint(2)"'),
      (17, "pqrnn-benchmark --models=a.tflite"),
      (19, "pqrnn-export --output=a.tflite --portable"),
      (20, "make test")]


def test_rules_exempt_or_shorten_commands():
  make_demo, train, python, benchmark, export, make_test = commands(README_EXAMPLE)
  assert exemption(make_test) and not any(map(exemption, (make_demo, train, python, benchmark)))
  assert short_run(make_demo) == "make demo DEMO_FLAGS=--epochs=1"
  # The README's --epochs=30 stays; the appended --epochs=1 comes last and wins.
  assert short_run(train) == "pqrnn-train --model_dir=runs/a --epochs=30 --epochs=1"
  assert short_run(python) == python.text
  assert short_run(benchmark).startswith("pqrnn-benchmark --models=a.tflite --buckets=16 ")
  assert short_run(export) == "pqrnn-export --output=a.tflite --portable --buckets=16,512"
  assert short_run(Command(1, "pqrnn-export --output=a.tflite")) == "pqrnn-export --output=a.tflite"


def test_a_rule_never_meets_a_compound_command():
  for text in ("pqrnn-train --model_dir=a && echo done", "pqrnn-train --model_dir=$HOME/a",
               "pqrnn-train --model_dir=a > log"):
    with pytest.raises(ValueError, match="README.md:3: cannot append"):
      short_run(Command(3, text))


def test_unclosed_blocks_and_commands_are_errors():
  with pytest.raises(ValueError, match="line 1: a ``` block is not closed"):
    shell_blocks("```sh\nmake demo\n")
  with pytest.raises(ValueError, match="line 2: the command does not end"):
    commands("```sh\npython -c 'print(1)\n```\n")


def test_every_rule_matches_a_readme_command():
  """A rule for a command the README no longer has is stale: drop it."""
  words = [c.words() for c in commands((ROOT / "README.md").read_text())]
  for words_of_exempt in EXEMPT:
    assert list(words_of_exempt) in words, f"no README command is {words_of_exempt}"
  for rule in SHORT_RUN:
    assert any(_matches(w, rule) for w in words), f"no README command matches {rule}"


# ----------------------------------------------------------------------- the run


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
  """(clone, log, exit status) of the README's commands run in a fresh clone."""
  directory = tmp_path_factory.mktemp("readme")
  clone = fresh_clone(directory)
  log = directory / "readme.log"
  status = run_script(clone, script(_runs((clone / "README.md").read_text())), log)
  return clone, log, status


def test_every_readme_command_runs(readme_run):
  clone, log, status = readme_run
  assert status == 0, _failure(log)
  ran = log.read_text(errors="replace").count("\n>>> README.md:")
  assert ran == len(_runs((clone / "README.md").read_text())) > 10


def test_a_readme_command_with_a_misspelled_flag_fails(readme_run):
  """The run above would catch a broken command: the README's first
  `--model_dir=` command with the flag misspelled stops the script, naming its
  line."""
  clone, _, _ = readme_run
  first = next(c for c in commands((clone / "README.md").read_text()) if "--model_dir=" in c.text)
  broken = Command(first.line, first.text.replace("--model_dir=", "--model_dri=", 1))
  log = clone.parent / "broken.log"
  text = "\n".join([". .venv/bin/activate", script([(broken, short_run(broken))])])
  status = run_script(clone, text, log)
  output = log.read_text(errors="replace")
  assert status == 1, output[-3000:]
  assert f"README.md:{first.line}: exit status " in output, output[-3000:]
  assert "flag 'model_dri'" in output, output[-3000:]
