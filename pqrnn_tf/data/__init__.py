"""Data loading for pqrnn_tf: examples, label vocabularies and file readers (no TensorFlow)."""
from pqrnn_tf.data.examples import (
    OUTSIDE_TAG,
    UNKNOWN_INDEX,
    Example,
    LabelVocab,
    build_intent_vocab,
    build_tag_vocab,
)
from pqrnn_tf.data.readers import (
    DataError,
    atis_data_dir,
    parse_atis_line,
    read_atis,
    read_atis_file,
    read_examples,
    read_jsonl,
    read_tsv,
)

__all__ = [
    "OUTSIDE_TAG",
    "UNKNOWN_INDEX",
    "DataError",
    "Example",
    "LabelVocab",
    "atis_data_dir",
    "build_intent_vocab",
    "build_tag_vocab",
    "parse_atis_line",
    "read_atis",
    "read_atis_file",
    "read_examples",
    "read_jsonl",
    "read_tsv",
]
