"""The name scope whose ops int8 exports keep in float."""

#: Layers wrap computations that int8 cannot represent (e.g. attention weights
#: from 1/n to 1 over n tokens) in `tf.name_scope(FLOAT_SCOPE)`; the int8
#: converter (`pqrnn_tf.export.converter.convert`) leaves every op whose output
#: tensor name contains it unquantized.
FLOAT_SCOPE = "int8_keeps_float"
