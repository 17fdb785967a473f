package org.tfpose.demo.pose;

/**
 * COCO's 17 keypoints as the app draws them. The facts come from {@code tfpose/keypoints.py};
 * the JVM tests compare these arrays with the golden file it exports, so they cannot drift.
 */
public final class KeypointSet {
  private KeypointSet() {}

  public static final String[] COCO_NAMES = {
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
  };

  /** Each keypoint's mirror twin (left <-> right). */
  public static final int[] COCO_FLIP = {0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15};

  /** Limbs: pairs of keypoint indices. */
  public static final int[][] COCO_SKELETON = {
    {15, 13}, {13, 11}, {16, 14}, {14, 12}, {11, 12}, {5, 11}, {6, 12}, {5, 6}, {5, 7}, {6, 8},
    {7, 9}, {8, 10}, {1, 2}, {0, 1}, {0, 2}, {1, 3}, {2, 4},
  };

  /** Whether a keypoint is on the person's left (drawn in its own colour). */
  public static boolean isLeft(int keypoint) {
    return COCO_NAMES[keypoint].startsWith("left_");
  }
}
