"""One error policy for the console scripts (pure Python, no TensorFlow).

A user error (a bad flag value, a missing or malformed file, a run directory
that holds another run) prints one line, `<program>: <problem>`, naming the
flag, file or line, and exits with status 2; no traceback. Anything else is a
failure of the tool: a traceback and status 1, as absl gives it.
"""
from __future__ import annotations

import os
import sys
import tempfile
from typing import Callable, NoReturn, Sequence

from absl import app, flags


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


def run(program: str, define_flags: Callable[[], None],
        main: Callable[[Sequence[str]], None]) -> None:
  """Defines the flags and runs `main` under absl, with the policy above."""
  define_flags()
  # --help lists the key flags of __main__, which for a console script is its
  # generated wrapper: register the tool's flags there too.
  for flag in flags.FLAGS.get_key_flags_for_module(define_flags.__module__):
    flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)

  def guarded(argv: Sequence[str]) -> None:
    try:
      main(argv)
    except USER_ERRORS as e:
      fail(program, e)

  app.run(guarded)
