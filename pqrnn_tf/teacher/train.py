"""Fine-tunes a pre-trained encoder for joint intent classification + slot tagging.

Loss: cross-entropy of the intent (from [CLS]) plus cross-entropy of each word's
BIO tag at its first sub-word. AdamW with linear warm-up (10% of the steps) and
linear decay; gradients clipped to norm 1.

The run is `epochs` rounds of training, each followed by scoring dev with the
student's metrics (pqrnn_tf.metrics); the best round (mean of intent accuracy,
slot F1 and exact match, like the student's trainer) is kept. A round is one
pass over the data, or more on small data: training takes at least `min_steps`
optimizer steps, because a few hundred sentences give a pre-trained encoder
too few updates in 10 passes (224 ATIS sentences: 70 steps, 83% intent
accuracy; see pqrnn_tf/benchmarks/distillation.py). A full-size data set already has
more steps than `min_steps`, so its run is unchanged. Training stops after
`patience` rounds without a dev gain.
"""
from __future__ import annotations

import dataclasses
import json
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict

import numpy as np
import torch
from torch import nn

from pqrnn_tf.data.examples import Example, LabelVocab, build_intent_vocab, build_tag_vocab
from pqrnn_tf.metrics import dev_score
from pqrnn_tf.run_lock import run_lock
from pqrnn_tf.teacher import model as model_lib
from pqrnn_tf.teacher.config import TeacherConfig  # noqa: F401  (re-exported)
from pqrnn_tf.teacher import predictor as predictor_lib
from pqrnn_tf.teacher.scoring import (  # noqa: F401  (re-exported)
    CONFIG_FILE, DEV_KEYS, METRICS_FILE, evaluate, fmt)

HISTORY_FILE = "history.json"


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


def batches(examples: Sequence[Example], batch_size: int,
            rng: np.random.Generator) -> Iterator[list[Example]]:
  """Endless batches: a fresh shuffle for every pass over the data."""
  while True:
    order = rng.permutation(len(examples))
    for i in range(0, len(order), batch_size):
      yield [examples[j] for j in order[i:i + batch_size]]


class _JointLoss:
  """Intent cross-entropy + first-sub-word slot cross-entropy of one batch."""

  def __init__(self, word_tokenizer: model_lib.WordTokenizer, intents: LabelVocab,
               tags: LabelVocab):
    self.word_tokenizer, self.intents, self.tags = word_tokenizer, intents, tags
    self.loss_fn = nn.CrossEntropyLoss(ignore_index=model_lib.IGNORE_INDEX)

  def __call__(self, model: nn.Module, chunk: Sequence[Example]) -> torch.Tensor:
    ignore = model_lib.IGNORE_INDEX
    batch = self.word_tokenizer.encode([e.text for e in chunk])
    intent_ids = torch.tensor([self.intents.index(e.intent) if e.intent is not None
                               else ignore for e in chunk])
    tag_ids = model_lib.subword_tag_ids(batch, [
        self.tags.encode(e.tags) if e.tags is not None else [ignore] * len(e.tokens)
        for e in chunk])
    intent_logits, slot_logits = model(torch.from_numpy(batch.input_ids),
                                       torch.from_numpy(batch.attention_mask))
    loss = torch.zeros(())
    if (intent_ids != ignore).any():
      loss = loss + self.loss_fn(intent_logits, intent_ids)
    if (tag_ids != ignore).any():
      loss = loss + self.loss_fn(slot_logits.reshape(-1, slot_logits.shape[-1]),
                                 torch.from_numpy(tag_ids).reshape(-1))
    return loss


@dataclasses.dataclass
class _Teacher:
  """What a run fine-tunes: the joint model over the pre-trained encoder, its labels."""
  model: nn.Module
  tokenizer: object  # the Hugging Face tokenizer, saved with the model
  word_tokenizer: model_lib.WordTokenizer
  intents: LabelVocab
  tags: LabelVocab
  max_length: int

  @property
  def num_params(self) -> int:
    return sum(p.numel() for p in self.model.parameters())

  def save(self, model_dir: str) -> None:
    model_lib.save(self.model, self.tokenizer, self.intents.labels, self.tags.labels,
                   os.path.join(model_dir, model_lib.MODEL_SUBDIR), self.max_length)


def _build(config: TeacherConfig, train_examples: Sequence[Example]) -> _Teacher:
  """The pre-trained encoder with fresh heads for the training data's labels."""
  intents = build_intent_vocab(train_examples)
  tags = build_tag_vocab(train_examples)
  if len(intents) == 0:
    raise ValueError("the training data has no intent labels")
  tokenizer = model_lib.load_tokenizer(config.pretrained)
  encoder = model_lib.load_encoder(config.pretrained)
  max_length = config.max_length or model_lib.max_length_of(encoder, tokenizer)
  model = model_lib.JointModel(encoder, len(intents), len(tags), dropout=config.dropout)
  return _Teacher(model, tokenizer,
                  model_lib.WordTokenizer.from_transformers(tokenizer, max_length),
                  intents, tags, max_length)


