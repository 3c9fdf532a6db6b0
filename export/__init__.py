"""Export of trained models to TFLite (installed as `pqrnn_tf.export`)."""
