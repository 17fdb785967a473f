package org.tfpose.demo.pose;

/**
 * A camera2 {@code YUV_420_888} frame to ARGB pixels (BT.601, full range: the JFIF convention
 * Android's cameras use). Plain arrays in, so it runs and is tested on the host.
 */
public final class YuvConverter {
  private YuvConverter() {}

  /**
   * @param y luma plane with {@code yRowStride}
   * @param u chroma planes at half resolution, with their row and pixel strides (camera2
   *     planes are often interleaved: pixel stride 2)
   */
  public static int[] toArgb(int width, int height, byte[] y, int yRowStride, byte[] u, byte[] v,
      int uvRowStride, int uvPixelStride) {
    int[] out = new int[width * height];
    for (int row = 0; row < height; row++) {
      for (int col = 0; col < width; col++) {
        int luma = y[row * yRowStride + col] & 0xFF;
        int chroma = (row / 2) * uvRowStride + (col / 2) * uvPixelStride;
        int cb = (u[chroma] & 0xFF) - 128;
        int cr = (v[chroma] & 0xFF) - 128;
        int r = clamp(luma + 1.402f * cr);
        int g = clamp(luma - 0.344136f * cb - 0.714136f * cr);
        int b = clamp(luma + 1.772f * cb);
        out[row * width + col] = 0xFF000000 | r << 16 | g << 8 | b;
      }
    }
    return out;
  }

  private static int clamp(float value) {
    return Math.max(0, Math.min(255, Math.round(value)));
  }
}
