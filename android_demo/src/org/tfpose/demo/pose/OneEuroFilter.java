package org.tfpose.demo.pose;

/**
 * The One-Euro filter (Casiez, Roussel, Vogel, CHI 2012), elementwise over a vector of values:
 * the Java twin of {@code tfpose.inference.tracking.OneEuroFilter}, with its rules.
 *
 * <p>Each element is a first-order low-pass whose cutoff rises with the element's speed. Per
 * call at time t (seconds, strictly increasing), with te the time since the previous call:
 * alpha(fc) = 1 / (1 + tau / te), tau = 1 / (2 pi fc); the speed (x - previous filtered) / te is
 * low-passed at dCutoff; cutoff = minCutoff + beta |filtered speed| / scale; filtered = alpha x +
 * (1 - alpha) previous filtered. The first call returns x unchanged. {@code scale} is the size of
 * the object the values belong to, in the units of the values.
 */
public final class OneEuroFilter {
  public final double minCutoff;
  public final double beta;
  public final double dCutoff;
  private boolean started;
  private double lastT;
  private double[] lastX;
  private double[] lastDx;

  public OneEuroFilter(double minCutoff, double beta, double dCutoff) {
    this.minCutoff = checkPositive("minCutoff", minCutoff, false);
    this.beta = checkPositive("beta", beta, true);
    this.dCutoff = checkPositive("dCutoff", dCutoff, false);
  }

  /** Forgets the past: the next call returns its input unchanged. */
  public void reset() {
    started = false;
    lastX = null;
    lastDx = null;
  }

  /**
   * The filtered values (a new array) at time {@code t} seconds; {@code scale} > 0 is the size
   * of the object {@code x} describes.
   */
  public double[] filter(double t, double[] x, double scale) {
    checkTime(t);
    checkPositive("scale", scale, false);
    if (!started) {
      started = true;
      lastT = t;
      lastX = x.clone();
      lastDx = new double[x.length];
      return x.clone();
    }
    if (t <= lastT) {
      throw new IllegalArgumentException("time must increase from call to call: got " + t
          + " after " + lastT);
    }
    if (x.length != lastX.length) {
      throw new IllegalArgumentException(x.length + " values for a filter of " + lastX.length);
    }
    double te = t - lastT;
    double alphaD = alpha(dCutoff, te);
    double[] filtered = new double[x.length];
    double[] dx = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      // The same operations in the same order as the Python filter.
      dx[i] = alphaD * (x[i] - lastX[i]) / te + (1.0 - alphaD) * lastDx[i];
      double a = alpha(minCutoff + beta * Math.abs(dx[i]) / scale, te);
      filtered[i] = a * x[i] + (1.0 - a) * lastX[i];
    }
    lastT = t;
    lastX = filtered;
    lastDx = dx;
    return filtered.clone();
  }

  /** Smoothing factor of a first-order low-pass at {@code cutoff} Hz for a step of te s. */
  private static double alpha(double cutoff, double te) {
    double tau = 1.0 / (2.0 * Math.PI * cutoff);
    return 1.0 / (1.0 + tau / te);
  }

  static double checkTime(double t) {
    if (Double.isNaN(t) || Double.isInfinite(t) || t < 0) {
      throw new IllegalArgumentException("time must be finite and not negative, got " + t);
    }
    return t;
  }

  static double checkPositive(String name, double value, boolean zeroOk) {
    if (Double.isNaN(value) || Double.isInfinite(value) || value < 0 || (value == 0 && !zeroOk)) {
      throw new IllegalArgumentException(name + " must be finite and "
          + (zeroOk ? "not negative" : "positive") + ", got " + value);
    }
    return value;
  }
}
