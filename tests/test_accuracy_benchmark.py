"""pqrnn_tf.benchmarks.accuracy's run directories: a preset given as a JSON
file gets its own directory per data set, under --runs_dir, named by the
file's name (not beside the file, shared by every data set)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _finished_run(model_dir: str, accuracy: float) -> None:
  os.makedirs(model_dir)
  with open(os.path.join(model_dir, "metrics.json"), "w") as f:
    json.dump({"num_params": 10, "test": {"intent_accuracy": accuracy}, "best_epoch": 1}, f)


def test_a_json_preset_runs_per_data_set_under_runs_dir(tmp_path):
  preset = tmp_path / "presets" / "my_classifier.json"
  preset.parent.mkdir()
  preset.write_text(json.dumps({"model": "pqrnn"}))
  runs = tmp_path / "runs"
  _finished_run(os.path.join(runs, "atis_intents", "my_classifier_s0"), 0.9)
  _finished_run(os.path.join(runs, "multilingual_langid", "my_classifier_s0"), 0.8)
  subprocess.run([sys.executable, "-m", "pqrnn_tf.benchmarks.accuracy",
                  "--datasets=atis_intents,multilingual_langid", f"--models={preset}",
                  "--seeds=0", "--only_finished", f"--runs_dir={runs}",
                  f"--output_dir={tmp_path / 'out'}"],
                 cwd=ROOT, check=True, capture_output=True)
  with open(tmp_path / "out" / "accuracy.json") as f:
    tables = json.load(f)["datasets"]
  assert tables["atis_intents"]["my_classifier"]["intent_accuracy"]["mean"] == 90.0
  assert tables["multilingual_langid"]["my_classifier"]["intent_accuracy"]["mean"] == 80.0
  assert sorted(os.listdir(preset.parent)) == ["my_classifier.json"]
