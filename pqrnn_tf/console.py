"""Entry points of the console scripts (setup.py): a quiet start-up, then the tool.

TensorFlow 2.21 writes its C++ start-up lines (oneDNN, CUDA, CPU features:
`I0000 ...`) to stderr while it is imported, before absl's logging is set up,
so `TF_CPP_MIN_LOG_LEVEL` does not hide them (nor the CUDA errors it logs
when it first looks for a GPU). `launch` therefore imports and runs the tool
inside `cli_errors.quiet_native_logs`, which passes every other line on as it
comes; with `--verbosity` (any value) nothing is dropped. absl's INFO lines at run time are hidden by `cli_errors.run`. Nothing
here runs at import time (`python -m pqrnn_tf.train.cli` and the like skip
this module, and show TensorFlow's start-up lines).
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import sys
from typing import Sequence

from pqrnn_tf import cli_errors

#: Console script -> the module whose `run()` it calls.
TOOLS = {
    "pqrnn-train": "pqrnn_tf.train.cli",
    "pqrnn-eval": "pqrnn_tf.train.eval_cli",
    "pqrnn-export": "pqrnn_tf.export.cli",
    "pqrnn-teacher": "pqrnn_tf.teacher.cli",
    "pqrnn-augment": "pqrnn_tf.data.augment_cli",
    "pqrnn-benchmark": "pqrnn_tf.benchmarks.cli",
    "pqrnn-predict": "pqrnn_tf.inference.cli",
}

def asks_for_verbosity(argv: Sequence[str]) -> bool:
  """Whether the command line sets absl's --verbosity (or -v)."""
  return any(arg in ("-v", "--verbosity") or arg.startswith(("-v=", "--verbosity="))
             for arg in argv[1:])


def launch(program: str) -> None:
  """Runs the console script `program` (a key of TOOLS) on sys.argv."""
  quiet = (contextlib.nullcontext() if asks_for_verbosity(sys.argv)
           else cli_errors.quiet_native_logs())
  with quiet:
    importlib.import_module(TOOLS[program]).run()


# The entry points setup.py names (`pqrnn-train=pqrnn_tf.console:train`, ...).
train = functools.partial(launch, "pqrnn-train")
evaluate = functools.partial(launch, "pqrnn-eval")
export = functools.partial(launch, "pqrnn-export")
teacher = functools.partial(launch, "pqrnn-teacher")
augment = functools.partial(launch, "pqrnn-augment")
benchmark = functools.partial(launch, "pqrnn-benchmark")
predict = functools.partial(launch, "pqrnn-predict")


if __name__ == "__main__":  # python -m pqrnn_tf.console pqrnn-train --flags...
  launch(sys.argv.pop(1))
