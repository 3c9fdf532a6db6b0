package org.pqrnn.projection;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A portable model's outputs -> intent and slot spans, the way the Python
 * runtime decodes them ({@code pqrnn_tf.inference.decoding}): the intent is the
 * most probable one, each text token's tag its most probable one (the first on
 * ties), and slots are the chunks of those tags read by conlleval's rules
 * ({@code pqrnn_tf.metrics.get_chunks}).
 */
public final class OutputDecoder {
  /** A slot value: tokens {@code [firstToken, lastToken]} as a span of the text. */
  public static final class Slot {
    public final String type;
    /** Offset of the first token's start, in the projection's unit. */
    public final int start;
    /** Offset just past the last token's end (exclusive). */
    public final int end;
    public final int firstToken;
    public final int lastToken;
    /** The mean probability of the chunk's tags. */
    public final double score;

    Slot(String type, int start, int end, int firstToken, int lastToken, double score) {
      this.type = type;
      this.start = start;
      this.end = end;
      this.firstToken = firstToken;
      this.lastToken = lastToken;
      this.score = score;
    }

    @Override
    public String toString() {
      return type + "[" + start + ", " + end + ")";
    }
  }

  /** The decoded outputs for one text. */
  public static final class Prediction {
    public final String intent;
    public final int intentIndex;
    public final float intentProbability;
    /** Each text token's most probable tag; empty without a slot head. */
    public final List<String> tags;
    public final List<Slot> slots;

    Prediction(String intent, int intentIndex, float intentProbability, List<String> tags, List<Slot> slots) {
      this.intent = intent;
      this.intentIndex = intentIndex;
      this.intentProbability = intentProbability;
      this.tags = tags;
      this.slots = slots;
    }
  }

  /** A chunk of a tag sequence: type and inclusive token range, as get_chunks returns it. */
  public static final class Chunk {
    public final String type;
    public final int first;
    public final int last;

    Chunk(String type, int first, int last) {
      this.type = type;
      this.first = first;
      this.last = last;
    }

    @Override
    public boolean equals(Object other) {
      if (!(other instanceof Chunk)) return false;
      Chunk c = (Chunk) other;
      return type.equals(c.type) && first == c.first && last == c.last;
    }

    @Override
    public int hashCode() {
      return (type.hashCode() * 31 + first) * 31 + last;
    }

    @Override
    public String toString() {
      return "(" + type + ", " + first + ", " + last + ")";
    }
  }

  private final List<String> intentLabels;
  private final List<String> slotLabels;

  /**
   * @param intentLabels labels of {@code intent_probs}
   * @param slotLabels tags of {@code slot_probs}' last axis, null without a slot head
   */
  public OutputDecoder(List<String> intentLabels, List<String> slotLabels) {
    this.intentLabels = intentLabels;
    this.slotLabels = slotLabels;
  }

  /** Decoder for a model's labels. */
  public static OutputDecoder forModel(PortableModel model) {
    return new OutputDecoder(model.intentLabels(), model.slotLabels());
  }

  /**
   * Decodes one text's outputs.
   *
   * @param projection the text's projection (gives the rows and token spans)
   * @param intentProbs {@code intent_probs[0]}
   * @param slotProbs {@code slot_probs[0]} row-major ({@code T * tags} floats,
   *     any T >= the projection's rows), or null without a slot head
   */
  public Prediction decode(Projection projection, float[] intentProbs, float[] slotProbs) {
    if (intentProbs.length != intentLabels.size()) {
      throw new IllegalArgumentException("intent_probs has " + intentProbs.length
          + " values for " + intentLabels.size() + " intent labels");
    }
    int intent = argmax(intentProbs, 0, intentProbs.length);
    List<String> tags = new ArrayList<String>();
    List<Slot> slots = new ArrayList<Slot>();
    if (slotProbs != null && slotLabels != null) {
      int numTags = slotLabels.size();
      int tokens = projection.tokenCount();
      int firstRow = projection.firstTextRow();
      if (slotProbs.length < (firstRow + tokens) * numTags || slotProbs.length % numTags != 0) {
        throw new IllegalArgumentException("slot_probs has " + slotProbs.length + " values; need rows of "
            + numTags + " tags for " + (firstRow + tokens) + " rows");
      }
      float[] tagProbs = new float[tokens];
      for (int t = 0; t < tokens; ++t) {
        int offset = (firstRow + t) * numTags;
        int best = argmax(slotProbs, offset, numTags);
        tags.add(slotLabels.get(best));
        tagProbs[t] = slotProbs[offset + best];
      }
      for (Chunk chunk : chunks(tags)) {
        double sum = 0;
        for (int t = chunk.first; t <= chunk.last; ++t) sum += tagProbs[t];
        slots.add(new Slot(chunk.type, projection.tokenStart(chunk.first), projection.tokenEnd(chunk.last),
            chunk.first, chunk.last, sum / (chunk.last - chunk.first + 1)));
      }
    }
    return new Prediction(intentLabels.get(intent), intent, intentProbs[intent],
        Collections.unmodifiableList(tags), Collections.unmodifiableList(slots));
  }

  /** Index of the largest of {@code values[offset, offset + length)} (the first on ties), minus offset. */
  public static int argmax(float[] values, int offset, int length) {
    int best = 0;
    for (int i = 1; i < length; ++i) {
      if (values[offset + i] > values[offset + best]) best = i;
    }
    return best;
  }

  /**
   * The chunks of a tag sequence, conlleval-style, exactly as
   * {@code pqrnn_tf.metrics.get_chunks}: an I-x after O or after a chunk of
   * another type starts a chunk, B-x B-x is two chunks; E-/S- tags (IOBES) are
   * read too.
   *
   * @throws IllegalArgumentException for a tag that is not "O" or P-type with P in B/I/E/S
   */
  public static List<Chunk> chunks(List<String> tags) {
    List<Chunk> out = new ArrayList<Chunk>();
    char prevPrefix = 'O';
    String prevType = "";
    int begin = 0;
    for (int i = 0; i <= tags.size(); ++i) {  // a trailing "O" closes an open chunk
      String tag = i < tags.size() ? tags.get(i) : "O";
      char prefix;
      String type;
      if (tag.equals("O")) {
        prefix = 'O';
        type = "";
      } else if (tag.length() >= 3 && "BIES".indexOf(tag.charAt(0)) >= 0 && tag.charAt(1) == '-') {
        prefix = tag.charAt(0);
        type = tag.substring(2);
      } else {
        throw new IllegalArgumentException(
            "invalid slot tag '" + tag + "': expected 'O' or B-/I-/E-/S-<type>");
      }
      if (endOfChunk(prevPrefix, prefix, prevType, type)) out.add(new Chunk(prevType, begin, i - 1));
      if (startOfChunk(prevPrefix, prefix, prevType, type)) begin = i;
      prevPrefix = prefix;
      prevType = type;
    }
    return out;
  }

  private static boolean endOfChunk(char prevPrefix, char prefix, String prevType, String type) {
    if (prevPrefix == 'E' || prevPrefix == 'S') return true;
    if ((prevPrefix == 'B' || prevPrefix == 'I') && (prefix == 'B' || prefix == 'S' || prefix == 'O')) return true;
    return prevPrefix != 'O' && !prevType.equals(type);
  }

  private static boolean startOfChunk(char prevPrefix, char prefix, String prevType, String type) {
    if (prefix == 'B' || prefix == 'S') return true;
    if ((prevPrefix == 'E' || prevPrefix == 'S' || prevPrefix == 'O') && (prefix == 'E' || prefix == 'I')) return true;
    return prefix != 'O' && !prevType.equals(type);
  }
}
