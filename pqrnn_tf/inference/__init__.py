"""Predictions from exported models, without TensorFlow.

`TflitePredictor` runs a `.tflite` file from `pqrnn-export` in LiteRT and
returns `Prediction`s (intent, top-k, tagged tokens, slot spans with character
offsets into the original text); `pqrnn-predict` is its command line.
Nothing in this package imports TensorFlow unless asked to (`runtime="tf"`):
`pip install` without the train extra runs it. `pqrnn_tf.keras_predictor.KerasPredictor`
gives the same decoding for a Keras model in memory (training and evaluation).
"""
from pqrnn_tf.inference.decoding import Prediction, Slot, Token, to_predictions
from pqrnn_tf.inference.labels import load_labels, model_labels
from pqrnn_tf.inference.metadata import read_labels
from pqrnn_tf.inference.predictor import (ModelError, Predictor, TflitePredictor,
                                          TokenizationMismatchError)
from pqrnn_tf.inference.tokens import model_tokenization, token_spans

__all__ = [
    "ModelError",
    "Prediction",
    "Predictor",
    "Slot",
    "TflitePredictor",
    "Token",
    "TokenizationMismatchError",
    "load_labels",
    "model_labels",
    "model_tokenization",
    "read_labels",
    "to_predictions",
    "token_spans",
]
