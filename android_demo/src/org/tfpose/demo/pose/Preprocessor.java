package org.tfpose.demo.pose;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Cuts a camera frame into a model input, sampled exactly as the Python pipeline samples it
 * ({@code tfpose.codecs.geometry.warp_image}: TensorFlow's projective transform, bilinear, zero
 * outside the frame). Models normalise inside their graph, so the input is RGB in 0-255.
 */
public final class Preprocessor {
  private Preprocessor() {}

  /**
   * @param argb frame pixels as Android's {@code Bitmap.getPixels} gives them (0xAARRGGBB,
   *     row-major, {@code width * height})
   * @param frameToInput frame -> model input map ({@link Affine#fromBox})
   * @return {@code [outH, outW, 3]} RGB floats 0-255, row-major
   */
  public static float[] cut(int[] argb, int width, int height, Affine frameToInput, int outH,
      int outW) {
    if (argb.length != width * height) {
      throw new IllegalArgumentException(
          "frame has " + argb.length + " pixels, expected " + width + "x" + height);
    }
    Affine inputToFrame = frameToInput.inverse();
    float[] out = new float[outH * outW * 3];
    for (int v = 0; v < outH; v++) {
      for (int u = 0; u < outW; u++) {
        // float32 arithmetic, as TensorFlow's kernel computes the sampling position
        float x = (float) inputToFrame.m[0] * u + (float) inputToFrame.m[1] * v
            + (float) inputToFrame.m[2];
        float y = (float) inputToFrame.m[3] * u + (float) inputToFrame.m[4] * v
            + (float) inputToFrame.m[5];
        sample(argb, width, height, x, y, out, (v * outW + u) * 3);
      }
    }
    return out;
  }

  /** Bilinear from the four neighbours; a neighbour outside the frame counts as 0. */
  private static void sample(int[] argb, int width, int height, float x, float y, float[] out,
      int offset) {
    float x0 = (float) Math.floor(x);
    float y0 = (float) Math.floor(y);
    float x1 = x0 + 1;
    float y1 = y0 + 1;
    for (int c = 0; c < 3; c++) {
      float top = (x1 - x) * read(argb, width, height, (int) x0, (int) y0, c)
          + (x - x0) * read(argb, width, height, (int) x1, (int) y0, c);
      float bottom = (x1 - x) * read(argb, width, height, (int) x0, (int) y1, c)
          + (x - x0) * read(argb, width, height, (int) x1, (int) y1, c);
      out[offset + c] = (y1 - y) * top + (y - y0) * bottom;
    }
  }

  private static float read(int[] argb, int width, int height, int x, int y, int channel) {
    if (x < 0 || y < 0 || x >= width || y >= height) {
      return 0f;
    }
    int pixel = argb[y * width + x];
    return (pixel >> (16 - 8 * channel)) & 0xFF; // R, G, B
  }

  /** A float32 input tensor, native byte order, as the interpreter takes it. */
  public static ByteBuffer asFloat32(float[] input) {
    ByteBuffer buffer = ByteBuffer.allocateDirect(4 * input.length).order(ByteOrder.nativeOrder());
    for (float value : input) {
      buffer.putFloat(value);
    }
    buffer.rewind();
    return buffer;
  }

  /** A uint8 input tensor of a full-integer model: {@code round(v / scale + zeroPoint)}. */
  public static ByteBuffer asUint8(float[] input, float scale, int zeroPoint) {
    ByteBuffer buffer = ByteBuffer.allocateDirect(input.length).order(ByteOrder.nativeOrder());
    for (float value : input) {
      double q = Math.rint(value / scale + zeroPoint); // half to even, as numpy.round
      buffer.put((byte) (int) Math.max(0, Math.min(255, q)));
    }
    buffer.rewind();
    return buffer;
  }
}
