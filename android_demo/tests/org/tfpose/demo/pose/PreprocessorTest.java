package org.tfpose.demo.pose;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import java.nio.ByteBuffer;
import org.junit.Test;

/** The crop of a frame into the model input against the Python pipeline's (golden files). */
public class PreprocessorTest {
  /** The golden image as Android's ARGB ints. */
  private static int[] argb(GoldenFile golden) {
    int[] rgb = golden.ints("image");
    int[] out = new int[rgb.length / 3];
    for (int i = 0; i < out.length; i++) {
      out[i] = 0xFF000000 | rgb[3 * i] << 16 | rgb[3 * i + 1] << 8 | rgb[3 * i + 2];
    }
    return out;
  }

  static Affine.Convention convention(GoldenFile golden) {
    return Affine.Convention.valueOf(
        golden.words("convention_names")[0].toUpperCase(java.util.Locale.ROOT));
  }

  private static void checkCase(GoldenFile golden, Affine.Crop crop) {
    int[] shape = golden.shape("image");
    int[] size = golden.ints("input_size");
    Affine affine = Affine.fromBox(crop, size[0], size[1], convention(golden));
    float[] want = golden.floats("image_to_input");
    for (int i = 0; i < 6; i++) {
      assertEquals("image_to_input[" + i + "]", want[i], affine.m[i], 1e-5);
    }
    float[] got = Preprocessor.cut(argb(golden), shape[1], shape[0], affine, size[0], size[1]);
    assertArrayEquals(golden.floats("input"), got, 1e-2f);  // of 0-255
  }

  /** The whole frame, its centre under {@code centre} (top-down crops: always the fitted one). */
  private static void checkWholeFrame(String file, Affine.Convention centre) throws Exception {
    GoldenFile golden = GoldenFile.read(file);
    int[] shape = golden.shape("image");
    int[] size = golden.ints("input_size");
    checkCase(golden, Affine.Crop.wholeFrame(shape[0], shape[1], size[0], size[1], centre));
  }

  private static void checkPersonBox(String file) throws Exception {
    GoldenFile golden = GoldenFile.read(file);
    float[] box = golden.floats("box");
    int[] size = golden.ints("input_size");
    checkCase(golden, Affine.Crop.ofBox(box[0], box[1], box[2], box[3], size[1] / (double) size[0],
        golden.floats("padding")[0]));
  }

  @Test
  public void wholeFrameMatchesPython() throws Exception {
    checkWholeFrame("preprocess_whole.txt", Affine.Convention.TFPOSE);
  }

  @Test
  public void personBoxMatchesPython() throws Exception {
    checkPersonBox("preprocess_box.txt");
  }

  @Test
  public void msraWholeFrameMatchesPython() throws Exception {
    checkWholeFrame("preprocess_whole_msra.txt", Affine.Convention.TFPOSE);
  }

  @Test
  public void msraPersonBoxMatchesPython() throws Exception {
    checkPersonBox("preprocess_box_msra.txt");
  }

  @Test
  public void msraBottomUpWholeFrameMatchesPython() throws Exception {
    checkWholeFrame("preprocess_bottomup_msra.txt", Affine.Convention.MSRA);
  }

  @Test
  public void uint8InputRoundsHalfToEvenAndClips() {
    ByteBuffer buffer = Preprocessor.asUint8(new float[] {12.5f, 13.5f, -3f, 300f}, 1f, 0);
    assertEquals(12, buffer.get(0) & 0xFF);
    assertEquals(14, buffer.get(1) & 0xFF);
    assertEquals(0, buffer.get(2) & 0xFF);
    assertEquals(255, buffer.get(3) & 0xFF);
  }

  @Test(expected = IllegalArgumentException.class)
  public void aFrameOfTheWrongSizeIsRefused() {
    Preprocessor.cut(new int[10], 4, 4, new Affine(1, 0, 0, 0, 1, 0), 2, 2);
  }
}
