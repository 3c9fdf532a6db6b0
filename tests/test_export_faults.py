"""pqrnn-export fails fast on bad flags and never leaves a damaged export.

A tiny run is trained in-process once; each case runs the CLI as a
subprocess (mostly the TensorFlow import; conversions are float, a few
seconds). Verification failures are forced by a driver that replaces
`verify.compare` before calling the CLI's `run()`.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from pqrnn_tf.data.examples import Example
from pqrnn_tf.train import trainer
from tests.file_snapshots import files_of
from tests.test_train_cli import REPO

TRAIN = [Example(f"flights to {w}", intent, ("O", "O", "B-city"))
         for intent in ("flight", "fare", "ground") for w in ("boston", "denver", "dallas")]
OLD = {"model": b"old model", "intents": "old\n", "slots": "O\nB-old\n", "report": "{}"}
# Replaces verify.compare (or, for MODE "dataset=FILE", registers a built-in
# data set "toy" whose splits are FILE), then runs pqrnn-export (argv after the script).
DRIVER = """
import sys
from pqrnn_tf.data import datasets, readers
from pqrnn_tf.export import cli, verify
MODE = sys.argv[1]
if MODE.startswith("dataset="):
  datasets.BUILTIN["toy"] = lambda split: readers.read_examples(MODE[len("dataset="):])
def compare(*args, **kwargs):
  if MODE == "raise":
    raise RuntimeError("verification crashed")
  return {"num_examples": 1, "intent_agreement": 0.5, "delta": {}}
if not MODE.startswith("dataset="):
  verify.compare = compare
sys.argv = ["pqrnn-export"] + sys.argv[2:]
cli.run()
"""


def write_jsonl(path, examples) -> str:
  with open(path, "w", encoding="utf-8") as f:
    for e in examples:
      f.write(json.dumps({"text": e.text, "label": e.intent, "tags": list(e.tags)}) + "\n")
  return str(path)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, trainable_config) -> str:
  """A tiny trained run whose data are JSONL files (no ATIS read)."""
  data = tmp_path_factory.mktemp("data")
  train, dev = write_jsonl(data / "train.jsonl", TRAIN), write_jsonl(data / "dev.jsonl", TRAIN[::2])
  model_dir = str(tmp_path_factory.mktemp("run"))
  config = trainer.make_config(trainable_config(), TRAIN, epochs=1, batch_size=8,
                               data={"train_file": train, "eval_file": dev})
  trainer.train(config, model_dir, TRAIN, TRAIN[::2], verbose=0)
  return model_dir


def env() -> dict:
  return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")


def export(*args, driver: str | None = None) -> subprocess.CompletedProcess:
  """Runs pqrnn-export (through DRIVER with `driver` as its mode, if given)."""
  cmd = ([sys.executable, "-c", DRIVER, driver] if driver
         else [sys.executable, "-m", "pqrnn_tf.export.cli"])
  return subprocess.run([*cmd, "--quantization=none", *args], cwd=REPO, env=env(),
                        capture_output=True, text=True, timeout=240, check=False)


def error_line(result: subprocess.CompletedProcess) -> str:
  """The one line a user error prints (asserts there is exactly one)."""
  lines = [l for l in result.stderr.splitlines() if l.strip() and not l.startswith(
      ("WARNING: All log messages", "I0000", "W0000", "E0000"))]
  assert result.returncode == 2 and len(lines) == 1, (result.returncode, result.stderr[-3000:])
  assert "Traceback" not in result.stderr
  return lines[0]


def broken_copy(run_dir: str, tmp_path) -> str:
  """`run_dir`'s config with no loadable model: any load fails."""
  broken = tmp_path / "broken_run"
  (broken / trainer.SAVED_MODEL_DIR).mkdir(parents=True)
  with open(os.path.join(run_dir, trainer.CONFIG_FILE), "rb") as f:
    (broken / trainer.CONFIG_FILE).write_bytes(f.read())
  return str(broken)


def write_old_export(path) -> None:
  path.write_bytes(OLD["model"])
  for key, name in (("intents", ".intents.txt"), ("slots", ".slots.txt"),
                    ("report", ".export.json")):
    path.with_name(path.stem + name).write_text(OLD[key])


def test_unwritable_output_is_refused_before_the_model_is_loaded(run_dir, tmp_path):
  (tmp_path / "a_file").write_text("")
  broken = broken_copy(run_dir, tmp_path)  # proves nothing is loaded first
  for output in (tmp_path / "a_file" / "out.tflite",  # a "directory" that is a file
                 tmp_path / "a_file" / "new" / "out.tflite",
                 "/proc/pqrnn_export/out.tflite"):  # not writable, even as root
    line = error_line(export(f"--model_dir={broken}", f"--output={output}"))
    assert "--output" in line and str(output) in line, line


def test_output_that_is_a_directory_is_refused(run_dir, tmp_path):
  (tmp_path / "out.tflite").mkdir()
  line = error_line(export(f"--model_dir={broken_copy(run_dir, tmp_path)}",
                           f"--output={tmp_path / 'out.tflite'}"))
  assert "--output" in line and "directory" in line, line


def test_output_that_is_a_file_of_the_run_is_refused(run_dir, tmp_path):
  run_dir = shutil.copytree(run_dir, tmp_path / "run")  # a failure must not harm the others
  before = files_of(run_dir)
  os.symlink(os.path.join(run_dir, trainer.CONFIG_FILE), tmp_path / "link.tflite")
  for output in (os.path.join(run_dir, trainer.CONFIG_FILE),
                 os.path.join(run_dir, "best", "..", trainer.TRAIN_TIME_FILE),
                 tmp_path / "link.tflite"):
    line = error_line(export(f"--model_dir={run_dir}", f"--output={output}"))
    assert "--output" in line and "--model_dir" in line, line
  assert files_of(run_dir) == before


