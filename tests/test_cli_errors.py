"""Every console script: a user error is one line on stderr naming it, exit status 2."""
import os
import subprocess
import sys

import pytest

MODULES = {
    "pqrnn-train": "pqrnn_tf.train.cli",
    "pqrnn-eval": "pqrnn_tf.train.eval_cli",
    "pqrnn-augment": "pqrnn_tf.data.augment_cli",
    "pqrnn-predict": "pqrnn_tf.inference.cli",
    "pqrnn-export": "pqrnn_tf.export.cli",
}


def run(program, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
  return subprocess.run([sys.executable, "-m", MODULES[program], *args], env=env,
                        capture_output=True, text=True, timeout=300)


def lines_of(stderr):
  """stderr without TensorFlow's and absl's start-up noise."""
  return [line for line in stderr.splitlines()
          if line.strip() and not line.startswith(("W0000", "I0000", "E0000", "WARNING:"))]


def missing_file_cases(tmp_path):
  missing = str(tmp_path / "missing.tsv")
  return {
      "pqrnn-train": ["--train_file=" + missing, "--eval_file=" + missing,
                      f"--model_dir={tmp_path / 'run'}"],
      "pqrnn-eval": [f"--model_dir={tmp_path / 'no_run'}", "--eval_file=" + missing],
      "pqrnn-augment": ["--train_file=" + missing, f"--output={tmp_path / 'out.jsonl'}"],
      "pqrnn-predict": [f"--model={tmp_path / 'missing.tflite'}", "hello"],
      "pqrnn-export": [f"--model_dir={tmp_path / 'no_run'}",
                       f"--output={tmp_path / 'model.tflite'}"],
  }


@pytest.mark.parametrize("program", sorted(MODULES))
def test_missing_file_is_one_line_and_exit_2(tmp_path, program):
  result = run(program, *missing_file_cases(tmp_path)[program])
  lines = lines_of(result.stderr)
  assert result.returncode == 2, result.stderr[-2000:]
  assert len(lines) == 1 and lines[0].startswith(program + ": "), result.stderr[-2000:]
  assert "missing" in lines[0] or "no_run" in lines[0], lines


def test_train_preset_typo_is_one_line_and_creates_no_run(tmp_path):
  preset = tmp_path / "bad.json"
  preset.write_text('{"model": "pqrnn", "bottleneck": {"units": 8}, "encoder": {"unitz": 8}}')
  result = run("pqrnn-train", "--dataset=atis", f"--preset={preset}",
               f"--model_dir={tmp_path / 'run'}")
  lines = lines_of(result.stderr)
  assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
  assert "encoder.unitz: unknown key" in lines[0]
  assert not (tmp_path / "run").exists()
