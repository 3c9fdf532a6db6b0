package org.pqrnn.projection;

import java.util.Arrays;
import java.util.Random;

/**
 * Time of {@link SequenceProjector#project(String)} per 16-token sentence with
 * pqrnn_base's settings (feature_size 512, char_ngram_size 3, max_tokens 512,
 * split_unsegmented_scripts false, lowercase true):
 *
 * <pre>java -cp clients/java/build/classes org.pqrnn.projection.ProjectionBenchmark [SENTENCES] [ROUNDS]</pre>
 *
 * Each sentence is timed on its own; prints the median and the 90th percentile
 * over all timings after a warm-up.
 */
public final class ProjectionBenchmark {
  private ProjectionBenchmark() {}

  private static final String[] WORDS = {
    "show", "me", "flights", "from", "Boston", "to", "Denver", "on", "Monday", "morning",
    "what", "is", "the", "cheapest", "fare", "between", "Pittsburgh", "and", "Atlanta",
    "list", "all", "nonstop", "United", "Airlines", "arriving", "in", "San", "Francisco",
    "before", "noon", "i", "would", "like", "a", "round", "trip", "seat", "Dallas",
    "ground", "transportation", "at", "airport", "please", "first", "class", "Thursday",
  };

  public static void main(String[] args) {
    int sentences = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
    ProjectionSettings base = ProjectionSettings.builder()
        .featureSize(512).charNgramSize(3).maxTokens(512)
        .splitUnsegmentedScripts(false).lowercase(true).build();
    SequenceProjector projector = new SequenceProjector(base);
    Random random = new Random(0);
    String[] texts = new String[sentences];
    int characters = 0;
    for (int s = 0; s < sentences; ++s) {
      StringBuilder text = new StringBuilder();
      for (int w = 0; w < 16; ++w) {
        if (w > 0) text.append(' ');
        text.append(WORDS[random.nextInt(WORDS.length)]);
      }
      texts[s] = text.toString();
      characters += texts[s].length();
    }
    long checksum = 0;
    for (int warm = 0; warm < 5; ++warm) {
      for (String text : texts) checksum += Float.floatToRawIntBits(projector.project(text).features()[7]);
    }
    long[] nanos = new long[sentences * rounds];
    int k = 0;
    for (int r = 0; r < rounds; ++r) {
      for (String text : texts) {
        long start = System.nanoTime();
        Projection p = projector.project(text);
        nanos[k++] = System.nanoTime() - start;
        checksum += p.rows();
      }
    }
    Arrays.sort(nanos);
    System.out.printf("pqrnn_base projection, 16-token sentences (%.1f characters on average), %d timings:%n",
        (double) characters / sentences, nanos.length);
    System.out.printf("median %.1f us, p90 %.1f us per sentence (checksum %d)%n",
        nanos[nanos.length / 2] / 1000.0, nanos[nanos.length * 9 / 10] / 1000.0, checksum);
  }
}