def test_missing_model_dir_and_eval_file_are_one_line(run_dir, tmp_path):
  line = error_line(export(f"--model_dir={tmp_path / 'none'}",
                           f"--output={tmp_path / 'out.tflite'}"))
  assert "--model_dir" in line and str(tmp_path / "none") in line, line
  line = error_line(export(f"--model_dir={broken_copy(run_dir, tmp_path)}",
                           f"--output={tmp_path / 'out.tflite'}",
                           f"--eval_file={tmp_path / 'missing.jsonl'}"))
  assert str(tmp_path / "missing.jsonl") in line, line
  assert os.listdir(tmp_path) == ["broken_run"]


def test_bad_numeric_flags_are_refused_by_the_parser(run_dir, tmp_path):
  for flag in ("--min_agreement=1.5", "--num_calibration=0"):
    result = export(f"--model_dir={run_dir}", f"--output={tmp_path / 'out.tflite'}", flag)
    assert result.returncode != 0 and flag.split("=")[0] in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("flags,message", [
    (["--buckets=16,32"], "--buckets is for --portable"),
    (["--portable", "--buckets=16,x"], "--buckets=16,x"),
    (["--portable", "--buckets=0,512"], "--buckets=0,512"),
    # The run's projection keeps 512 tokens: a largest bucket of 32 would cut sentences.
    (["--portable", "--buckets=16,32"], "reach 512 rows"),
])
def test_bad_buckets_are_one_line(run_dir, tmp_path, flags, message):
  line = error_line(export(f"--model_dir={run_dir}", f"--output={tmp_path / 'out.tflite'}",
                           *flags))
  assert message in line, line
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("mode", ["refuse", "raise"])
def test_failed_verification_leaves_the_old_export(run_dir, tmp_path, mode):
  output = tmp_path / "out" / "model.tflite"
  output.parent.mkdir()
  write_old_export(output)
  before = files_of(output.parent)
  result = export(f"--model_dir={run_dir}", f"--output={output}", driver=mode)
  assert result.returncode != 0, result.stdout
  if mode == "refuse":
    assert "REFUSED" in result.stderr, result.stderr[-3000:]
  else:
    assert "verification crashed" in result.stderr
  assert files_of(output.parent) == before  # no temporary file, nothing replaced


def test_failed_verification_of_a_first_export_writes_nothing(run_dir, tmp_path):
  output = tmp_path / "model.tflite"
  result = export(f"--model_dir={run_dir}", f"--output={output}", driver="refuse")
  assert result.returncode != 0 and "REFUSED" in result.stderr, result.stderr[-3000:]
  assert os.listdir(tmp_path) == []


def test_export_replaces_an_old_export_whole(run_dir, tmp_path):
  output = tmp_path / "model.tflite"
  write_old_export(output)
  result = export(f"--model_dir={run_dir}", f"--output={output}")
  assert result.returncode == 0, result.stderr[-3000:]
  assert sorted(os.listdir(tmp_path)) == ["model.export.json", "model.intents.txt",
                                          "model.slots.txt", "model.tflite"]
  assert output.read_bytes()[4:8] == b"TFL3"
  config = trainer.TrainConfig.load(os.path.join(run_dir, trainer.CONFIG_FILE))
  assert (tmp_path / "model.intents.txt").read_text().split() == config.intent_labels
  assert (tmp_path / "model.slots.txt").read_text().split() == config.tag_labels
  report = json.loads((tmp_path / "model.export.json").read_text())
  assert report["verification"]["intent_agreement"] == 1.0
  # The labels also travel inside the model (TFLite Metadata).
  from pqrnn_tf.inference.metadata import read_labels  # pylint: disable=g-import-not-at-top
  intents, tags = read_labels(output)
  assert list(intents.labels) == config.intent_labels
  assert list(tags.labels) == config.tag_labels


def test_a_run_on_any_built_in_data_set_exports(tmp_path, trainable_config):
  """Calibration and verification data come from the run's --dataset, whichever it is."""
  data = write_jsonl(tmp_path / "toy.jsonl", TRAIN)
  model_dir = str(tmp_path / "run")
  config = trainer.make_config(trainable_config(), TRAIN, epochs=1, batch_size=8,
                               data={"dataset": "toy"})
  trainer.train(config, model_dir, TRAIN, TRAIN[::2], verbose=0)
  output = tmp_path / "model.tflite"
  result = export(f"--model_dir={model_dir}", f"--output={output}", driver=f"dataset={data}")
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads((tmp_path / "model.export.json").read_text())
  assert report["verification"]["num_examples"] == len(TRAIN)


@pytest.mark.parametrize("command", [
    [os.path.join(os.path.dirname(sys.executable), "pqrnn-export")],
    [sys.executable, "-m", "pqrnn_tf.export.cli"]], ids=["console_script", "module"])
def test_help_lists_the_flags(command):
  if not os.path.exists(command[0]):
    pytest.skip("pqrnn-export is not installed")
  result = subprocess.run([*command, "--help"], cwd=REPO, env=env(), capture_output=True,
                          text=True, timeout=120, check=False)
  for flag in ("--model_dir", "--output", "--quantization", "--min_agreement", "--qat"):
    assert flag in result.stdout + result.stderr, result.stdout + result.stderr
