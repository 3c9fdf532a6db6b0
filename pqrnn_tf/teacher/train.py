"""Fine-tunes a pre-trained encoder for joint intent classification + slot tagging.

Loss: cross-entropy of the intent (from [CLS]) plus cross-entropy of each word's
BIO tag at its first sub-word. AdamW with linear warm-up (10% of the steps) and
linear decay; gradients clipped to norm 1. Dev is scored after every epoch with
the student's metrics (pqrnn_tf.metrics); the best epoch (mean of intent
accuracy, slot F1 and exact match, like the student's trainer) is kept.
"""
from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from pqrnn_tf.data.examples import Example, build_intent_vocab, build_tag_vocab
from pqrnn_tf.metrics import dev_score
from pqrnn_tf.teacher import model as model_lib
from pqrnn_tf.teacher import predictor as predictor_lib
from pqrnn_tf.teacher.scoring import (  # noqa: F401  (re-exported)
    CONFIG_FILE, DEV_KEYS, METRICS_FILE, evaluate, fmt)

HISTORY_FILE = "history.json"


@dataclass
class TeacherConfig:
  """Everything that defines a teacher run (written to model_dir/config.json)."""

  pretrained: str
  epochs: int = 10
  learning_rate: float = 1e-4
  batch_size: int = 32
  seed: int = 0
  warmup_fraction: float = 0.1
  weight_decay: float = 0.01
  dropout: float = 0.1
  max_length: int = 0      # 0: the encoder's limit (at most 512)
  num_threads: int = 2
  data: dict | None = None

  def validate(self) -> TeacherConfig:
    for name in ("epochs", "batch_size", "num_threads"):
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
    if not self.learning_rate > 0:
      raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
    if self.max_length < 0 or 0 < self.max_length < 3:
      raise ValueError(f"max_length must be 0 (encoder limit) or >= 3, got {self.max_length}")
    return self


def _optimizer(model: nn.Module, config: TeacherConfig, total_steps: int):
  """AdamW (no weight decay on biases and LayerNorm) with linear warm-up and decay."""
  no_decay = [p for p in model.parameters() if p.ndim < 2]
  decay = [p for p in model.parameters() if p.ndim >= 2]
  optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=config.learning_rate)
  warmup = max(1, int(config.warmup_fraction * total_steps))

  def factor(step: int) -> float:
    if step < warmup:
      return (step + 1) / warmup
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

  return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def seed_everything(seed: int) -> None:
  """Seeds Python, numpy and torch."""
  random.seed(seed)
  np.random.seed(seed)
  torch.manual_seed(seed)


