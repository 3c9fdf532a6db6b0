"""pqrnn-benchmark refuses bad flags and files in one line before any timing.

Each case runs `python -m pqrnn_tf.benchmarks.cli` on the tiny model of
test_benchmark_cli with a small peak model: had it started measuring, the
peak model would be in --output_dir and "benchmarking" on stdout.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.test_benchmark_cli import tiny_model  # noqa: F401  (a fixture)
from tests.test_train_cli import REPO

FAST = ["--buckets=4,8", "--sentences_per_bucket=2", "--num_invokes=3", "--warmup=1",
        "--peak_shape=1,16,2", "--nothroughput", "--noaccuracy"]


def benchmark(*args) -> subprocess.CompletedProcess:
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
  return subprocess.run([sys.executable, "-m", "pqrnn_tf.benchmarks.cli", *FAST, *args], cwd=REPO,
                        env=env, capture_output=True, text=True, timeout=240, check=False)


def assert_refused_early(result, out, *words, status=2):
  lines = [l for l in result.stderr.splitlines() if l.strip()]
  assert result.returncode == status, (result.returncode, result.stderr[-3000:])
  assert "Traceback" not in result.stderr and "benchmarking" not in result.stdout
  assert all(w in lines[0] for w in words), lines
  if status == 2:
    assert len(lines) == 1, lines
  assert not os.path.exists(out) or not os.listdir(out)  # no peak model: nothing timed


@pytest.mark.parametrize("args, words", [
    (["--ratio_bucket=16"], ["--ratio_bucket", "16"]),
    (["--reference=nope"], ["--reference", "nope"]),
    (["--buckets=4,x"], ["--buckets"]),
    (["--buckets=4,1"], ["--buckets"]),
    (["--peak_shape=1,16"], ["--peak_shape"]),
    (["--teacher_deployments=nope"], ["--teacher_deployments", "nope"]),
    (["--targets=no/such/targets.json"], ["--targets=no/such/targets.json",
                                          "no such file"]),
], ids=["ratio_bucket", "reference", "buckets_int", "buckets_short", "peak_shape",
        "teacher_deployments", "targets"])
def test_bad_flags_are_refused_before_timing(tiny_model, tmp_path, args, words):  # noqa: F811
  out = tmp_path / "out"
  assert_refused_early(benchmark(f"--models={tiny_model}", f"--output_dir={out}",
                                 "--ratio_bucket=8", *args), out, *words)


@pytest.mark.parametrize("flag", ["--num_invokes=0", "--sentences_per_bucket=0",
                                  "--warmup=-1", "--throughput_batch=0"])
def test_numeric_flags_have_lower_bounds(tiny_model, tmp_path, flag):  # noqa: F811
  out = tmp_path / "out"
  result = benchmark(f"--models={tiny_model}", f"--output_dir={out}", "--ratio_bucket=8", flag)
  assert_refused_early(result, out, flag.split("=")[0])  # one line, exit 2 (cli_errors)


def test_missing_label_file_is_refused_before_timing(tiny_model, tmp_path):  # noqa: F811
  model = tmp_path / "copy.tflite"
  shutil.copy(tiny_model, model)
  out = tmp_path / "out"
  result = benchmark(f"--models={model}", f"--output_dir={out}", "--ratio_bucket=8",
                     "--accuracy")
  assert_refused_early(result, out, str(tmp_path / "copy.intents.txt"))


def test_unwritable_output_dir_is_refused_before_timing(tiny_model, tmp_path):  # noqa: F811
  (tmp_path / "a_file").write_text("")
  out = tmp_path / "a_file" / "out"
  result = benchmark(f"--models={tiny_model}", f"--output_dir={out}", "--ratio_bucket=8",
                     "--nopeak_int8")
  assert_refused_early(result, out, "--output_dir", str(out))


@pytest.mark.parametrize("command", [
    [os.path.join(os.path.dirname(sys.executable), "pqrnn-benchmark")],
    [sys.executable, "-m", "pqrnn_tf.benchmarks.cli"]], ids=["console_script", "module"])
def test_help_lists_the_flags(command):
  if not os.path.exists(command[0]):
    pytest.skip("pqrnn-benchmark is not installed")
  result = subprocess.run([*command, "--help"], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)
  for flag in ("--models", "--output_dir", "--ratio_bucket", "--reference", "--num_invokes"):
    assert flag in result.stdout + result.stderr, result.stdout + result.stderr


def test_an_interrupted_peak_model_conversion_leaves_no_model(tmp_path, monkeypatch):
  """The peak model is cached in --output_dir and reused as is: a conversion
  stopped halfway (Ctrl-C, kill) must not leave a file there."""
  from pqrnn_tf.benchmarks import cli, peak  # pylint: disable=g-import-not-at-top

  def interrupted(*args):
    raise KeyboardInterrupt
  monkeypatch.setattr(peak, "fc_int8_model", interrupted)
  with pytest.raises(KeyboardInterrupt):
    cli.measure_peak((1, 16, 2), cli.Settings(), str(tmp_path), str(tmp_path))
  assert os.listdir(tmp_path) == []
