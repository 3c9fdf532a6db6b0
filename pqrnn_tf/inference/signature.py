"""Names of an exported model's signature (TF-free, so apps can import them).

`pqrnn_tf.export.converter` writes models with these names; predictors read
them. One signature: `text` string[batch] -> `intent_probs` float32[batch,
intents] and, with a slot head, `slot_probs` float32[batch, rows, tags] and
`sequence_length` int32[batch] (the number of valid rows of each sentence).
"""

SIGNATURE_KEY = "serving_default"
INPUT_NAME = "text"
# Output names of the exported signature.
INTENT_PROBS = "intent_probs"
SLOT_PROBS = "slot_probs"
SEQUENCE_LENGTH = "sequence_length"
