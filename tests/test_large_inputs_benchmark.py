"""pqrnn_tf/benchmarks/large_inputs.py at a small size: every stage runs and is reported."""
import json
import os

from pqrnn_tf.benchmarks import large_inputs
from pqrnn_tf.data import teacher_logits
from pqrnn_tf.metrics import METRICS_FILE


def test_every_stage_is_measured_and_the_shards_hold_the_corpus(tmp_path):
  report_path = tmp_path / "report.json"
  large_inputs.main(["--sentences=300", f"--work_dir={tmp_path}", "--shard_size=70",
                     "--gold=60", f"--json={report_path}"])
  report = json.loads(report_path.read_text())
  assert set(report["stages"]) == {"predict", "teacher", "student"}
  for stage in report["stages"].values():
    assert stage["items"] == 300
    assert stage["seconds"] > 0 and stage["peak_mb"] > 10
    assert stage["items_per_s"] == stage["items"] / stage["seconds"]
  assert 0 < report["stages"]["predict"]["first_line_s"] <= report["stages"]["predict"]["seconds"]
  corpus = os.path.join(tmp_path, "corpus_300")
  with open(os.path.join(corpus, "texts.txt"), encoding="utf-8") as f:
    texts = f.read().splitlines()
  logits = teacher_logits.load_teacher_logits(os.path.join(corpus, "teacher_logits"))
  assert logits.texts.tolist() == texts  # Every sentence once, in order, over 5 shards.
  assert len(teacher_logits.shard_paths(os.path.join(corpus, "teacher_logits"))) == 5
  assert os.path.isfile(os.path.join(corpus, "student", METRICS_FILE))


def test_the_train_stage_trains_in_memory_on_the_gold_sentences(tmp_path):
  report_path = tmp_path / "report.json"
  large_inputs.main(["--sentences=200", f"--work_dir={tmp_path}", "--gold=150",
                     "--stages=train", f"--json={report_path}"])
  report = json.loads(report_path.read_text())
  assert set(report["stages"]) == {"train"}
  assert report["stages"]["train"]["items"] == 150 and report["stages"]["train"]["peak_mb"] > 10
  with open(os.path.join(tmp_path, "corpus_200", "train", METRICS_FILE), encoding="utf-8") as f:
    assert json.load(f)["best_epoch"] == 1
