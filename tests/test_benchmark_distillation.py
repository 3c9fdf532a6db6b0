"""pqrnn_tf/benchmarks/distillation.py's split and table (the benchmark itself is not run here)."""
from __future__ import annotations

import os

import pytest

from pqrnn_tf.benchmarks import distillation


def test_split_labeled_is_seeded_disjoint_and_in_file_order():
  train = list(range(100))
  labeled, unlabeled = distillation.split_labeled(train, 0.05, seed=0)
  assert len(labeled) == 5 and len(unlabeled) == 95
  assert sorted(labeled + unlabeled) == train and labeled == sorted(labeled)
  assert distillation.split_labeled(train, 0.05, seed=0) == (labeled, unlabeled)
  assert distillation.split_labeled(train, 0.05, seed=1)[0] != labeled
  assert distillation.split_labeled(train, 1.0, seed=0) == (train, [])
  for bad in (0.0, 1.5):
    with pytest.raises(ValueError, match="label_fraction"):
      distillation.split_labeled(train, bad, seed=0)


def _row(name, student, *accuracies, size=1000):
  return {"name": name, "student": student, "bytes": size, "seeds": list(range(len(accuracies))),
          "test": [{"intent_accuracy": a, "slot_f1": None, "exact_match": None}
                   for a in accuracies]}


def test_summary_gap_closed_and_share_of_teacher():
  rows = distillation.summarize([
      _row("teacher", None, 0.90, size=90_000),
      _row("alone", "alone", 0.70, 0.80),            # mean 75
      _row("distilled", "distilled", 0.85, 0.87)])   # mean 86
  teacher, alone, distilled = rows
  assert distillation.metric_keys(teacher["test"][0]) == ("intent_accuracy",)
  assert alone["mean"]["intent_accuracy"] == pytest.approx(75.0)
  assert alone["std"]["intent_accuracy"] == pytest.approx(5.0)
  assert "gap_closed" not in alone
  assert distilled["gap_closed"]["intent_accuracy"] == pytest.approx(100 * 11 / 15)
  assert distilled["of_teacher"]["intent_accuracy"] == pytest.approx(100 * 86 / 90)
  assert distilled["teacher_over_student_bytes"] == 90
  table = distillation.markdown(rows)
  assert "| distilled | 2 | 86.00 ± 1.00 | 95.6 | 73% | 1 KB | 90x |" in table


def test_every_training_setting_names_its_own_student_run():
  """A rerun with another budget or distillation setting trains anew, never
  resumes (or reuses) a run made with other settings."""
  from pqrnn_tf.train.distillation import DistillConfig  # pylint: disable=g-import-not-at-top
  d = DistillConfig()
  default = dict(epochs=20, patience=5, temperature=d.temperature, hard_weight=d.hard_weight,
                 teacher_scale=d.teacher_scale)
  changes = [dict(epochs=40), dict(patience=2), dict(temperature=4.0), dict(hard_weight=0.0),
             dict(teacher_scale=2.0), dict(shard_size=1000)]
  assert distillation.settings_suffix(**default) == ""
  suffixes = [distillation.settings_suffix(**(default | change)) for change in changes]
  assert len(set(suffixes)) == len(changes) and "" not in suffixes
  # The student alone has no distillation settings, but its budget counts.
  assert distillation.settings_suffix(**(default | dict(temperature=4.0)), distilled=False) == ""
  assert distillation.settings_suffix(**(default | dict(epochs=40)), distilled=False) != ""
  assert distillation.settings_suffix(**default, distilled=False, shard_size=1000) == ""


def test_each_augmentation_ablation_names_its_own_files():
  from pqrnn_tf.data.augment import AugmentConfig  # pylint: disable=g-import-not-at-top
  every = AugmentConfig().operations
  assert distillation.augment_suffix(every) == ""
  alone = {distillation.augment_suffix([op]) for op in every}
  assert len(alone) == len(every) and "" not in alone
  # The augmentation's size and what it varies name their own students too.
  others = {distillation.augment_suffix(every, multiplier=8),
            distillation.augment_suffix(every, source="texts"),
            distillation.augment_suffix(every, multiplier=8, source="texts")}
  assert len(others) == 3 and not others & (alone | {""})


def test_a_preset_file_names_its_runs_by_its_file_name():
  """--preset may be a JSON path (as for pqrnn-train): its runs and tables are
  named by the file's name, not nested under its directories."""
  assert distillation.preset_label("pqrnn_base") == "pqrnn_base"
  assert distillation.preset_label("runs/architecture/presets/state_256.json") == "state_256"
  assert distillation.preset_label("runs/presets/state_256") == "state_256"


def test_the_table_has_every_finished_seed_not_only_those_trained_now(tmp_path):
  """A run with --seeds=2 after seeds 0 and 1 finished tabulates all three:
  its table must not replace a 3-seed table with a 1-seed one."""
  work_dir = str(tmp_path)
  def finish(prefix, seed, int8_model=True):
    run = distillation.student_dir(work_dir, prefix, seed)
    os.makedirs(run)
    if int8_model:
      open(os.path.join(run, distillation.INT8_MODEL), "w").close()
  finish("distilled_pqrnn_base", 0)
  finish("distilled_pqrnn_base", 1)
  finish("distilled_pqrnn_base", 3, int8_model=False)  # Unfinished: not in the table.
  finish("distilled_T8_pqrnn_base", 5)                 # Other settings.
  finish("distilled_pqrnn_base_x", 6)                  # Another preset.
  assert distillation.table_seeds(work_dir, "distilled_pqrnn_base", [2]) == [0, 1, 2]
  assert distillation.table_seeds(work_dir, "alone_pqrnn_base", [2]) == [2]
  assert distillation.table_seeds(str(tmp_path / "new"), "alone_pqrnn_base", [1, 0]) == [0, 1]
