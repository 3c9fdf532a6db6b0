"""Tokens of a sentence as the models see them (pure Python, no TensorFlow)."""

#: The default per-sentence token limit of the pQRNN projection (its
#: `max_tokens`): training, export and inference keep the first 512 tokens of a
#: sentence, so memory is bounded by batch size x 512 whatever the input. Tokens
#: past the limit get no features and are tagged "O".
DEFAULT_MAX_TOKENS = 512
