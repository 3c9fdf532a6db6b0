"""The teacher network: a pre-trained encoder with an intent head and a slot head (PyTorch).

Word alignment and tokenization (first sub-word of each whitespace word) are in
:mod:`pqrnn_tf.teacher.tokenization`; their names are re-exported here.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from pqrnn_tf.teacher.tokenization import (  # noqa: F401  (re-exported)
    ENCODER_SUBDIR, HEADS_FILE, IGNORE_INDEX, LABELS_FILE, MODEL_SUBDIR, Batch, WordTokenizer,
    encode, gather_words, read_labels, subword_tag_ids)


class JointModel(nn.Module):
  """Encoder -> [CLS] -> intent logits; every sub-word -> slot logits."""

  def __init__(self, encoder: nn.Module, num_intents: int, num_tags: int,
               dropout: float = 0.1) -> None:
    super().__init__()
    self.encoder = encoder
    hidden = encoder.config.hidden_size
    self.dropout = nn.Dropout(dropout)
    self.intent_head = nn.Linear(hidden, num_intents)
    self.slot_head = nn.Linear(hidden, num_tags)

  def forward(self, input_ids: torch.Tensor,
              attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(intent logits [B, I], sub-word slot logits [B, L, S])."""
    hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    hidden = self.dropout(hidden)
    return self.intent_head(hidden[:, 0]), self.slot_head(hidden)


def load_encoder(path: str, attn_implementation: str | None = None) -> nn.Module:
  """AutoModel from a local directory (no hub access), without a pooler where supported."""
  from transformers import AutoModel  # pylint: disable=g-import-not-at-top
  kwargs = {"attn_implementation": attn_implementation} if attn_implementation else {}
  try:
    return AutoModel.from_pretrained(path, add_pooling_layer=False, local_files_only=True,
                                     **kwargs)
  except TypeError:  # encoders without a pooler option (e.g. DistilBERT)
    return AutoModel.from_pretrained(path, local_files_only=True, **kwargs)


def load_tokenizer(path: str):
  """The encoder's fast tokenizer (word_ids() is needed for the alignment)."""
  from transformers import AutoTokenizer  # pylint: disable=g-import-not-at-top
  tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
  if not getattr(tokenizer, "is_fast", False):
    raise ValueError(f"{path}: the tokenizer is not a fast tokenizer; the word alignment "
                     "needs one (a tokenizer.json or a vocab.txt for BERT-like models)")
  return tokenizer


def max_length_of(encoder: nn.Module, tokenizer, limit: int = 512) -> int:
  """The encoder's usable sequence length: position embeddings and tokenizer limit, capped."""
  lengths = [limit, getattr(encoder.config, "max_position_embeddings", limit)]
  if 0 < getattr(tokenizer, "model_max_length", limit) < 1_000_000:
    lengths.append(tokenizer.model_max_length)
  return int(min(lengths))


def save(model: JointModel, tokenizer, intent_labels: Sequence[str], tag_labels: Sequence[str],
         directory: str, max_length: int) -> None:
  """Writes encoder (save_pretrained), tokenizer, heads and label lists to `directory`."""
  from safetensors.torch import save_file  # pylint: disable=g-import-not-at-top
  os.makedirs(directory, exist_ok=True)
  model.encoder.save_pretrained(os.path.join(directory, ENCODER_SUBDIR))
  tokenizer.save_pretrained(os.path.join(directory, ENCODER_SUBDIR))
  heads = {f"{name}.{k}": v.detach().contiguous() for name in ("intent_head", "slot_head")
           for k, v in getattr(model, name).state_dict().items()}
  save_file(heads, os.path.join(directory, HEADS_FILE))
  with open(os.path.join(directory, LABELS_FILE), "w", encoding="utf-8") as f:
    json.dump({"intent_labels": list(intent_labels), "tag_labels": list(tag_labels),
               "max_length": max_length}, f, ensure_ascii=False, indent=1)
    f.write("\n")


@dataclass
class Loaded:
  """A saved teacher, ready for inference."""

  model: JointModel
  tokenizer: WordTokenizer
  intent_labels: list[str]
  tag_labels: list[str]
  max_length: int


def load(directory: str, attn_implementation: str | None = None) -> Loaded:
  """Reads what :func:`save` wrote; the model is in eval mode."""
  from safetensors.torch import load_file  # pylint: disable=g-import-not-at-top
  labels = read_labels(directory)
  encoder = load_encoder(os.path.join(directory, ENCODER_SUBDIR), attn_implementation)
  tokenizer = WordTokenizer.from_dir(os.path.join(directory, ENCODER_SUBDIR),
                                    int(labels["max_length"]))
  model = JointModel(encoder, len(labels["intent_labels"]), len(labels["tag_labels"]))
  heads = load_file(os.path.join(directory, HEADS_FILE))
  model.intent_head.load_state_dict({k.split(".", 1)[1]: v for k, v in heads.items()
                                     if k.startswith("intent_head.")})
  model.slot_head.load_state_dict({k.split(".", 1)[1]: v for k, v in heads.items()
                                   if k.startswith("slot_head.")})
  model.eval()
  return Loaded(model, tokenizer, labels["intent_labels"], labels["tag_labels"],
                int(labels["max_length"]))
