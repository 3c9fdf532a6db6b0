package org.pqrnn.projection;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * The Java side of a portable model, minus the interpreter, for
 * tests/test_java_client.py to run with a real exported model:
 *
 * <pre>
 * PortableModelCheck MODEL project  &lt; sentences.jsonl   # model inputs per sentence
 * PortableModelCheck MODEL decode   &lt; outputs.jsonl     # intent and slots per sentence
 * </pre>
 *
 * Input lines are JSON: a string (project), or {"text", "intent_probs",
 * "slot_probs"} with the bucket's outputs (decode). The first output line of
 * "project" describes the model (settings, buckets, labels).
 */
public final class PortableModelCheck {
  private PortableModelCheck() {}

  public static void main(String[] args) throws Exception {
    byte[] file = Files.readAllBytes(Paths.get(args[0]));
    PortableModel model = PortableModel.read(file);
    SequenceProjector projector = model.projector();
    OutputDecoder decoder = OutputDecoder.forModel(model);
    boolean project = args[1].equals("project");
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    StringBuilder out = new StringBuilder();
    if (project) {
      ProjectionSettings s = model.settings();
      out.append("{\"feature_size\": ").append(s.featureSize).append(", \"max_tokens\": ").append(s.maxTokens)
          .append(", \"add_bos\": ").append(s.addBos).append(", \"add_eos\": ").append(s.addEos)
          .append(", \"char_ngram_size\": ").append(s.charNgramSize)
          .append(", \"buckets\": ").append(java.util.Arrays.toString(model.buckets()))
          .append(", \"intents\": ").append(model.intentLabels().size())
          .append(", \"slots\": ").append(model.slotLabels() == null ? 0 : model.slotLabels().size())
          .append("}\n");
    }
    for (String line; (line = in.readLine()) != null; ) {
      Object parsed = MiniJson.parse(line);
      String text = project ? (String) parsed : (String) ((Map<?, ?>) parsed).get("text");
      Projection p = projector.project(text);
      int bucket = model.bucketFor(p.rows());
      if (project) {
        ByteBuffer bytes = ByteBuffer.allocate(4 * bucket * p.featureSize()).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(p.paddedFeatures(bucket));
        out.append("{\"bucket\": ").append(bucket).append(", \"rows\": ").append(p.rows())
            .append(", \"features\": \"").append(Base64.getEncoder().encodeToString(bytes.array())).append("\"}\n");
      } else {
        Map<?, ?> outputs = (Map<?, ?>) parsed;
        float[] intentProbs = floats((List<?>) outputs.get("intent_probs"));
        List<?> rows = (List<?>) outputs.get("slot_probs");
        float[] slotProbs = null;
        if (rows != null) {
          int tags = ((List<?>) rows.get(0)).size();
          slotProbs = new float[rows.size() * tags];
          for (int r = 0; r < rows.size(); ++r) {
            System.arraycopy(floats((List<?>) rows.get(r)), 0, slotProbs, r * tags, tags);
          }
        }
        OutputDecoder.Prediction prediction = decoder.decode(p, intentProbs, slotProbs);
        out.append("{\"intent\": \"").append(prediction.intent).append("\", \"slots\": [");
        for (int i = 0; i < prediction.slots.size(); ++i) {
          OutputDecoder.Slot slot = prediction.slots.get(i);
          if (i > 0) out.append(", ");
          out.append("[\"").append(slot.type).append("\", ").append(slot.start).append(", ").append(slot.end).append(']');
        }
        out.append("]}\n");
      }
    }
    System.out.print(out);
  }

  private static float[] floats(List<?> values) {
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; ++i) out[i] = ((Number) values.get(i)).floatValue();
    return out;
  }
}
