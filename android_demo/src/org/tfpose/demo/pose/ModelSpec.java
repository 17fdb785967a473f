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

  private static final int COCO_KEYPOINTS = 17;

  public final String file;
  public final String label;
  public final boolean bottomUp;
  public final Output output;
  /** Needs LCE's binary kernels (LceBconv2d): the stock TFLite runtime cannot run it. */
  public final boolean binary;
  /**
   * Bottom-up models: the grouping settings of the model's codec (the {@code grouping.*}
   * entries; a missing entry takes {@link AssociativeGrouping.Config#DEFAULT}'s value, and
   * Python's {@code adjust=dark}, which the app lacks, becomes the quarter step). Null for
   * top-down models.
   */
  public final AssociativeGrouping.Config grouping;
  /**
   * Bottom-up models: the stride of the grouping grid in input pixels ({@code grouping.stride});
   * 0 when the file does not say, meaning the finest output's. 0 for top-down models.
   */
  public final int groupingStride;
  /**
   * The pixel convention of the model's weights ({@code convention}; files without it are
   * tfpose's): where crops and grids put a box centre, and how heatmaps decode.
   */
  public final Affine.Convention convention;

  public ModelSpec(String file, String label, boolean bottomUp, Output output, boolean binary) {
    this(file, label, bottomUp, output, binary,
        bottomUp ? AssociativeGrouping.Config.DEFAULT : null, 0, Affine.Convention.TFPOSE);
  }

  public ModelSpec(String file, String label, boolean bottomUp, Output output, boolean binary,
      AssociativeGrouping.Config grouping, int groupingStride, Affine.Convention convention) {
    this.file = file;
    this.label = label;
    this.bottomUp = bottomUp;
    this.output = output;
    this.binary = binary;
    this.grouping = grouping;
    this.groupingStride = groupingStride;
    this.convention = convention;
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
    Affine.Convention convention;
    try {
      convention = Affine.Convention.valueOf(p.getProperty("convention", "tfpose")
          .toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": unknown convention '" + p.getProperty("convention")
          + "'");
    }
    boolean bottomUp = kind.equals("bottomup");
    return new ModelSpec(file, p.getProperty("label", file), bottomUp, output,
        Boolean.parseBoolean(p.getProperty("binary", "false")),
        bottomUp ? grouping(p, file) : null,
        bottomUp ? integer(p, file, "grouping.stride", 0) : 0, convention);
  }

  /** The {@code grouping.*} entries, each defaulting to {@code Config.DEFAULT}'s value. */
  private static AssociativeGrouping.Config grouping(Properties p, String file)
      throws IOException {
    AssociativeGrouping.Config d = AssociativeGrouping.Config.DEFAULT;
    boolean any = false;
    for (String key : p.stringPropertyNames()) {
      any |= key.startsWith("grouping.") && !key.equals("grouping.stride");
    }
    if (!any) {
      return d;
    }
    String adjustName = p.getProperty("grouping.adjust", d.adjust.name())
        .toLowerCase(java.util.Locale.ROOT);
    AssociativeGrouping.Adjust adjust;
    if (adjustName.equals("quarter") || adjustName.equals("dark")) {
      adjust = AssociativeGrouping.Adjust.QUARTER;
    } else if (adjustName.equals("none")) {
      adjust = AssociativeGrouping.Adjust.NONE;
    } else {
      throw new IOException(file + ": unknown grouping.adjust '" + adjustName + "'");
    }
    int[] order = d.jointOrder();
    String orderText = p.getProperty("grouping.joint_order");
    if (orderText != null) {
      String[] parts = orderText.split(",");
      order = new int[parts.length];
      for (int i = 0; i < parts.length; i++) {
        try {
          order[i] = Integer.parseInt(parts[i].trim());
        } catch (NumberFormatException e) {
          throw new IOException(file + ": bad grouping.joint_order '" + orderText + "'");
        }
      }
    }
    try {
      AssociativeGrouping.Config config = new AssociativeGrouping.Config(
          integer(p, file, "grouping.nms_kernel", d.nmsKernel),
          integer(p, file, "grouping.max_candidates", d.maxCandidates),
          number(p, file, "grouping.detection_threshold", d.detectionThreshold),
          number(p, file, "grouping.tag_threshold", d.tagThreshold),
          bool(p, file, "grouping.use_detection_value", d.useDetectionValue),
          bool(p, file, "grouping.refine", d.refine),
          bool(p, file, "grouping.refine_within_tag_threshold", d.refineWithinTagThreshold),
          adjust, order);
      config.order(COCO_KEYPOINTS); // the joint order is a permutation of COCO's 17
      return config;
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": bad grouping settings: " + e.getMessage());
    }
  }

  private static int integer(Properties p, String file, String key, int fallback)
      throws IOException {
    String value = p.getProperty(key);
    try {
      return value == null ? fallback : Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new IOException(file + ": bad " + key + " '" + value + "'");
    }
  }

  private static float number(Properties p, String file, String key, float fallback)
      throws IOException {
    String value = p.getProperty(key);
    try {
      return value == null ? fallback : Float.parseFloat(value.trim());
    } catch (NumberFormatException e) {
      throw new IOException(file + ": bad " + key + " '" + value + "'");
    }
  }

  private static boolean bool(Properties p, String file, String key, boolean fallback)
      throws IOException {
    String value = p.getProperty(key);
    if (value == null) {
      return fallback;
    }
    if (!value.trim().equals("true") && !value.trim().equals("false")) {
      throw new IOException(file + ": bad " + key + " '" + value + "'");
    }
    return value.trim().equals("true");
  }

  private static String require(Properties p, String file, String key) throws IOException {
    String value = p.getProperty(key);
    if (value == null) {
      throw new IOException(file + ": no '" + key + "' entry");
    }
    return value;
  }
}
