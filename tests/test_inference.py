"""pqrnn_tf.inference: token offsets, decoding, TflitePredictor and pqrnn-predict."""

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from pqrnn_tf import lite
from pqrnn_tf.data.tokens import Tokenization
from pqrnn_tf.export import converter
from pqrnn_tf.inference import (ModelError, TflitePredictor, TokenizationMismatchError,
                                labels as labels_lib, model_tokenization, to_predictions,
                                token_spans)
from tests.conftest import TEXTS
from tests.test_export import model  # noqa: F401  (the suite's tiny model)

INTENTS = [f"intent_{k}" for k in range(5)]
TAGS = ["O", "B-a", "I-a", "B-b", "I-b", "B-c", "I-c"]
MORE_TEXTS = list(TEXTS) + ["  leading and trailing  ", "tabs\tand\u00a0no-break\u3000spaces",
                      "Ünïcödé wörds ok", "   ", "x"]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


def write_labels(model_path, intents=INTENTS, tags=TAGS):
  paths = labels_lib.label_paths(str(model_path))
  with open(paths["intents"], "w", encoding="utf-8") as f:
    f.write("".join(f"{x}\n" for x in intents))
  if tags is not None:
    with open(paths["slots"], "w", encoding="utf-8") as f:
      f.write("".join(f"{x}\n" for x in tags))


@pytest.fixture(scope="module")
def model_path(model, tmp_path_factory):  # noqa: F811
  path = tmp_path_factory.mktemp("inference") / "tiny.tflite"
  path.write_bytes(converter.convert(model, "none"))
  write_labels(path)
  return str(path)


# --- token_spans -------------------------------------------------------------


@pytest.mark.parametrize("text", MORE_TEXTS + ["a\u2028b\u205fc\x85d"])
def test_token_spans_slice_the_original_text(text):
  spans = token_spans(text)
  assert all(0 <= s < e <= len(text) for s, e in spans)
  assert all(e1 < s2 for (_, e1), (s2, _) in zip(spans, spans[1:]))
  assert [text[s:e] for s, e in spans] == text.split()


def test_token_spans_do_not_split_on_information_separators():
  # str.split() also splits on U+001C..U+001F; the op (Unicode White_Space) does not.
  text = "a\x1cb c\x1fd"
  assert [text[s:e] for s, e in token_spans(text)] == ["a\x1cb", "c\x1fd"]


@pytest.mark.parametrize("attributes", [
    {"max_tokens": 0, "split_unsegmented_scripts": False},
    {"max_tokens": 3},
    {"separators": ",-", "add_bos": True, "add_eos": True},
])
def test_model_tokenization_matches_the_op(tmp_path, attributes):
  texts = MORE_TEXTS + ["a\u2028b\u205fc\x85d", "\x1cglued\x1f", "one,two-three four five",
                        "北京 to 東京へ"]
  flatbuffer = lite.projection_model(feature_size=8, **attributes)
  tokenization = model_tokenization(flatbuffer)
  assert {k: getattr(tokenization, k) for k in attributes} == attributes
  path = tmp_path / "projection.tflite"
  path.write_bytes(flatbuffer)
  runner = lite.load_interpreter(str(path)).get_signature_runner()
  lengths = runner(text=np.array([t.encode() for t in texts], dtype=object))["sequence_length"]
  extra = tokenization.add_bos + tokenization.add_eos
  assert lengths.tolist() == [len(token_spans(t, tokenization)) + extra for t in texts]


# --- to_predictions ------------------------------------------------------------


def one_hot_rows(tags, labels, probability):
  rows = np.full((len(tags), len(labels)), (1 - probability) / (len(labels) - 1))
  rows[np.arange(len(tags)), [labels.index(t) for t in tags]] = probability
  return rows


def test_decoder_spans_are_character_offsets_of_bio_chunks():
  text = "fly  to New   York  now Paris"
  tags = ["O", "O", "B-a", "I-a", "O", "I-b"]
  labels = ["O", "B-a", "I-a", "B-b", "I-b"]
  offsets = token_spans(text)
  rows = one_hot_rows(tags, labels, 0.6)
  rows[3] = one_hot_rows(["I-a"], labels, 0.9)[0]
  intent_probs = np.array([[0.1, 0.5, 0.4]])
  [p] = to_predictions([text], intent_probs, rows[None], [offsets], ["x", "y", "z"], labels,
                       top_k=2)
  assert (p.intent, p.intent_probability) == ("y", 0.5)
  assert p.top_k == (("y", 0.5), ("z", 0.4))
  assert [t.tag for t in p.tokens] == tags
  assert [t.text for t in p.tokens] == text.split()
  # "New   York" keeps the text between its tokens; an I- after O starts a chunk.
  assert [(s.type, s.text) for s in p.slots] == [("a", "New   York"), ("b", "Paris")]
  for slot in p.slots:
    assert text[slot.start:slot.end] == slot.text
  assert p.slots[0].score == pytest.approx(np.mean([0.6, 0.9]))
  json.dumps(p.to_dict())


