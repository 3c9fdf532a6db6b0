"""The text classifiers a user tries first: TF-IDF + logistic regression, and fastText.

Both classify the intent (label) of an Example from its text alone. Each picks its
one setting on the dev split (never on test) and returns dev and test accuracy:

- ``tfidf_logreg``: scikit-learn TF-IDF of word 1-2-grams and character 2-4-grams
  (within word boundaries, lowercased, sublinear tf), concatenated; multinomial
  logistic regression; C in :data:`TFIDF_C` chosen on dev.
- ``fasttext``: PyPI ``fasttext-numpy2`` (the ``fasttext`` bindings with NumPy 2
  fixes, a prebuilt wheel); the better on dev of word unigrams + bigrams and
  character 2-4-grams (:data:`FASTTEXT_SETTINGS`), 25 epochs, lr 0.5, one thread.
"""
from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence

import numpy as np

from pqrnn_tf.data.examples import Example

TFIDF_C = (1.0, 10.0, 100.0)
FASTTEXT_SETTINGS = {
    "words 1-2": {"wordNgrams": 2},
    "char 2-4": {"wordNgrams": 1, "minn": 2, "maxn": 4},
}
BASELINES = ("tfidf_logreg", "fasttext")


def _accuracy(predicted: Sequence[str], examples: Sequence[Example]) -> float:
  return float(np.mean([p == e.intent for p, e in zip(predicted, examples)]))


def tfidf_logreg(train: Sequence[Example], dev: Sequence[Example],
                 test: Sequence[Example], seed: int = 0) -> dict:
  """Dev-tuned TF-IDF + logistic regression: {dev, test accuracy, setting, seconds}."""
  from sklearn.feature_extraction.text import TfidfVectorizer  # pylint: disable=g-import-not-at-top
  from sklearn.linear_model import LogisticRegression  # pylint: disable=g-import-not-at-top
  from sklearn.pipeline import make_pipeline, make_union  # pylint: disable=g-import-not-at-top
  start = time.perf_counter()
  texts = [e.text for e in train]
  labels = [e.intent for e in train]
  best = None
  for c in TFIDF_C:
    features = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                        token_pattern=r"(?u)\S+"),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True))
    model = make_pipeline(features, LogisticRegression(C=c, max_iter=2000, random_state=seed))
    model.fit(texts, labels)
    dev_accuracy = _accuracy(model.predict([e.text for e in dev]), dev)
    if best is None or dev_accuracy > best[0]:
      best = (dev_accuracy, c, model)
  dev_accuracy, c, model = best
  return {"dev": dev_accuracy, "test": _accuracy(model.predict([e.text for e in test]), test),
          "setting": f"C={c:g}", "train_seconds": time.perf_counter() - start}


def _fasttext_line(example: Example) -> str:
  return f"__label__{example.intent.replace(' ', '_')} {example.text.lower()}\n"


def fasttext(train: Sequence[Example], dev: Sequence[Example], test: Sequence[Example],
             seed: int = 0) -> dict:
  """Dev-tuned fastText: {dev, test accuracy, setting, seconds}; ImportError if the
  ``fasttext`` module (PyPI fasttext-numpy2) is missing."""
  import fasttext as fasttext_lib  # pylint: disable=g-import-not-at-top
  start = time.perf_counter()
  to_label = {f"__label__{e.intent.replace(' ', '_')}": e.intent for e in train}
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "train.txt")
    with open(path, "w", encoding="utf-8") as f:
      f.writelines(_fasttext_line(e) for e in train)
    best = None
    for name, setting in FASTTEXT_SETTINGS.items():
      model = fasttext_lib.train_supervised(path, epoch=25, lr=0.5, thread=1, seed=seed,
                                            verbose=0, **setting)

      def predict(examples, model=model):
        labels, _ = model.predict([e.text.lower() for e in examples])
        return [to_label.get(ls[0]) for ls in labels]

      dev_accuracy = _accuracy(predict(dev), dev)
      if best is None or dev_accuracy > best[0]:
        best = (dev_accuracy, name, predict)
  dev_accuracy, name, predict = best
  return {"dev": dev_accuracy, "test": _accuracy(predict(test), test), "setting": name,
          "train_seconds": time.perf_counter() - start}


def run_baseline(name: str, splits: dict[str, Sequence[Example]], seed: int = 0) -> dict:
  """Baseline ``name`` (one of :data:`BASELINES`) on {train, dev, test}."""
  fn = {"tfidf_logreg": tfidf_logreg, "fasttext": fasttext}[name]
  return fn(splits["train"], splits["dev"], splits["test"], seed=seed)
