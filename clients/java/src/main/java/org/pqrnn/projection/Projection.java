package org.pqrnn.projection;

import java.nio.FloatBuffer;

/**
 * The projection of one text: the model's input rows and where each text token
 * is in the text.
 *
 * <p>Rows are, in order: BOS (if {@code add_bos}), one per kept text token, EOS
 * (if {@code add_eos}). Spans are {@code [start, end)} offsets of the text
 * tokens only, in the unit of the input that was projected: UTF-16 code units
 * for a {@code String} ({@code text.substring(start, end)} is the token as
 * written), bytes for UTF-8 bytes. A span covers the token as written, before
 * lowercasing and with any repeats that {@code max_repeated_chars} cut.
 */
public final class Projection {
  private final float[] features;
  private final int rows;
  private final int featureSize;
  private final int[] spans;  // start, end of each text token
  private final int firstTextRow;

  Projection(float[] features, int rows, int featureSize, int[] spans, int firstTextRow) {
    this.features = features;
    this.rows = rows;
    this.featureSize = featureSize;
    this.spans = spans;
    this.firstTextRow = firstTextRow;
  }

  /** Row-major {@code [rows, featureSize]} float32 features (length rows * featureSize). */
  public float[] features() {
    return features;
  }

  /** The number of rows: the model's {@code sequence_length}. */
  public int rows() {
    return rows;
  }

  public int featureSize() {
    return featureSize;
  }

  /** The number of text tokens (rows without BOS and EOS). */
  public int tokenCount() {
    return spans.length / 2;
  }

  /** The row of text token 0: 1 with BOS, else 0. */
  public int firstTextRow() {
    return firstTextRow;
  }

  /** Start offset (inclusive) of text token {@code token}. */
  public int tokenStart(int token) {
    return spans[2 * token];
  }

  /** End offset (exclusive) of text token {@code token}. */
  public int tokenEnd(int token) {
    return spans[2 * token + 1];
  }

  /**
   * The model input for a bucket of length {@code bucketLength}: this
   * projection's rows followed by zero rows, {@code bucketLength * featureSize}
   * floats (the {@code [1, T, F]} tensor, row-major).
   *
   * @throws IllegalArgumentException if the rows do not fit
   */
  public float[] paddedFeatures(int bucketLength) {
    checkFits(bucketLength);
    float[] out = new float[bucketLength * featureSize];
    System.arraycopy(features, 0, out, 0, features.length);
    return out;
  }

  /**
   * Writes the padded model input for {@code bucketLength} at the buffer's
   * position (rows, then zeros), advancing it by {@code bucketLength * featureSize}.
   */
  public void writePaddedFeatures(int bucketLength, FloatBuffer out) {
    checkFits(bucketLength);
    out.put(features);
    for (int i = features.length; i < bucketLength * featureSize; ++i) out.put(0f);
  }

  private void checkFits(int bucketLength) {
    if (bucketLength < rows) {
      throw new IllegalArgumentException(
          "bucket of " + bucketLength + " rows is shorter than the text's " + rows + " rows");
    }
  }
}
