"""pqrnn-teacher on a tiny randomly initialized BERT (no 90 MB checkpoint needed)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from pqrnn_tf.data.examples import Example
from pqrnn_tf.teacher import export as export_lib
from pqrnn_tf.teacher import logits as logits_lib
from pqrnn_tf.data import teacher_logits
from pqrnn_tf.metrics import HEADLINE_METRICS, METRICS_FILE
from pqrnn_tf.teacher import model as model_lib
from pqrnn_tf.teacher import predictor as predictor_lib
from pqrnn_tf.teacher import train as train_lib

CITIES = [("boston", ()), ("denver", ()), ("new", ("york",)), ("dallas", ())]
# "flights" is not in the vocabulary: it splits into "flight" + "##s".
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "book", "flight", "##s", "from", "to",
         "what", "is", "the", "fare", "show", "me", "boston", "denver", "new", "york", "dallas",
         "bo", "##st", "##on"]


def make_examples(n: int, offset: int = 0) -> list[Example]:
  """Synthetic flight/airfare utterances with BIO city tags."""
  out = []
  for k in range(offset, offset + n):
    (a, a_rest), (b, b_rest) = CITIES[k % 4], CITIES[(k // 4 + 1 + k) % 4]
    src, dst = [a, *a_rest], [b, *b_rest]
    src_tags = ["B-fromloc"] + ["I-fromloc"] * len(a_rest)
    dst_tags = ["B-toloc"] + ["I-toloc"] * len(b_rest)
    if k % 2:
      words = ["book", "flights", "from", *src, "to", *dst]
      tags = ["O", "O", "O", *src_tags, "O", *dst_tags]
      intent = "flight"
    else:
      words = ["what", "is", "the", "fare", "to", *dst]
      tags = ["O", "O", "O", "O", "O", *dst_tags]
      intent = "airfare"
    out.append(Example(" ".join(words), intent, tuple(tags)))
  return out


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> str:
  """A randomly initialized 2-layer BERT with a 24-word vocabulary, saved like a checkpoint."""
  from transformers import BertConfig, BertModel, BertTokenizer
  d = str(tmp_path_factory.mktemp("tiny_bert"))
  with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
    f.write("\n".join(VOCAB) + "\n")
  BertTokenizer(vocab={w: i for i, w in enumerate(VOCAB)}, do_lower_case=True,
                model_max_length=64).save_pretrained(d)
  torch.manual_seed(0)
  config = BertConfig(vocab_size=len(VOCAB), hidden_size=64, num_hidden_layers=2,
                      num_attention_heads=2, intermediate_size=128, max_position_embeddings=64)
  BertModel(config).save_pretrained(d)
  return d


@pytest.fixture(scope="module")
def trained(tiny_bert, tmp_path_factory) -> str:
  """A teacher run dir: 2 epochs on 48 examples."""
  model_dir = str(tmp_path_factory.mktemp("teacher_run"))
  config = train_lib.TeacherConfig(pretrained=tiny_bert, epochs=2, min_steps=0,
                                   learning_rate=1e-3, batch_size=16, num_threads=1,
                                   data={"eval_file": "<in memory>"})
  summary = train_lib.train(config, model_dir, make_examples(48), make_examples(16, 100),
                            log=lambda s: None)
  train_lib.evaluate_and_save(model_dir, {"dev": make_examples(16, 100)}, summary,
                              num_threads=1)
  return model_dir


def test_first_subword_alignment(tiny_bert):
  tokenizer = model_lib.load_tokenizer(tiny_bert)
  batch = model_lib.encode(tokenizer, ["book flights to boston", "show me"], max_length=64)
  # [CLS] book flight ##s to boston [SEP]
  assert batch.first_subword[0].tolist() == [1, 2, 4, 5]
  assert batch.first_subword[1].tolist() == [1, 2]
  assert batch.attention_mask.tolist()[1] == [1, 1, 1, 1, 0, 0, 0]
  targets = model_lib.subword_tag_ids(batch, [[7, 8, 9, 10], [11, 12]])
  ignore = model_lib.IGNORE_INDEX
  assert targets.tolist() == [[ignore, 7, 8, ignore, 9, 10, ignore],
                              [ignore, 11, 12, ignore, ignore, ignore, ignore]]
  logits = np.arange(2 * 7 * 3, dtype=np.float32).reshape(2, 7, 3)
  words = model_lib.gather_words(batch, logits)
  np.testing.assert_array_equal(words[0], logits[0, [1, 2, 4, 5]])


def test_truncated_words_get_zero_logits(tiny_bert):
  tokenizer = model_lib.load_tokenizer(tiny_bert)
  # max 5 sub-words incl. [CLS]/[SEP]: "book flight ##s" fit, "to boston" don't.
  batch = model_lib.encode(tokenizer, ["book flights to boston"], max_length=5)
  assert batch.first_subword[0].tolist() == [1, 2, -1, -1]
  assert batch.num_uncovered_words == 2
  words = model_lib.gather_words(batch, np.ones((1, 5, 3), np.float32))
  np.testing.assert_array_equal(words[0][2:], 0.0)
  np.testing.assert_array_equal(words[0][:2], 1.0)


def test_train_writes_files(trained):
  for name in ("config.json", "history.json", METRICS_FILE, "model/labels.json",
               "model/heads.safetensors", "model/encoder/config.json",
               "model/encoder/tokenizer_config.json"):
    assert os.path.isfile(os.path.join(trained, name)), name
  with open(os.path.join(trained, METRICS_FILE)) as f:
    metrics = json.load(f)
  assert metrics["best_epoch"] in (1, 2)
  for key in HEADLINE_METRICS:
    assert 0.0 <= metrics["dev"][key] <= 1.0
  with open(os.path.join(trained, "model", "labels.json")) as f:
    labels = json.load(f)
  assert labels["intent_labels"] == ["airfare", "flight"]
  assert labels["tag_labels"][0] == "O"


@pytest.mark.parametrize("examples, min_steps, expected", [
    (4478, 1200, (140, 10)),   # Full ATIS: one pass a round, as without min_steps.
    (224, 1200, (120, 10)),    # 5% of it: 17 passes a round, 1200 steps in all.
    (224, 0, (7, 10)),
    (1, 5, (1, 10)),
])
def test_step_budget(examples, min_steps, expected):
  config = train_lib.TeacherConfig(pretrained="unused", min_steps=min_steps)
  assert config.steps(examples) == expected


def test_small_data_gets_min_steps_and_stops_early(tiny_bert, tmp_path):
  # 8 examples, batch 4: 2 steps a pass; min_steps=12 makes each of 3 rounds 4 steps.
  config = train_lib.TeacherConfig(pretrained=tiny_bert, epochs=3, min_steps=12,
                                   patience=1, learning_rate=1e-3, batch_size=4,
                                   num_threads=1)
  dev = make_examples(4, 100)
  summary = train_lib.train(config, str(tmp_path), make_examples(8), dev, log=lambda s: None)
  with open(tmp_path / "history.json") as f:
    history = json.load(f)["history"]
  assert [h["steps"] for h in history] == [4 * (i + 1) for i in range(len(history))]
  # patience=1: the run stops one round after its last dev gain.
  assert len(history) == min(3, summary["best_epoch"] + 1) == summary["rounds"]
  assert summary["steps"] == 4 * summary["rounds"]


def test_predictor_shapes(trained):
  p = predictor_lib.load_torch(trained, num_threads=1)
  intent, slots = p.predict(["book flights from new york to boston", "show me"])
  assert intent.shape == (2, 2) and intent.dtype == np.float32
  assert [s.shape for s in slots] == [(7, len(p.tag_labels)), (2, len(p.tag_labels))]


def test_logits_round_trip(trained, tmp_path):
  texts = [e.text for e in make_examples(5, 200)] + ["show me"]
  path = str(tmp_path / "logits.npz")
  meta = logits_lib.write_logits(trained, texts, path, source="test", num_threads=1)
  t = teacher_logits.load_teacher_logits(path)
  assert t.texts.tolist() == texts
  assert t.meta["format_version"] == 1 and t.meta["source"] == "test"
  assert t.meta["metrics"]["dev"]["num_examples"] == 16
  assert meta["num_tokens"] == sum(len(x.split()) for x in texts) == t.slot_logits.shape[0]
  p = predictor_lib.load_torch(trained, num_threads=1)
  intent, slots = p.predict(texts)
  np.testing.assert_allclose(t.intent_logits, intent, atol=1e-5)
  for i, s in enumerate(slots):
    np.testing.assert_allclose(t.slot_logits_of(i), s, atol=1e-5)
  assert t.intent_labels.tolist() == p.intent_labels


def _arrays(**overrides) -> dict:
  arrays = teacher_logits.make_arrays(
      ["a b", "c"], ["x", "y"], ["O", "B-t", "I-t"], np.zeros((2, 2), np.float32),
      [np.zeros((2, 3), np.float32), np.ones((1, 3), np.float32)], {"teacher": "t"})
  arrays.update(overrides)
  return arrays


@pytest.mark.parametrize("overrides, message", [
    ({"token_offsets": np.array([0, 1, 3], np.int64)}, "gives text 0 1 rows"),
    ({"token_offsets": np.array([1, 3, 4], np.int64)}, "must start at 0"),
    ({"token_offsets": np.array([0, 2, 3], np.int32)}, "must be int64"),
    ({"token_offsets": np.array([0, 3], np.int64)}, "expected (N + 1 = 3,)"),
    ({"slot_logits": np.zeros((4, 3), np.float32)}, "expected (T=3"),
    ({"slot_logits": np.zeros((3, 2), np.float32)}, "S=3 tag labels"),
    ({"intent_logits": np.zeros((2, 3), np.float32)}, "'intent_logits' has shape (2, 3)"),
    ({"intent_logits": np.zeros((2, 2), np.float64)}, "must be float32"),
    ({"intent_logits": np.full((2, 2), np.nan, np.float32)}, "NaN"),
    ({"texts": np.array([b"a b", b"c"])}, "unicode"),
    ({"tag_labels": np.array(["O", "O", "I-t"])}, "duplicates"),
    ({"meta": np.array('{"format_version": 2}')}, "format_version 2"),
    ({"meta": np.array("not json")}, "not valid JSON"),
    ({"extra": np.zeros(1)}, "unknown key"),
])
def test_validation_errors(tmp_path, overrides, message):
  path = str(tmp_path / "bad.npz")
  np.savez(path, **_arrays(**overrides))
  with pytest.raises(ValueError) as e:
    teacher_logits.load_teacher_logits(path)
  assert path in str(e.value) and message in str(e.value)


def test_validation_missing_key_and_not_npz(tmp_path):
  arrays = _arrays()
  del arrays["meta"]
  path = str(tmp_path / "missing.npz")
  np.savez(path, **arrays)
  with pytest.raises(ValueError, match="missing key.*meta"):
    teacher_logits.load_teacher_logits(path)
  junk = tmp_path / "junk.npz"
  junk.write_text("hello")
  with pytest.raises(ValueError, match="junk.npz: not a readable .npz"):
    teacher_logits.load_teacher_logits(str(junk))


def test_save_and_load_without_torch_types(tmp_path):
  path = str(tmp_path / "ok.npz")
  teacher_logits.save_teacher_logits(
      path, ["a b", "c"], ["x", "y"], ["O", "B-t"], np.zeros((2, 2)),
      [np.zeros((2, 2)), np.ones((1, 2))], {"teacher": "t"})
  t = teacher_logits.load_teacher_logits(path)
  assert t.token_offsets.tolist() == [0, 2, 3] and t.slot_logits.dtype == np.float32
  assert t.slot_logits_of(1).tolist() == [[1.0, 1.0]] and t.index() == {"a b": 0, "c": 1}


def test_onnx_export_agrees(trained, tmp_path):
  out = str(tmp_path / "onnx")
  report = export_lib.export(trained, out, num_threads=1, examples=make_examples(16, 100))
  assert report["onnx_fp32"]["intent_agreement"] == 1.0
  assert report["onnx_fp32"]["max_abs_intent_logit_diff"] < 1e-4
  assert report["onnx_fp32"]["max_abs_slot_logit_diff"] < 1e-4
  assert report["onnx_int8"]["intent_agreement"] >= 0.9
  assert os.path.isfile(os.path.join(out, "report.json"))
  # The export directory is self-contained; dynamic batch and sequence axes.
  p = predictor_lib.load_onnx(os.path.join(out, export_lib.FP32_FILE), num_threads=1)
  ref = predictor_lib.load_torch(trained, num_threads=1)
  texts = ["book flights from new york to denver to boston to dallas", "show me", "fare"]
  (intent, slots), (ref_intent, ref_slots) = p.predict(texts), ref.predict(texts)
  np.testing.assert_allclose(intent, ref_intent, atol=1e-4)
  for a, b in zip(slots, ref_slots):
    np.testing.assert_allclose(a, b, atol=1e-4)
  # The ONNX deployment loads neither torch nor transformers (nor TensorFlow).
  code = ("import sys; from pqrnn_tf.teacher.predictor import load_onnx; "
          f"p = load_onnx({os.path.join(out, export_lib.INT8_FILE)!r}); p.predict(['show me']); "
          "print(sorted(m for m in ('torch', 'transformers', 'tensorflow') if m in sys.modules))")
  r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
  assert r.returncode == 0, r.stderr
  assert r.stdout.strip() == "[]"


def test_cli_user_errors_are_messages(trained, tmp_path):
  run = lambda *args: subprocess.run(  # noqa: E731
      [sys.executable, "-m", "pqrnn_tf.teacher.cli", *args], capture_output=True, text=True,
      timeout=120)
  r = run("logits", f"--model_dir={trained}", f"--input={tmp_path}/none.tsv",
          f"--output={tmp_path}/x.npz")
  assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr
  r = run("logits", f"--model_dir={tmp_path}/no_run", "--dataset=atis", "--split=dev",
          f"--output={tmp_path}/x.npz")
  assert r.returncode == 2 and "run `pqrnn-teacher train` first" in r.stderr
  assert "Traceback" not in r.stderr
  r = run("frobnicate", f"--model_dir={trained}")
  assert r.returncode != 0 and "train | logits | export" in r.stderr


def test_training_into_a_run_directory_in_use_is_refused(trained, tiny_bert):
  """Two trainings in one directory would overwrite each other's model; the
  second is refused before it writes anything (like pqrnn-train)."""
  import fcntl  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.cli_errors import UserError  # pylint: disable=g-import-not-at-top
  from tests.file_snapshots import files_of  # pylint: disable=g-import-not-at-top
  config = train_lib.TeacherConfig(pretrained=tiny_bert, epochs=1, min_steps=0,
                                   batch_size=16, num_threads=1)
  with open(os.path.join(trained, "train.lock"), "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # Another process's training.
    before = files_of(trained)
    try:
      with pytest.raises(UserError, match="in use"):
        train_lib.train(config, trained, make_examples(8), [], log=lambda s: None)
    finally:
      fcntl.flock(lock, fcntl.LOCK_UN)
  assert files_of(trained) == before
