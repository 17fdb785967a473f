package org.tfpose.demo.pose;

/**
 * Heatmaps to keypoints, the Java twin of {@code tfpose.codecs.heatmap.HeatmapCodec.decode} for
 * models converted without {@code --with-decoder}.
 *
 * <p>Per keypoint: the first maximum of its map (row-major, as numpy's argmax); with
 * {@code quarter}, a quarter pixel toward the higher neighbour along x and along y (not on the
 * border). The score is the (activated) value at the peak: sigmoid models output logits. Under
 * the MSRA convention (the authors' {@code get_max_preds} and {@code get_final_preds}) a
 * keypoint whose peak is not positive is put at (0, 0), and the quarter step needs the peak at
 * least two pixels from the left and top borders ({@code QUARTER_MARGIN} in Python).
 */
public final class HeatmapDecoder {
  private HeatmapDecoder() {}

  /**
   * @param raw model output {@code [H, W, K]}, row-major (the batch of one dropped)
   * @param convention the model's pixel convention
   * @return {@code [K][3]}: x, y in heatmap pixels, score
   */
  public static float[][] decode(float[] raw, int height, int width, int keypoints,
      boolean sigmoid, boolean quarter, Affine.Convention convention) {
    if (raw.length != height * width * keypoints) {
      throw new IllegalArgumentException("output has " + raw.length + " values, expected "
          + height + "x" + width + "x" + keypoints);
    }
    float[] maps = sigmoid ? activate(raw) : raw;
    boolean msra = convention == Affine.Convention.MSRA;
    int margin = msra ? 2 : 1; // the quarter step moves a peak at margin <= x < W - 1
    float[][] result = new float[keypoints][3];
    for (int k = 0; k < keypoints; k++) {
      int best = 0;
      for (int i = 1; i < height * width; i++) {
        if (maps[i * keypoints + k] > maps[best * keypoints + k]) {
          best = i;
        }
      }
      boolean found = !msra || maps[best * keypoints + k] > 0;
      int x = found ? best % width : 0;
      int y = found ? best / width : 0;
      float dx = 0;
      float dy = 0;
      if (quarter && x >= margin && x < width - 1 && y >= margin && y < height - 1) {
        dx = 0.25f * Math.signum(at(maps, width, keypoints, x + 1, y, k)
            - at(maps, width, keypoints, x - 1, y, k));
        dy = 0.25f * Math.signum(at(maps, width, keypoints, x, y + 1, k)
            - at(maps, width, keypoints, x, y - 1, k));
      }
      result[k][0] = x + dx;
      result[k][1] = y + dy;
      result[k][2] = maps[best * keypoints + k];
    }
    return result;
  }

  private static float at(float[] maps, int width, int keypoints, int x, int y, int k) {
    return maps[(y * width + x) * keypoints + k];
  }

  private static float[] activate(float[] logits) {
    float[] out = new float[logits.length];
    for (int i = 0; i < logits.length; i++) {
      out[i] = (float) (1.0 / (1.0 + Math.exp(-logits[i])));
    }
    return out;
  }

  /** Keypoints from one grid (heatmap or input pixels) into frame pixels, in place. */
  public static float[][] toFrame(float[][] keypoints, Affine frameToGrid) {
    Affine back = frameToGrid.inverse();
    for (float[] point : keypoints) {
      double x = point[0];
      double y = point[1];
      point[0] = (float) back.x(x, y);
      point[1] = (float) back.y(x, y);
    }
    return keypoints;
  }
}
