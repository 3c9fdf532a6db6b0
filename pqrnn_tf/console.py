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
    "pqrnn-benchmark": "benchmarks.cli",
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


def train() -> None:
  launch("pqrnn-train")


def evaluate() -> None:
  launch("pqrnn-eval")


def export() -> None:
  launch("pqrnn-export")


def teacher() -> None:
  launch("pqrnn-teacher")


def augment() -> None:
  launch("pqrnn-augment")


def benchmark() -> None:
  launch("pqrnn-benchmark")


def predict() -> None:
  launch("pqrnn-predict")


if __name__ == "__main__":  # python -m pqrnn_tf.console pqrnn-train --flags...
  launch(sys.argv.pop(1))