def _write_config(model_dir: str, config: TeacherConfig, teacher: _Teacher,
                  steps_per_round: int) -> None:
  with open(os.path.join(model_dir, CONFIG_FILE), "w", encoding="utf-8") as f:
    json.dump({**asdict(config), "max_length": teacher.max_length,
               "num_params": teacher.num_params, "num_intents": len(teacher.intents),
               "num_tags": len(teacher.tags), "steps_per_round": steps_per_round}, f, indent=2)
    f.write("\n")


def _train_round(teacher: _Teacher, loss_fn: _JointLoss, stream: Iterator[list[Example]],
                 optimizer, scheduler, steps: int, epoch: int,
                 log: Callable[[str], None]) -> float:
  """`steps` optimizer steps; returns the mean loss."""
  teacher.model.train()
  start, total_loss = time.time(), 0.0
  for step in range(steps):
    loss = loss_fn(teacher.model, next(stream))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(teacher.model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    total_loss += loss.item()
    if (step + 1) % 50 == 0:
      log(f"  round {epoch} step {step + 1}/{steps}: loss {total_loss / (step + 1):.4f} "
          f"({time.time() - start:.0f}s)")
  teacher.model.eval()
  return total_loss / steps


def train(config: TeacherConfig, model_dir: str, train_examples: Sequence[Example],
          dev_examples: Sequence[Example], log: Callable[[str], None] = print) -> dict:
  """Fine-tunes, keeping the best dev round in model_dir/model; returns the run summary."""
  config.validate()
  if not train_examples:
    raise ValueError("no training examples")
  os.makedirs(model_dir, exist_ok=True)
  with run_lock(model_dir, "pqrnn-teacher train"):
    return _train(config, model_dir, train_examples, dev_examples, log)


def _train(config: TeacherConfig, model_dir: str, train_examples: Sequence[Example],
           dev_examples: Sequence[Example], log: Callable[[str], None]) -> dict:
  """`train` while holding model_dir's run lock."""
  torch.set_num_threads(config.num_threads)
  seed_everything(config.seed)
  teacher = _build(config, train_examples)
  steps_per_round, rounds = config.steps(len(train_examples))
  _write_config(model_dir, config, teacher, steps_per_round)
  log(f"Teacher: {config.pretrained}, {teacher.num_params / 1e6:.2f}M parameters, "
      f"{len(teacher.intents)} intents, {len(teacher.tags)} tags, max {teacher.max_length} "
      f"sub-words; {len(train_examples)} train, {len(dev_examples)} dev examples; {rounds} "
      f"rounds of {steps_per_round} steps; {config.num_threads} thread(s)")

  optimizer, scheduler = _optimizer(teacher.model, config, steps_per_round * rounds)
  loss_fn = _JointLoss(teacher.word_tokenizer, teacher.intents, teacher.tags)
  torch_predictor = predictor_lib.TorchPredictor(model_lib.Loaded(
      teacher.model, teacher.word_tokenizer, list(teacher.intents.labels),
      list(teacher.tags.labels), teacher.max_length))
  stream = batches(train_examples, config.batch_size, np.random.default_rng(config.seed))
  best = {"epoch": 0, "score": -1.0, "dev": {}}
  history = []
  start = time.time()
  for epoch in range(1, rounds + 1):
    round_start = time.time()
    loss = _train_round(teacher, loss_fn, stream, optimizer, scheduler, steps_per_round,
                        epoch, log)
    dev = evaluate(torch_predictor, dev_examples) if dev_examples else {}
    score = dev_score(dev)
    improved = score > best["score"] or not dev_examples  # no dev: keep the last
    if improved:
      best = {"epoch": epoch, "score": score, "dev": dev}
      teacher.save(model_dir)
    history.append({"epoch": epoch, "steps": epoch * steps_per_round, "loss": loss,
                    "dev": dev, "seconds": time.time() - round_start})
    with open(os.path.join(model_dir, HISTORY_FILE), "w", encoding="utf-8") as f:
      json.dump({"history": history, "best_epoch": best["epoch"],
                 "train_seconds": time.time() - start}, f, indent=2)
    log(f"Round {epoch}/{rounds}: loss {loss:.4f}, {time.time() - round_start:.0f}s; dev: "
        f"{fmt(dev) or 'n/a'}{'  (best, saved)' if improved else ''}  (best round "
        f"{best['epoch']})")
    if config.patience and epoch - best["epoch"] >= config.patience:
      log(f"Stopping: no dev gain in {config.patience} rounds")
      break
  return {"best_epoch": best["epoch"], "rounds": len(history),
          "steps": len(history) * steps_per_round,
          "train_minutes": (time.time() - start) / 60, "num_params": teacher.num_params}


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
