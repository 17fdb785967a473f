package org.tfpose.demo.pose;

/**
 * One-Euro settings for keypoints in pixels, scaled by the person's size in pixels: the Java
 * twin of {@code tfpose.inference.tracking.SmoothingSettings} (its docstring says why the
 * defaults are what they are; the golden files check both sides use the same).
 */
public final class SmoothingSettings {
  /** min_cutoff 1 Hz, beta 10, d_cutoff 1 Hz. */
  public static final SmoothingSettings DEFAULT = new SmoothingSettings(1.0, 10.0, 1.0);

  public final double minCutoff;
  public final double beta;
  public final double dCutoff;

  public SmoothingSettings(double minCutoff, double beta, double dCutoff) {
    OneEuroFilter.checkPositive("minCutoff", minCutoff, false);
    OneEuroFilter.checkPositive("beta", beta, true);
    OneEuroFilter.checkPositive("dCutoff", dCutoff, false);
    this.minCutoff = minCutoff;
    this.beta = beta;
    this.dCutoff = dCutoff;
  }

  public OneEuroFilter makeFilter() {
    return new OneEuroFilter(minCutoff, beta, dCutoff);
  }
}