def test_decoder_reads_only_each_texts_rows_and_ranks_ties_stably():
  labels = ["O", "B-a"]
  texts = ["a b c", "d"]
  rows = np.stack([one_hot_rows(["B-a", "O", "B-a"], labels, 0.8),
                   # Padding rows of the short text: must be ignored.
                   one_hot_rows(["O", "B-a", "B-a"], labels, 0.8)])
  preds = to_predictions(texts, np.full((2, 3), 1 / 3), rows,
                         [token_spans(t) for t in texts], ["p", "q", "r"], labels, top_k=10)
  assert [s.text for s in preds[0].slots] == ["a", "c"]
  assert preds[1].slots == () and [t.tag for t in preds[1].tokens] == ["O"]
  assert [label for label, _ in preds[0].top_k] == ["p", "q", "r"]


def test_decoder_without_slot_head_keeps_tokens():
  [p] = to_predictions(["hi there"], np.array([[0.3, 0.7]]), None, [token_spans("hi there")],
                       ["x", "y"], None)
  assert p.intent == "y" and p.slots == ()
  assert [(t.text, t.tag) for t in p.tokens] == [("hi", None), ("there", None)]


# --- TflitePredictor -----------------------------------------------------------


def raw_outputs(path, texts):
  runner = lite.load_interpreter(path).get_signature_runner()
  return runner(text=np.array([t.encode() for t in texts], dtype=object))


def assert_same_predictions(got, want):
  """Same labels and spans; probabilities equal up to float rounding."""
  assert len(got) == len(want)
  for g, w in zip(got, want):
    assert (g.text, g.intent, [t.tag for t in g.tokens]) == (
        w.text, w.intent, [t.tag for t in w.tokens])
    assert [(s.type, s.start, s.end) for s in g.slots] == [
        (s.type, s.start, s.end) for s in w.slots]
    assert g.intent_probability == pytest.approx(w.intent_probability, abs=1e-6)


def test_predictor_decodes_the_models_outputs(model_path):
  texts = [t for t in MORE_TEXTS if t.strip()]
  out = raw_outputs(model_path, texts)
  preds = TflitePredictor(model_path, top_k=2).predict(texts)
  for b, (text, p) in enumerate(zip(texts, preds)):
    assert p.intent == INTENTS[int(np.argmax(out["intent_probs"][b]))]
    assert p.intent_probability == pytest.approx(float(out["intent_probs"][b].max()))
    assert len(p.top_k) == 2 and p.top_k[0] == (p.intent, p.intent_probability)
    n = int(out["sequence_length"][b])
    assert [t.tag for t in p.tokens] == [TAGS[i] for i in out["slot_probs"][b, :n].argmax(-1)]
    assert [t.text for t in p.tokens] == text.split()
    for slot in p.slots:
      assert text[slot.start:slot.end] == slot.text


def test_batch_size_does_not_change_predictions(model_path):
  texts = MORE_TEXTS * 3
  assert_same_predictions(TflitePredictor(model_path, batch_size=1).predict(texts),
                          TflitePredictor(model_path, batch_size=7).predict(texts))


def test_texts_without_tokens_get_the_prior_and_no_slots(model_path):
  preds = TflitePredictor(model_path).predict(["", " \t\u3000 ", "hi", ""])
  for p in (preds[0], preds[1], preds[3]):
    assert p.intent in INTENTS and p.tokens == () and p.slots == ()
  # Nothing to read: every empty text gets the same distribution.
  assert preds[0].top_k == preds[1].top_k == preds[3].top_k
  assert preds[2].intent in INTENTS and len(preds[2].tokens) == 1
  assert TflitePredictor(model_path).predict([]) == []


