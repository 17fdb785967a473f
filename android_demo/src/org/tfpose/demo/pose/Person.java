package org.tfpose.demo.pose;

/**
 * One person of a frame, the Java twin of {@code tfpose.inference.predictor.Person}: keypoints
 * in image pixels, a score, and the box it was cropped from (top-down) or null (bottom-up).
 */
public final class Person {
  /** {@code [K][3]}: x, y in image pixels, score. */
  public final float[][] keypoints;
  public final double score;
  /** {@code {x, y, w, h}} in image pixels, or null when the person came without a box. */
  public final double[] box;

  public Person(float[][] keypoints, double score, double[] box) {
    if (box != null && box.length != 4) {
      throw new IllegalArgumentException("a box is {x, y, w, h}, got " + box.length + " values");
    }
    this.keypoints = keypoints;
    this.score = score;
    this.box = box;
  }

  /** The mean keypoint score (a top-down person's score with the whole frame as its box). */
  public static double meanScore(float[][] keypoints) {
    double sum = 0.0;
    for (float[] k : keypoints) {
      sum += k[2];
    }
    return keypoints.length == 0 ? 0.0 : sum / keypoints.length;
  }
}
