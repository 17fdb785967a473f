package org.tfpose.demo.pose;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * What the app knows of a bundled model, from the {@code NAME.properties} file
 * {@code python -m tfpose.export.app_bundle} writes beside {@code NAME.tflite}.
 */
public final class ModelSpec {
  public enum Output { DECODED, GAUSSIAN, SIGMOID }

  public final String file;
  public final String label;
  public final boolean bottomUp;
  public final Output output;
  /** Needs LCE's binary kernels (LceBconv2d): the stock TFLite runtime cannot run it. */
  public final boolean binary;

  public ModelSpec(String file, String label, boolean bottomUp, Output output, boolean binary) {
    this.file = file;
    this.label = label;
    this.bottomUp = bottomUp;
    this.output = output;
    this.binary = binary;
  }

  /** Reads one properties file; a missing or unknown entry is an IOException naming it. */
  public static ModelSpec read(String file, InputStream properties) throws IOException {
    Properties p = new Properties();
    p.load(properties);
    String kind = require(p, file, "kind");
    if (!kind.equals("topdown") && !kind.equals("bottomup")) {
      throw new IOException(file + ": unknown kind '" + kind + "'");
    }
    if (!require(p, file, "keypoints").equals("coco")) {
      throw new IOException(file + ": the demo draws COCO keypoints only");
    }
    Output output;
    try {
      output = Output.valueOf(require(p, file, "output").toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": unknown output '" + p.getProperty("output") + "'");
    }
    return new ModelSpec(file, p.getProperty("label", file), kind.equals("bottomup"), output,
        Boolean.parseBoolean(p.getProperty("binary", "false")));
  }

  private static String require(Properties p, String file, String key) throws IOException {
    String value = p.getProperty(key);
    if (value == null) {
      throw new IOException(file + ": no '" + key + "' entry");
    }
    return value;
  }
}