def test_eight_threads_agree_with_one(model_path):
  predictor = TflitePredictor(model_path, batch_size=4)
  texts = MORE_TEXTS * 2
  want = predictor.predict(texts)
  results, errors = [], []

  def hammer():
    try:
      for _ in range(15):
        results.append(predictor.predict(texts))
    except Exception as e:  # pylint: disable=broad-except
      errors.append(e)

  threads = [threading.Thread(target=hammer) for _ in range(8)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  assert not errors
  assert len(results) == 8 * 15
  assert all(r == want for r in results)


def test_the_models_own_tokenization_places_the_slots(model_path):
  # The suite's model cuts CJK into characters (split_unsegmented_scripts).
  predictor = TflitePredictor(model_path)
  assert predictor.tokenization.split_unsegmented_scripts
  [p] = predictor.predict(["fly 北京"])
  assert [t.text for t in p.tokens] == ["fly", "北", "京"]


def test_rows_the_tokenization_does_not_explain_are_refused(model_path):
  predictor = TflitePredictor(model_path)
  # As if the model split on whitespace alone: it reads 2 rows, not 1.
  predictor.tokenization = Tokenization.words()
  with pytest.raises(TokenizationMismatchError, match="2 rows"):
    predictor.predict(["北京"])


def test_labels_must_fit_the_outputs(model_path, tmp_path):
  path = tmp_path / "copy.tflite"
  path.write_bytes(open(model_path, "rb").read())
  with pytest.raises(FileNotFoundError, match="intents.txt"):
    TflitePredictor(path)
  write_labels(path, intents=INTENTS[:4])
  with pytest.raises(ModelError, match="4 intent labels for 5"):
    TflitePredictor(path)
  write_labels(path, tags=TAGS[:-1] + ["X-bad"])
  with pytest.raises(ModelError, match="invalid slot tag"):
    TflitePredictor(path)


def test_bad_model_files(tmp_path):
  with pytest.raises(FileNotFoundError):
    TflitePredictor(tmp_path / "missing.tflite")
  bad = tmp_path / "bad.tflite"
  bad.write_bytes(b"not a flatbuffer" * 10)
  write_labels(bad)
  with pytest.raises(ModelError, match="bad.tflite"):
    TflitePredictor(bad)


# --- no TensorFlow, and the command line --------------------------------------

# Runs the CLI module as pqrnn-predict would, then reports whether TensorFlow
# was imported (atexit runs after absl's sys.exit).
CLI = ("import atexit, runpy, sys\n"
       "atexit.register(lambda: sys.stderr.write("
       "'TENSORFLOW_IMPORTED=%s\\n' % ('tensorflow' in sys.modules)))\n"
       "sys.argv[0] = 'pqrnn-predict'\n"
       "runpy.run_module('pqrnn_tf.inference.cli', run_name='__main__')\n")


def predict_cli(*args, stdin=None):
  proc = subprocess.run([sys.executable, "-c", CLI, *args], input=stdin, capture_output=True,
                        env=ENV, timeout=120)
  stderr = proc.stderr.decode()
  assert "TENSORFLOW_IMPORTED=False" in stderr, stderr
  stderr = "".join(line for line in stderr.splitlines(keepends=True)
                   if not line.startswith("TENSORFLOW_IMPORTED="))
  return proc.returncode, proc.stdout.decode(), stderr


def test_predictor_imports_no_tensorflow(model_path):
  code = ("import sys\n"
          "from pqrnn_tf.inference import TflitePredictor\n"
          f"p = TflitePredictor({model_path!r})\n"
          "print(p.predict(['book a flight', ''])[0].intent)\n"
          "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n")
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                        env=ENV, timeout=120)
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout.strip() in INTENTS


def test_cli_texts_as_arguments_print_json_lines(model_path):
  texts = ["book a flight to boston", "", "what is the fare"]
  rc, out, err = predict_cli(f"--model={model_path}", "--top_k=2", *texts)
  assert rc == 0, err
  lines = [json.loads(line) for line in out.splitlines()]
  want = TflitePredictor(model_path, top_k=2).predict(texts)
  assert [line["text"] for line in lines] == texts
  assert [line["intent"] for line in lines] == [p.intent for p in want]
  assert [len(line["top_k"]) for line in lines] == [len(p.top_k) for p in want]
  for line, p in zip(lines, want):
    assert [(s["type"], s["start"], s["end"], s["text"]) for s in line["slots"]] == [
        (s.type, s.start, s.end, s.text) for s in p.slots]
    assert [t["tag"] for t in line["tokens"]] == [t.tag for t in p.tokens]


