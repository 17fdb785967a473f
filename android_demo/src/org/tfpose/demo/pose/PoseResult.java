package org.tfpose.demo.pose;

/** One frame's pose: keypoints in upright-image pixels and what the frame cost. */
public final class PoseResult {
  /** {@code [K][3]}: x, y in upright-image pixels, score (activated heatmap value). */
  public final float[][] keypoints;
  public final int imageWidth;
  public final int imageHeight;
  public final double preprocessMs;
  public final double inferenceMs;
  public final double decodeMs;

  public PoseResult(float[][] keypoints, int imageWidth, int imageHeight, double preprocessMs,
      double inferenceMs, double decodeMs) {
    this.keypoints = keypoints;
    this.imageWidth = imageWidth;
    this.imageHeight = imageHeight;
    this.preprocessMs = preprocessMs;
    this.inferenceMs = inferenceMs;
    this.decodeMs = decodeMs;
  }
}
