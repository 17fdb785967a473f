package org.tfpose.demo.pose;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import org.junit.Test;

/**
 * Bottom-up outputs onto the grouping grid: OpenCV's bilinear rule, averaging, tag split; and
 * grouped persons from the grid back to the frame under each convention (golden file).
 */
public class BottomUpOutputsTest {
  @Test
  public void doublingARowFollowsHalfPixelCentres() {
    // Source x of output x: (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25: clamped at the ends.
    float[] got = BottomUpOutputs.resize(new float[] {0f, 8f}, 1, 2, 1, 1, 4);
    assertArrayEquals(new float[] {0f, 2f, 6f, 8f}, got, 1e-6f);
  }

  @Test
  public void tagsComeFromTheCoarseOutputAndHeatmapsAreAveraged() {
    int k = 2;
    // Coarse 1x1 output: heatmaps 0.2, 0.4 then tags 5, 7 (D = 1). Fine 2x2: K heatmaps only.
    float[] coarse = {0.2f, 0.4f, 5f, 7f};
    float[] fine = new float[2 * 2 * k];
    for (int p = 0; p < 4; p++) {
      fine[p * k] = 0.6f;
      fine[p * k + 1] = p;
    }
    BottomUpOutputs merged = BottomUpOutputs.merge(new float[][] {coarse, fine},
        new int[][] {{1, 1, 2 * k}, {2, 2, k}}, k);
    assertEquals(2, merged.height);
    assertEquals(2, merged.width);
    assertEquals(1, merged.tagDim);
    for (int p = 0; p < 4; p++) {
      assertEquals(0.4f, merged.heatmaps[p * k], 1e-6f);
      assertEquals((0.4f + p) / 2, merged.heatmaps[p * k + 1], 1e-6f);
      assertEquals(5f, merged.tags[p * k], 0f);
      assertEquals(7f, merged.tags[p * k + 1], 0f);
    }
  }

  @Test
  public void groupedJointsGoBackToTheFrameAsInPython() throws Exception {
    GoldenFile golden = GoldenFile.read("bottomup_to_frame.txt");
    int[] frame = golden.ints("frame_size");
    int[] input = golden.ints("input_size");
    int[] grid = golden.ints("grid_size");
    int[] shape = golden.shape("poses");
    for (Affine.Convention convention : Affine.Convention.values()) {
      String name = convention.name().toLowerCase(java.util.Locale.ROOT);
      float[] poses = golden.floats("poses");
      float[] want = golden.floats(name + "_frame_poses");
      Affine.Crop crop = Affine.Crop.wholeFrame(frame[0], frame[1], input[0], input[1],
          convention);
      Affine frameToGrid = Affine.fromBox(crop, grid[0], grid[1], convention);
      for (int p = 0; p < shape[0]; p++) {
        float[][] keypoints = new float[shape[1]][3];
        for (int k = 0; k < shape[1]; k++) {
          System.arraycopy(poses, (p * shape[1] + k) * 3, keypoints[k], 0, 3);
        }
        BottomUpOutputs.toFrame(keypoints, frameToGrid, convention);
        for (int k = 0; k < shape[1]; k++) {
          for (int c = 0; c < 3; c++) {
            assertEquals(name + " person " + p + " joint " + k + " [" + c + "]",
                want[(p * shape[1] + k) * 3 + c], keypoints[k][c], 1e-4);
          }
        }
      }
    }
  }

  @Test(expected = IllegalArgumentException.class)
  public void anOutputWithoutTagsIsRefused() {
    BottomUpOutputs.merge(new float[][] {new float[4]}, new int[][] {{1, 2, 2}}, 2);
  }
}
