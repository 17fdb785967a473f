package org.tfpose.demo.pose;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/**
 * The decoder against HeatmapCodec.decode (golden files), Gaussian and sigmoid outputs, and a
 * Gaussian one under the MSRA convention.
 */
public class HeatmapDecoderTest {
  private static void check(String file) throws Exception {
    GoldenFile golden = GoldenFile.read(file);
    int[] shape = golden.shape("raw");
    boolean sigmoid = golden.ints("output_is_sigmoid")[0] == 1;
    int[] input = golden.ints("input_size");
    int[] frame = golden.ints("frame_size");
    Affine.Convention convention = PreprocessorTest.convention(golden);
    // a top-down crop of the whole frame: the fitted centre under either convention
    Affine.Crop crop = Affine.Crop.wholeFrame(frame[0], frame[1], input[0], input[1],
        Affine.Convention.TFPOSE);
    for (String decoder : new String[] {"argmax", "quarter"}) {
      float[][] got = HeatmapDecoder.decode(golden.floats("raw"), shape[0], shape[1], shape[2],
          sigmoid, decoder.equals("quarter"), convention);
      float[] xy = golden.floats(decoder + "_heatmap_xy");
      float[] score = golden.floats(decoder + "_score");
      for (int k = 0; k < shape[2]; k++) {
        String where = file + " " + decoder + " keypoint " + k;
        assertEquals(where + " x", xy[2 * k], got[k][0], 1e-6);
        assertEquals(where + " y", xy[2 * k + 1], got[k][1], 1e-6);
        assertEquals(where + " score", score[k], got[k][2], 1e-5);
      }
      HeatmapDecoder.toFrame(got, Affine.fromBox(crop, shape[0], shape[1], convention));
      float[] frameXy = golden.floats(decoder + "_frame_xy");
      for (int k = 0; k < shape[2]; k++) {
        assertEquals(file + " frame x " + k, frameXy[2 * k], got[k][0], 1e-3);
        assertEquals(file + " frame y " + k, frameXy[2 * k + 1], got[k][1], 1e-3);
      }
    }
  }

  @Test
  public void gaussianOutputsMatchPython() throws Exception {
    check("decode_gaussian.txt");
  }

  @Test
  public void sigmoidOutputsMatchPython() throws Exception {
    check("decode_sigmoid.txt");
  }

  @Test
  public void msraOutputsMatchPython() throws Exception {
    check("decode_msra.txt");
  }

  @Test
  public void quarterShiftIsTowardTheHigherNeighbour() {
    // 1 keypoint on a 3x3 map: peak in the middle, right and lower neighbours higher than
    // their opposites.
    float[] raw = {0f, 0.1f, 0f, 0.2f, 1f, 0.5f, 0f, 0.6f, 0f};
    float[][] got = HeatmapDecoder.decode(raw, 3, 3, 1, false, true, Affine.Convention.TFPOSE);
    assertEquals(1.25f, got[0][0], 0f);
    assertEquals(1.25f, got[0][1], 0f);
    assertEquals(1f, got[0][2], 0f);
    // MSRA: a peak one pixel from the left and top borders does not move
    got = HeatmapDecoder.decode(raw, 3, 3, 1, false, true, Affine.Convention.MSRA);
    assertEquals(1f, got[0][0], 0f);
    assertEquals(1f, got[0][1], 0f);
  }

  @Test
  public void msraPutsAKeypointWithoutAPositivePeakAtTheOrigin() {
    float[] raw = {-0.9f, -0.8f, -0.9f, -0.7f, -0.1f, -0.6f, -0.9f, -0.8f, -0.9f};
    float[][] tfpose = HeatmapDecoder.decode(raw, 3, 3, 1, false, false,
        Affine.Convention.TFPOSE);
    float[][] msra = HeatmapDecoder.decode(raw, 3, 3, 1, false, false, Affine.Convention.MSRA);
    assertEquals(1f, tfpose[0][0], 0f);
    assertEquals(0f, msra[0][0], 0f);
    assertEquals(0f, msra[0][1], 0f);
    assertEquals(-0.1f, msra[0][2], 0f);
  }
}
