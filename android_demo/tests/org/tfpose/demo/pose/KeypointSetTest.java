package org.tfpose.demo.pose;

import static org.junit.Assert.assertArrayEquals;

import org.junit.Test;

/** The app's keypoint facts are tfpose/keypoints.py's (golden file). */
public class KeypointSetTest {
  @Test
  public void cocoMatchesThePythonPackage() throws Exception {
    GoldenFile golden = GoldenFile.read("keypoints_coco.txt");
    assertArrayEquals(golden.words("keypoint_names"), KeypointSet.COCO_NAMES);
    assertArrayEquals(golden.ints("flip_index"), KeypointSet.COCO_FLIP);
    int[] edges = golden.ints("skeleton");
    int[][] pairs = new int[edges.length / 2][];
    for (int i = 0; i < pairs.length; i++) {
      pairs[i] = new int[] {edges[2 * i], edges[2 * i + 1]};
    }
    assertArrayEquals(pairs, KeypointSet.COCO_SKELETON);
  }
}
