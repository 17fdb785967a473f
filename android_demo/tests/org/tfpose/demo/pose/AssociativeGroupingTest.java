package org.tfpose.demo.pose;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.List;
import org.junit.Test;

/** The grouping against tfpose.codecs.grouping.group_keypoints (golden files), and by hand. */
public class AssociativeGroupingTest {
  private static AssociativeGrouping.Config config(GoldenFile golden, String prefix) {
    String adjust = golden.words(prefix + "_adjust_names")[0];
    return new AssociativeGrouping.Config(
        golden.ints(prefix + "_nms_kernel")[0],
        golden.ints(prefix + "_max_candidates")[0],
        golden.floats(prefix + "_detection_threshold")[0],
        golden.floats(prefix + "_tag_threshold")[0],
        golden.ints(prefix + "_use_detection_value")[0] == 1,
        golden.ints(prefix + "_refine")[0] == 1,
        golden.ints(prefix + "_refine_within_tag_threshold")[0] == 1,
        AssociativeGrouping.Adjust.valueOf(adjust.toUpperCase(java.util.Locale.ROOT)),
        golden.ints(prefix + "_joint_order"));
  }

  private static void check(String file, String... prefixes) throws Exception {
    GoldenFile golden = GoldenFile.read(file);
    int[] shape = golden.shape("tags");
    float[] heatmaps = golden.floats("heatmaps");
    float[] tags = golden.floats("tags");
    for (String prefix : prefixes) {
      AssociativeGrouping.Result got = AssociativeGrouping.groupWithScores(heatmaps, tags,
          shape[0], shape[1], shape[2], shape[3], config(golden, prefix));
      int[] posesShape = golden.shape(prefix + "_poses");
      float[] poses = golden.floats(prefix + "_poses");
      float[] scores = golden.floats(prefix + "_scores");
      String where = file + " " + prefix;
      assertEquals(where + ": persons", posesShape[0], got.poses.size());
      assertEquals(where + ": scores", posesShape[0], got.scores.length);
      for (int p = 0; p < posesShape[0]; p++) {
        assertEquals(where + " person " + p + " score", scores[p], got.scores[p], 1e-5);
        float[][] pose = got.poses.get(p);
        for (int k = 0; k < shape[2]; k++) {
          int at = (p * shape[2] + k) * 3;
          String joint = where + " person " + p + " joint " + k;
          assertEquals(joint + " x", poses[at], pose[k][0], 1e-4);
          assertEquals(joint + " y", poses[at + 1], pose[k][1], 1e-4);
          assertEquals(joint + " value", poses[at + 2], pose[k][2], 1e-5);
        }
      }
      List<float[][]> plain = AssociativeGrouping.group(heatmaps, tags, shape[0], shape[1],
          shape[2], shape[3], config(golden, prefix));
      assertEquals(where, got.poses.size(), plain.size());
    }
  }

  @Test
  public void oneDimensionalTagsMatchPython() throws Exception {
    check("grouping_1d_tags.txt", "default");
  }

  @Test
  public void twoDimensionalTagsMatchPython() throws Exception {
    check("grouping_2d_tags.txt", "default", "other");
  }

  @Test
  public void defaultConfigIsPythons() throws Exception {
    GoldenFile golden = GoldenFile.read("grouping_1d_tags.txt");
    AssociativeGrouping.Config python = config(golden, "default");
    AssociativeGrouping.Config java = AssociativeGrouping.Config.DEFAULT;
    assertEquals(python.nmsKernel, java.nmsKernel);
    assertEquals(python.maxCandidates, java.maxCandidates);
    assertEquals(python.detectionThreshold, java.detectionThreshold, 0f);
    assertEquals(python.tagThreshold, java.tagThreshold, 0f);
    assertEquals(python.useDetectionValue, java.useDetectionValue);
    assertEquals(python.refine, java.refine);
    assertEquals(python.refineWithinTagThreshold, java.refineWithinTagThreshold);
    assertEquals(python.adjust, java.adjust);
    assertArrayEquals(python.jointOrder(), java.jointOrder());
  }

  private static final int H = 12;
  private static final int W = 16;
  private static final int K = 17;

  @Test
  public void emptyHeatmapsGiveNoPerson() {
    AssociativeGrouping.Result got = AssociativeGrouping.groupWithScores(new float[H * W * K],
        new float[H * W * K], H, W, K, 1, AssociativeGrouping.Config.DEFAULT);
    assertTrue(got.poses.isEmpty());
    assertEquals(0, got.scores.length);
  }

