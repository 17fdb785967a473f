package org.tfpose.demo.pose;

/**
 * A bottom-up (LitePose) model's outputs on one grouping grid: the Java twin of {@code
 * tfpose.codecs.associative_embedding.BottomUpCodec.merge_outputs} without the flip test.
 *
 * <p>One output carries K heatmaps followed by {@code K * D} tag maps (channel {@code K + k * D +
 * d}), the others K heatmaps each. Every output is resized bilinearly with half-pixel centres
 * (OpenCV's {@code INTER_LINEAR}: the library's convention) to the finest output's grid, the
 * heatmaps of all outputs are averaged, and the tags come from the output that carries them.
 */
public final class BottomUpOutputs {
  public final int height;
  public final int width;
  public final int keypoints;
  public final int tagDim;
  /** {@code [height, width, keypoints]}, row-major. */
  public final float[] heatmaps;
  /** {@code [height, width, keypoints, tagDim]}, row-major. */
  public final float[] tags;

  private BottomUpOutputs(int height, int width, int keypoints, int tagDim, float[] heatmaps,
      float[] tags) {
    this.height = height;
    this.width = width;
    this.keypoints = keypoints;
    this.tagDim = tagDim;
    this.heatmaps = heatmaps;
    this.tags = tags;
  }

  /**
   * @param outputs each output {@code [H, W, C]} row-major (the batch of one dropped)
   * @param shapes each output's {@code {H, W, C}}
   * @param keypoints K
   */
  public static BottomUpOutputs merge(float[][] outputs, int[][] shapes, int keypoints) {
    if (outputs.length == 0 || outputs.length != shapes.length) {
      throw new IllegalArgumentException(outputs.length + " outputs, " + shapes.length
          + " shapes");
    }
    int tagOutput = -1;
    int finest = 0;
    for (int i = 0; i < outputs.length; i++) {
      int[] s = shapes[i];
      if (s.length != 3 || outputs[i].length != s[0] * s[1] * s[2]) {
        throw new IllegalArgumentException("output " + i + " is not [H, W, C] as its shape says");
      }
      if (s[2] > keypoints && s[2] % keypoints == 0 && tagOutput < 0) {
        tagOutput = i;
      } else if (s[2] != keypoints) {
        throw new IllegalArgumentException("output " + i + " has " + s[2] + " channels, expected "
            + keypoints + " heatmaps (and tags in one output)");
      }
      if (s[0] > shapes[finest][0]) {
        finest = i;
      }
    }
    if (tagOutput < 0) {
      throw new IllegalArgumentException("no output carries tag maps");
    }
    int height = shapes[finest][0];
    int width = shapes[finest][1];
    int pixels = height * width;
    float[] heatmaps = new float[pixels * keypoints];
    float[] tags = null;
    int tagDim = shapes[tagOutput][2] / keypoints - 1;
    for (int i = 0; i < outputs.length; i++) {
      int channels = shapes[i][2];
      float[] resized = resize(outputs[i], shapes[i][0], shapes[i][1], channels, height, width);
      for (int p = 0; p < pixels; p++) {
        for (int k = 0; k < keypoints; k++) {
          heatmaps[p * keypoints + k] += resized[p * channels + k];
        }
      }
      if (i == tagOutput) {
        tags = new float[pixels * keypoints * tagDim];
        for (int p = 0; p < pixels; p++) {
          System.arraycopy(resized, p * channels + keypoints, tags, p * keypoints * tagDim,
              keypoints * tagDim);
        }
      }
    }
    for (int j = 0; j < heatmaps.length; j++) {
      heatmaps[j] /= outputs.length;
    }
    return new BottomUpOutputs(height, width, keypoints, tagDim, heatmaps, tags);
  }

  /**
   * Grouped keypoints ({@code [K][3]}: x, y on the grid, value) into the pixels of the frame the
   * input was cut from, in place: the Java twin of {@code BottomUpCodec.grid_to_image}. Under
   * the MSRA convention half a pixel is added first (HigherHRNet's adjust and refine steps).
   * Joints never found (value not positive) become (0, 0).
   *
   * @param frameToGrid frame -> grid map ({@link Affine#fromBox} of the whole-frame crop)
   */
  public static float[][] toFrame(float[][] keypoints, Affine frameToGrid,
      Affine.Convention convention) {
    Affine back = frameToGrid.inverse();
    double shift = convention == Affine.Convention.MSRA ? 0.5 : 0.0;
    for (float[] point : keypoints) {
      double x = point[0] + shift;
      double y = point[1] + shift;
      point[0] = point[2] > 0 ? (float) back.x(x, y) : 0f;
      point[1] = point[2] > 0 ? (float) back.y(x, y) : 0f;
    }
    return keypoints;
  }

  /**
   * Bilinear resize of {@code [h, w, c]} to {@code [outH, outW, c]} with half-pixel centres:
   * source {@code (x + 0.5) * w / outW - 0.5}, clamped to the edge pixels (OpenCV's rule).
   */
  public static float[] resize(float[] src, int h, int w, int c, int outH, int outW) {
    if (h == outH && w == outW) {
      return src;
    }
    int[] x0 = new int[outW];
    float[] fx = new float[outW];
    sampling(w, outW, x0, fx);
    int[] y0 = new int[outH];
    float[] fy = new float[outH];
    sampling(h, outH, y0, fy);
    float[] out = new float[outH * outW * c];
    for (int y = 0; y < outH; y++) {
      int rowA = y0[y] * w;
      int rowB = Math.min(y0[y] + 1, h - 1) * w;
      for (int x = 0; x < outW; x++) {
        int colA = x0[x];
        int colB = Math.min(x0[x] + 1, w - 1);
        for (int ch = 0; ch < c; ch++) {
          float top = (1 - fx[x]) * src[(rowA + colA) * c + ch]
              + fx[x] * src[(rowA + colB) * c + ch];
          float bottom = (1 - fx[x]) * src[(rowB + colA) * c + ch]
              + fx[x] * src[(rowB + colB) * c + ch];
          out[(y * outW + x) * c + ch] = (1 - fy[y]) * top + fy[y] * bottom;
        }
      }
    }
    return out;
  }

  private static void sampling(int size, int outSize, int[] first, float[] frac) {
    double scale = size / (double) outSize;
    for (int i = 0; i < outSize; i++) {
      double at = (i + 0.5) * scale - 0.5;
      int low = (int) Math.floor(at);
      double f = at - low;
      if (low < 0) {
        low = 0;
        f = 0;
      }
      if (low >= size - 1) {
        low = size - 1;
        f = 0;
      }
      first[i] = low;
      frac[i] = (float) f;
    }
  }
}
