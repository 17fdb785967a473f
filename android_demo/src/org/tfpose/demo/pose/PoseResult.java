package org.tfpose.demo.pose;

/** One frame's people, each with its track id, and what the frame cost. */
public final class PoseResult {
  /**
   * Per person {@code [K][3]}: x, y in upright-image pixels (smoothed when smoothing is on),
   * score (activated heatmap value).
   */
  public final float[][][] persons;
  /** Per person its track id (from 1, never reused while the model stays loaded). */
  public final int[] trackIds;
  public final int imageWidth;
  public final int imageHeight;
  /** Model runs this frame: one per crop (top-down models following people), else 1. */
  public final int modelRuns;
  /** Whether the crops came from the previous frame's people (false: the whole frame). */
  public final boolean followed;
  /** Totals over the frame's model runs. */
  public final double preprocessMs;
  public final double inferenceMs;
  /** Decoding, grouping and tracking. */
  public final double decodeMs;

  public PoseResult(float[][][] persons, int[] trackIds, int imageWidth, int imageHeight,
      int modelRuns, boolean followed, double preprocessMs, double inferenceMs,
      double decodeMs) {
    if (persons.length != trackIds.length) {
      throw new IllegalArgumentException(persons.length + " persons, " + trackIds.length
          + " track ids");
    }
    this.persons = persons;
    this.trackIds = trackIds;
    this.imageWidth = imageWidth;
    this.imageHeight = imageHeight;
    this.modelRuns = modelRuns;
    this.followed = followed;
    this.preprocessMs = preprocessMs;
    this.inferenceMs = inferenceMs;
    this.decodeMs = decodeMs;
  }
}