def train(config: TeacherConfig, model_dir: str, train_examples: Sequence[Example],
          dev_examples: Sequence[Example], log: Callable[[str], None] = print) -> dict:
  """Fine-tunes, keeping the best dev epoch in model_dir/model; returns the run summary."""
  config.validate()
  if not train_examples:
    raise ValueError("no training examples")
  torch.set_num_threads(config.num_threads)
  seed_everything(config.seed)
  os.makedirs(model_dir, exist_ok=True)
  intents = build_intent_vocab(train_examples)
  tags = build_tag_vocab(train_examples)
  if len(intents) == 0:
    raise ValueError("the training data has no intent labels")
  tokenizer = model_lib.load_tokenizer(config.pretrained)
  encoder = model_lib.load_encoder(config.pretrained)
  max_length = config.max_length or model_lib.max_length_of(encoder, tokenizer)
  model = model_lib.JointModel(encoder, len(intents), len(tags), dropout=config.dropout)
  num_params = sum(p.numel() for p in model.parameters())
  with open(os.path.join(model_dir, CONFIG_FILE), "w", encoding="utf-8") as f:
    json.dump({**asdict(config), "max_length": max_length, "num_params": num_params,
               "num_intents": len(intents), "num_tags": len(tags)}, f, indent=2)
    f.write("\n")
  log(f"Teacher: {config.pretrained}, {num_params / 1e6:.2f}M parameters, {len(intents)} "
      f"intents, {len(tags)} tags, max {max_length} sub-words; {len(train_examples)} train, "
      f"{len(dev_examples)} dev examples; {config.num_threads} thread(s)")

  steps_per_epoch = math.ceil(len(train_examples) / config.batch_size)
  optimizer, scheduler = _optimizer(model, config, steps_per_epoch * config.epochs)
  loss_fn = nn.CrossEntropyLoss(ignore_index=model_lib.IGNORE_INDEX)
  word_tokenizer = model_lib.WordTokenizer.from_transformers(tokenizer, max_length)
  torch_predictor = predictor_lib.TorchPredictor(model_lib.Loaded(
      model, word_tokenizer, list(intents.labels), list(tags.labels), max_length))
  rng = np.random.default_rng(config.seed)
  best = {"epoch": 0, "score": -1.0, "dev": {}}
  history = []
  start = time.time()
  for epoch in range(1, config.epochs + 1):
    model.train()
    epoch_start, total_loss = time.time(), 0.0
    order = rng.permutation(len(train_examples))
    for step in range(steps_per_epoch):
      chunk = [train_examples[i] for i in order[step * config.batch_size:
                                                 (step + 1) * config.batch_size]]
      batch = word_tokenizer.encode([e.text for e in chunk])
      intent_ids = torch.tensor([intents.index(e.intent) if e.intent is not None
                                 else model_lib.IGNORE_INDEX for e in chunk])
      tag_ids = model_lib.subword_tag_ids(batch, [
          tags.encode(e.tags) if e.tags is not None
          else [model_lib.IGNORE_INDEX] * len(e.tokens) for e in chunk])
      intent_logits, slot_logits = model(torch.from_numpy(batch.input_ids),
                                         torch.from_numpy(batch.attention_mask))
      loss = torch.zeros(())
      if (intent_ids != model_lib.IGNORE_INDEX).any():
        loss = loss + loss_fn(intent_logits, intent_ids)
      if (tag_ids != model_lib.IGNORE_INDEX).any():
        loss = loss + loss_fn(slot_logits.reshape(-1, slot_logits.shape[-1]),
                              torch.from_numpy(tag_ids).reshape(-1))
      optimizer.zero_grad(set_to_none=True)
      loss.backward()
      torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
      optimizer.step()
      scheduler.step()
      total_loss += loss.item()
      if (step + 1) % 50 == 0:
        log(f"  epoch {epoch} step {step + 1}/{steps_per_epoch}: loss "
            f"{total_loss / (step + 1):.4f} ({time.time() - epoch_start:.0f}s)")
    model.eval()
    dev = evaluate(torch_predictor, dev_examples) if dev_examples else {}
    s = dev_score(dev)
    improved = s > best["score"] or not dev_examples  # no dev data: keep the last epoch
    if improved:
      best = {"epoch": epoch, "score": s, "dev": dev}
      model_lib.save(model, tokenizer, intents.labels, tags.labels,
                     os.path.join(model_dir, model_lib.MODEL_SUBDIR), max_length)
    history.append({"epoch": epoch, "loss": total_loss / steps_per_epoch, "dev": dev,
                    "seconds": time.time() - epoch_start})
    with open(os.path.join(model_dir, HISTORY_FILE), "w", encoding="utf-8") as f:
      json.dump({"history": history, "best_epoch": best["epoch"],
                 "train_seconds": time.time() - start}, f, indent=2)
    log(f"Epoch {epoch}/{config.epochs}: loss {total_loss / steps_per_epoch:.4f}, "
        f"{time.time() - epoch_start:.0f}s; dev: {fmt(dev) or 'n/a'}"
        f"{'  (best, saved)' if improved else ''}  (best epoch {best['epoch']})")
  return {"best_epoch": best["epoch"], "train_minutes": (time.time() - start) / 60,
          "num_params": num_params}


def evaluate_and_save(model_dir: str, splits: dict[str, Sequence[Example]],
                      summary: dict | None = None, num_threads: int = 2) -> dict:
  """Scores the saved (best) teacher on each split and writes model_dir/metrics.json."""
  predictor = predictor_lib.load_torch(model_dir, num_threads=num_threads)
  result = dict(summary or {})
  for name, examples in splits.items():
    result[name] = evaluate(predictor, examples)
  with open(os.path.join(model_dir, METRICS_FILE), "w", encoding="utf-8") as f:
    json.dump(result, f, indent=2)
    f.write("\n")
  return result
