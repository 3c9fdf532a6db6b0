package org.pqrnn.projection.android;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;
import org.pqrnn.projection.OutputDecoder;
import org.pqrnn.projection.PortableModel;
import org.pqrnn.projection.Projection;
import org.pqrnn.projection.SequenceProjector;
import org.tensorflow.lite.InterpreterApi;

/**
 * A portable pQRNN model on the stock LiteRT runtime: String in, intent and
 * slot spans (UTF-16 offsets into the string) out.
 *
 * <p><b>Untested</b>: no Android SDK, LiteRT AAR or device is reachable where
 * this project is built, so this file is not compiled there. The projection
 * and the decoding it calls are tested (clients/java/src/test).
 *
 * <p>Not thread-safe (an {@code InterpreterApi} is not); use one per thread.
 */
public final class Predictor implements AutoCloseable {
  private final PortableModel model;
  private final SequenceProjector projector;
  private final OutputDecoder decoder;
  private final InterpreterApi interpreter;

  /**
   * @param modelFile the whole {@code .tflite} file, direct (e.g. memory-mapped
   *     from the app's assets), as {@code InterpreterApi.create} requires
   * @param options e.g. {@code new InterpreterApi.Options().setNumThreads(1)};
   *     with Google Play services add {@code .setRuntime(TfLiteRuntime.FROM_SYSTEM_ONLY)}
   *     after {@code TfLite.initialize(context)} has completed
   */
  public Predictor(ByteBuffer modelFile, InterpreterApi.Options options) {
    model = PortableModel.read(modelFile);
    projector = model.projector();
    decoder = OutputDecoder.forModel(model);
    interpreter = InterpreterApi.create(modelFile, options);
  }

  public PortableModel model() {
    return model;
  }

  /** Projects {@code text}, runs the smallest bucket that holds it and decodes the outputs. */
  public OutputDecoder.Prediction predict(String text) {
    Projection projection = projector.project(text);
    int bucket = model.bucketFor(projection.rows());
    FloatBuffer features = FloatBuffer.allocate(bucket * projection.featureSize());
    projection.writePaddedFeatures(bucket, features);
    features.rewind();
    Map<String, Object> inputs = new HashMap<String, Object>();
    inputs.put("features", features);
    inputs.put("sequence_length", new int[] {projection.rows()});

    float[][] intentProbs = new float[1][model.intentLabels().size()];
    Map<String, Object> outputs = new HashMap<String, Object>();
    outputs.put("intent_probs", intentProbs);
    float[][][] slotProbs = null;
    if (model.slotLabels() != null) {
      slotProbs = new float[1][bucket][model.slotLabels().size()];
      outputs.put("slot_probs", slotProbs);
    }
    interpreter.runSignature(inputs, outputs, PortableModel.signatureKey(bucket));

    float[] slotRows = null;
    if (slotProbs != null) {
      int tags = model.slotLabels().size();
      slotRows = new float[bucket * tags];
      for (int t = 0; t < bucket; ++t) System.arraycopy(slotProbs[0][t], 0, slotRows, t * tags, tags);
    }
    return decoder.decode(projection, intentProbs[0], slotRows);
  }

  @Override
  public void close() {
    interpreter.close();
  }
}