  @Test
  public void onePerson() {
    float[] heat = new float[H * W * K];
    float[] tags = new float[H * W * K];
    float sum = 0;
    for (int k = 0; k < K; k++) {
      int x = 1 + k % 13;
      int y = 1 + k % 9;
      float value = 0.3f + 0.04f * k;
      heat[(y * W + x) * K + k] = value;
      heat[(y * W + x + 1) * K + k] = 0.05f; // right neighbour higher than the left one
      tags[(y * W + x) * K + k] = 2.0f + 0.01f * k;
      sum += value;
    }
    AssociativeGrouping.Result got = AssociativeGrouping.groupWithScores(heat, tags, H, W, K, 1,
        AssociativeGrouping.Config.DEFAULT);
    assertEquals(1, got.poses.size());
    assertEquals(sum / K, got.scores[0], 1e-6);
    float[][] pose = got.poses.get(0);
    for (int k = 0; k < K; k++) {
      assertEquals("x " + k, 1 + k % 13 + 0.25f, pose[k][0], 0f);
      assertEquals("y " + k, 1 + k % 9, pose[k][1], 0f);
      assertEquals("value " + k, 0.3f + 0.04f * k, pose[k][2], 0f);
    }
  }

  @Test
  public void tagsSeparatePeopleAndRefineFillsMissingJoints() {
    // Two people far apart in tag space; the second one's joint 16 is weak (below the
    // detection threshold), so only refinement finds it.
    float[] heat = new float[H * W * K];
    float[] tags = new float[H * W * K];
    for (int k = 0; k < K; k++) {
      int y = k % H;
      put(heat, tags, 2, y, k, 0.9f - 0.01f * k, -1f);
      put(heat, tags, 10, y, k, k == 16 ? 0.05f : 0.5f + 0.01f * k, 3f);
    }
    List<float[][]> got = AssociativeGrouping.group(heat, tags, H, W, K, 1,
        AssociativeGrouping.Config.DEFAULT);
    assertEquals(2, got.size());
    assertEquals(2f, got.get(0)[16][0], 0f);
    assertEquals(10f, got.get(1)[16][0], 0f);
    assertEquals(0.05f, got.get(1)[16][2], 0f);
    for (int k = 0; k < K; k++) {
      assertEquals(2f, got.get(0)[k][0], 0f);
      assertEquals(10f, got.get(1)[k][0], 0f);
    }
  }

  @Test
  public void equalMaximaInOneWindowCountOnce() {
    // A plateau: two equal pixels side by side; the later one in raster order remains.
    float[] heat = new float[H * W * K];
    float[] tags = new float[H * W * K];
    put(heat, tags, 5, 4, 0, 0.8f, 1f);
    put(heat, tags, 6, 4, 0, 0.8f, 1f);
    AssociativeGrouping.Config config = new AssociativeGrouping.Config(5, 30, 0.1f, 1f, true,
        false, false, AssociativeGrouping.Adjust.NONE, null);
    List<float[][]> got = AssociativeGrouping.group(heat, tags, H, W, K, 1, config);
    assertEquals(1, got.size());
    assertEquals(6f, got.get(0)[0][0], 0f);
    assertEquals(4f, got.get(0)[0][1], 0f);
  }

  @Test
  public void badArgumentsAreRefused() {
    try {
      new AssociativeGrouping.Config(4, 30, 0.1f, 1f, true, true, false,
          AssociativeGrouping.Adjust.QUARTER, null);
      fail("even NMS kernel accepted");
    } catch (IllegalArgumentException expected) {
      assertTrue(expected.getMessage().contains("nmsKernel"));
    }
    AssociativeGrouping.Config twoJoints = new AssociativeGrouping.Config(5, 30, 0.1f, 1f, true,
        true, false, AssociativeGrouping.Adjust.QUARTER, new int[] {0, 0});
    try {
      AssociativeGrouping.group(new float[8], new float[8], 2, 2, 2, 1, twoJoints);
      fail("joint order [0, 0] accepted");
    } catch (IllegalArgumentException expected) {
      assertTrue(expected.getMessage().contains("permutation"));
    }
    try {
      AssociativeGrouping.group(new float[8], new float[4], 2, 2, 2, 1,
          new AssociativeGrouping.Config(5, 30, 0.1f, 1f, true, true, false,
              AssociativeGrouping.Adjust.QUARTER, null));
      fail("short tags accepted");
    } catch (IllegalArgumentException expected) {
      assertTrue(expected.getMessage().contains("tags"));
    }
  }

  private static void put(float[] heat, float[] tags, int x, int y, int k, float v, float tag) {
    heat[(y * W + x) * K + k] = v;
    tags[(y * W + x) * K + k] = tag;
  }
}
