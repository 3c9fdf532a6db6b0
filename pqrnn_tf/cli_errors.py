"""One error policy for the console scripts (pure Python, no TensorFlow).

A user error (a bad flag value, a missing or malformed file, a run directory
that holds another run) prints one line, `<program>: <problem>`, naming the
flag, file or line, and exits with status 2; no traceback. Anything else is a
failure of the tool: a traceback and status 1, as absl gives it.

Logging: absl's INFO lines (TensorFlow's Python side logs through absl, e.g.
`functional_saver.py ... Sharding callback duration` at every checkpoint) are
hidden unless `--verbosity` is given (`--verbosity=0`: INFO, 1: DEBUG).
TensorFlow's C++ start-up lines are dropped by `quiet_native_logs` (see
`pqrnn_tf.console`).
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from typing import Callable, Iterator, NoReturn, Sequence

from absl import app, flags, logging


class UserError(ValueError):
  """A problem with what the user gave; the message names the flag, file or line."""


#: Exceptions that are the user's input, not a bug: reported in one line.
USER_ERRORS = (UserError, app.UsageError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
               PermissionError, UnicodeDecodeError)


def fail(program: str, problem: str | BaseException) -> NoReturn:
  """Prints `<program>: <problem>` (its first line) to stderr; exits with status 2."""
  text = str(problem).strip()
  if isinstance(problem, OSError) and problem.filename and problem.strerror:
    text = f"{problem.filename}: {problem.strerror.lower()}"
  print(f"{program}: {text.splitlines()[0] if text else type(problem).__name__}",
        file=sys.stderr)
  sys.exit(2)


def same_file(a: str, b: str) -> bool:
  """Whether paths `a` and `b` name one file: other spellings, symlinks, hard links."""
  if os.path.realpath(a) == os.path.realpath(b):
    return True
  return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)


def check_writable(directory: str, flag: str) -> None:
  """Creates `directory` if needed and checks a file can be written there;
  a UserError naming `flag` (e.g. "--output=x.tflite") if not. For checks
  before minutes of work."""
  try:
    os.makedirs(directory, exist_ok=True)
    with tempfile.TemporaryFile(dir=directory):
      pass
  except OSError as e:
    raise UserError(f"{flag}: cannot write to {directory} ({e.strerror or e})") from None


#: TensorFlow's and LiteRT's native INFO lines, written before absl's logging
#: is set up (so `TF_CPP_MIN_LOG_LEVEL` does not hide them), and TensorFlow's
#: CUDA start-up errors on a machine without a GPU (it runs on the CPU then).
NATIVE_INFO_LINE = re.compile(
    r"^(I\d{4} [\d:.]+ +\d+ \S+:\d+\] |E\d{4} [\d:.]+ +\d+ cuda_\w+\.cc:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\)|INFO: "
    r"|To enable the following instructions: )")


#: The process's own stderr descriptors, saved by `quiet_native_logs` blocks.
_real_stderr: list[int] = []


def real_stderr_fd() -> int:
  """The descriptor of the process's own stderr, also while a
  `quiet_native_logs` block has descriptor 2 in its pipe (which passes only
  whole lines on): for output such as progress on a terminal."""
  return _real_stderr[-1] if _real_stderr else 2


@contextlib.contextmanager
def quiet_native_logs() -> Iterator[None]:
  """Drops the native runtimes' start-up lines (`NATIVE_INFO_LINE`) from
  stderr while the block runs (importing TensorFlow, loading a model, or a
  whole console script: see `pqrnn_tf.console`).

  The C++ code writes to file descriptor 2, so that descriptor goes into a
  pipe; a thread passes every other line on to the real stderr as it comes.
  """
  sys.stderr.flush()
  saved = os.dup(2)
  _real_stderr.append(real_stderr_fd() if _real_stderr else saved)  # Nested: the outer's.
  read_end, write_end = os.pipe()
  os.dup2(write_end, 2)
  os.close(write_end)

  # Duplicated here, not in the thread: a block that ends at once (e.g. a
  # missing file) closes `saved` before the thread would get to it.
  out_fd = os.dup(saved)

  def pass_on() -> None:
    with os.fdopen(read_end, "rb") as pipe, os.fdopen(out_fd, "wb", 0) as out:
      for line in pipe:
        if not NATIVE_INFO_LINE.match(line.decode("utf-8", "replace")):
          out.write(line)

  thread = threading.Thread(target=pass_on, name="quiet_native_logs", daemon=True)
  thread.start()
  try:
    yield
  finally:
    sys.stderr.flush()
    os.dup2(saved, 2)  # Closes the pipe's last write end: the thread sees its end.
    _real_stderr.pop()
    os.close(saved)
    thread.join()


def _parse_flags(program: str) -> Callable[[list[str]], list[str]]:
  """absl's flag parsing, with a bad flag or flag value as a user error."""

  def parse(argv: list[str]) -> list[str]:
    try:
      return flags.FLAGS(argv)
    except flags.Error as e:
      fail(program, e)

  return parse


def run(program: str, define_flags: Callable[[], None],
        main: Callable[[Sequence[str]], None]) -> None:
  """Defines the flags and runs `main` under absl, with the policy above."""
  define_flags()
  # --help lists the key flags of __main__, which for a console script is its
  # generated wrapper: register the tool's flags there too.
  for flag in flags.FLAGS.get_key_flags_for_module(define_flags.__module__):
    flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)

  def guarded(argv: Sequence[str]) -> None:
    if not flags.FLAGS["verbosity"].present:
      logging.set_verbosity(logging.WARNING)
    try:
      main(argv)
    except USER_ERRORS as e:
      fail(program, e)

  app.run(guarded, flags_parser=_parse_flags(program))
