"""Keras (tf_keras, Keras 2) layers of pQRNN models."""
from pqrnn_tf.layers.attention_pooling import AttentionPooling
from pqrnn_tf.layers.bottleneck import Bottleneck
from pqrnn_tf.layers.fo_pooling import fo_pool
from pqrnn_tf.layers.projection import Projection
from pqrnn_tf.layers.qrnn import QRNN

__all__ = [
    "AttentionPooling",
    "Bottleneck",
    "Projection",
    "QRNN",
    "fo_pool",
]
from pqrnn_tf.layers.bidirectional_lstm import BidirectionalLSTM
from pqrnn_tf.layers.first_subword_gather import FirstSubwordGather
from pqrnn_tf.layers.position_embedding import AddPositionEmbedding
from pqrnn_tf.layers.transformer_encoder_block import TransformerEncoderBlock
from pqrnn_tf.layers.word_vocab_lookup import WordVocabLookup, build_word_vocabulary
from pqrnn_tf.layers.wordpiece_tokenizer import WordPieceTokenizer

__all__ += [
    "AddPositionEmbedding",
    "BidirectionalLSTM",
    "FirstSubwordGather",
    "TransformerEncoderBlock",
    "WordPieceTokenizer",
    "WordVocabLookup",
    "build_word_vocabulary",
]
