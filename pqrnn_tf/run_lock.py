"""One training process at a time in a run directory (TF-free: pqrnn-train
and pqrnn-teacher both take it)."""
from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from pqrnn_tf.cli_errors import UserError

#: The file whose flock a training holds while it writes its run directory.
LOCK_FILE = "train.lock"


@contextlib.contextmanager
def run_lock(model_dir: str, tool: str, error: type[UserError] = UserError) -> Iterator[None]:
  """Holds `LOCK_FILE` in model_dir, or raises `error` if another process does."""
  with open(os.path.join(model_dir, LOCK_FILE), "a") as lock:
    try:
      fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      raise error(f"{model_dir} is in use by another {tool} (it holds {LOCK_FILE})") from None
    try:
      yield
    finally:
      fcntl.flock(lock, fcntl.LOCK_UN)
