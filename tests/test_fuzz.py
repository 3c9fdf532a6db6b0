"""Runs the libFuzzer targets in custom_ops/fuzz/ for a bounded time.

custom_ops/fuzz/run_fuzzers.sh builds projection_fuzzer, flexbuffers_fuzzer
and tflite_invoke_fuzzer with clang (ASan + UBSan) and runs each, in
parallel, for PQRNN_FUZZ_SECONDS seconds (default 20). Any crash, sanitizer
report or failed invariant fails this test; the script's output names the
reproducer. The test is skipped only when clang is missing and cannot be
installed (not root, or no apt-get); as root the script installs clang with
apt-get.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "custom_ops", "fuzz", "run_fuzzers.sh")
NO_CLANG = 3  # run_fuzzers.sh: no clang, and it cannot be installed (not root, no apt-get)

CLANG_NAMES = ("clang++",) + tuple(f"clang++-{v}" for v in range(19, 13, -1))


def _have_clang() -> bool:
  cxx = os.environ.get("CXX", "")
  return any(shutil.which(c) for c in ((cxx,) if "clang" in cxx else ()) + CLANG_NAMES)


def _seconds() -> int:
  value = os.environ.get("PQRNN_FUZZ_SECONDS", "20")
  try:
    seconds = int(value)
  except ValueError:
    pytest.fail(f"PQRNN_FUZZ_SECONDS must be a whole number of seconds, got {value!r}")
  if seconds < 1:
    pytest.fail(f"PQRNN_FUZZ_SECONDS must be >= 1, got {seconds}")
  return seconds


def test_fuzzers_find_nothing():
  if not _have_clang() and os.geteuid() != 0:
    pytest.skip("clang++ with libFuzzer is not installed and this is not root, so "
                "run_fuzzers.sh cannot apt-get install it; install clang to run "
                "the fuzzers")
  seconds = _seconds()
  # The fuzzers run in parallel; allow for building, installing clang and a
  # loaded machine.
  timeout = 2 * seconds + 900
  proc = subprocess.run(
      ["bash", SCRIPT, str(seconds)], cwd=ROOT, stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
  output = proc.stdout
  print(output)
  if proc.returncode == NO_CLANG:
    pytest.skip("clang could not be installed: " + output.strip().splitlines()[-1])
  assert proc.returncode == 0, (
      f"run_fuzzers.sh exited with {proc.returncode} "
      f"({'a finding' if proc.returncode == 1 else 'build/setup failure'}):\n"
      + output[-20000:])
