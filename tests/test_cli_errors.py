"""Special cases of the error policy (tests/test_cli_convention.py has the
missing file, malformed line and unknown flag value of every console script)."""
import os
import subprocess
import sys


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


def test_train_preset_typo_is_one_line_and_creates_no_run(tmp_path):
  preset = tmp_path / "bad.json"
  preset.write_text('{"model": "pqrnn", "bottleneck": {"units": 8}, "encoder": {"unitz": 8}}')
  result = run("pqrnn-train", "--dataset=atis", f"--preset={preset}",
               f"--model_dir={tmp_path / 'run'}")
  lines = lines_of(result.stderr)
  assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
  assert "encoder.unitz: unknown key" in lines[0]
  assert not (tmp_path / "run").exists()