def test_cli_input_file_splits_on_newline_only(model_path, tmp_path):
  path = tmp_path / "texts.txt"
  path.write_bytes("a flight\r\nto boston\n\nlast\u2028one\n".encode())
  rc, out, err = predict_cli(f"--model={model_path}", f"--input={path}", "--batch_size=2")
  assert rc == 0, err
  assert [json.loads(line)["text"] for line in out.splitlines()] == [
      "a flight\r", "to boston", "", "last\u2028one"]


def test_cli_stdin_and_table(model_path):
  rc, out, err = predict_cli(f"--model={model_path}", "--format=table",
                             stdin="book a flight\nhi\n".encode())
  assert rc == 0, err
  blocks = out.strip().split("\n\n")
  want = TflitePredictor(model_path).predict(["book a flight", "hi"])
  assert len(blocks) == 2
  for block, p in zip(blocks, want):
    assert block.startswith(f"text    {p.text!r}\nintent  {p.intent}  ")


@pytest.mark.parametrize("content", [None, b"\x00garbage" * 50])
def test_cli_missing_or_corrupt_model_exits_2_with_one_line(tmp_path, content):
  path = tmp_path / "model.tflite"
  if content is not None:
    path.write_bytes(content)
    write_labels(path)
  rc, out, err = predict_cli(f"--model={path}", "hello")
  assert rc == 2 and out == ""
  assert len(err.strip().splitlines()) == 1, err
  assert err.startswith(f"pqrnn-predict: {path}: ")


def test_console_script_is_installed(model_path):
  script = os.path.join(os.path.dirname(sys.executable), "pqrnn-predict")
  proc = subprocess.run([script, f"--model={model_path}", "hi there"], capture_output=True,
                        text=True, env=ENV, timeout=120)
  assert proc.returncode == 0, proc.stderr
  assert json.loads(proc.stdout)["intent"] in INTENTS


def test_tokens_past_the_models_limit_are_not_returned(model_path):
  predictor = TflitePredictor(model_path)
  limit = predictor.tokenization.max_tokens
  words = [f"w{k}" for k in range((limit or 600) + 5)]
  [p] = predictor.predict([" ".join(words)])
  assert [t.text for t in p.tokens] == (words[:limit] if limit else words)


# --- one decoder, one scorer ---------------------------------------------------


def test_keras_tflite_and_teacher_paths_decode_and_score_alike(model, model_path):  # noqa: F811
  """The Keras model and its float export, decoded by their predictors, give
  the same labels and identical scores; a teacher fed the export's outputs
  (as logits) through TeacherModelPredictor scores identically too."""
  from pqrnn_tf import metrics
  from pqrnn_tf.data.examples import Example, LabelVocab
  from pqrnn_tf.keras_predictor import KerasPredictor
  from pqrnn_tf.teacher.model_predictor import TeacherModelPredictor
  from pqrnn_tf.teacher.predictor import TeacherPredictor

  texts = [t for t in MORE_TEXTS if t.split()]
  examples = [Example(" ".join(t.split()), INTENTS[i % 5], ("O",) * len(t.split()))
              for i, t in enumerate(texts)]
  normalized = [e.text for e in examples]
  tflite = TflitePredictor(model_path)
  keras_labels = KerasPredictor(model, LabelVocab(INTENTS), LabelVocab(TAGS, fallback="O")
                                ).predict_labels(normalized)
  tflite_labels = tflite.predict_labels(normalized)
  assert keras_labels == tflite_labels

  class ReplayTeacher(TeacherPredictor):
    """A teacher whose logits are the export's log-probabilities."""

    def __init__(self):  # pylint: disable=super-init-not-called
      self.intent_labels, self.tag_labels = INTENTS, TAGS

    def predict_batch(self, batch):
      out = tflite._invoke(list(batch))  # pylint: disable=protected-access
      slots = [np.log(out["slot_probs"][i, :n]) for i, n in enumerate(out["sequence_length"])]
      return np.log(out["intent_probs"]), slots, None

  teacher_labels = TeacherModelPredictor(ReplayTeacher()).predict_labels(normalized)
  assert teacher_labels == tflite_labels
  scores = [metrics.score_examples(examples, *labels)
            for labels in (keras_labels, tflite_labels, teacher_labels)]
  assert scores[0] == scores[1] == scores[2] and "slot_f1" in scores[0]
