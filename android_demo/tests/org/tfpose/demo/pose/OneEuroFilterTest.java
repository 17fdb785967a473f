package org.tfpose.demo.pose;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import org.junit.Test;

/** The One-Euro filter's hand cases (the golden clip checks it inside the tracker). */
public class OneEuroFilterTest {
  @Test
  public void firstCallReturnsTheInput() {
    OneEuroFilter filter = new OneEuroFilter(1.0, 3.0, 1.0);
    double[] x = {3.5, -2.0, 1e4};
    double[] got = filter.filter(0.25, x, 10.0);
    assertArrayEquals(x, got, 0.0);
    got[0] = 99.0; // a copy: changing it changes neither the input nor the filter
    assertEquals(3.5, x[0], 0.0);
  }

  @Test
  public void constantInputStaysConstant() {
    OneEuroFilter filter = SmoothingSettings.DEFAULT.makeFilter();
    double[] x = {120.25, 80.5};
    double t = 1.0;
    for (int i = 0; i < 20; i++) {
      t += 0.02 + 0.01 * (i % 3);
      assertArrayEquals(x, filter.filter(t, x, 50.0), 1e-12);
    }
  }

  @Test
  public void secondStepByHand() {
    // beta 0: a plain low-pass at min_cutoff. te = 0.1, fc = 2: tau = 1 / (4 pi).
    OneEuroFilter filter = new OneEuroFilter(2.0, 0.0, 1.0);
    filter.filter(1.0, new double[] {0.0}, 1.0);
    double alpha = 1.0 / (1.0 + (1.0 / (4 * Math.PI)) / 0.1);
    assertEquals(alpha * 10.0, filter.filter(1.1, new double[] {10.0}, 1.0)[0], 1e-12);
  }

  @Test
  public void scalingValuesAndScaleScalesTheOutput() {
    OneEuroFilter a = new OneEuroFilter(1.0, 3.0, 1.0);
    OneEuroFilter b = new OneEuroFilter(1.0, 3.0, 1.0);
    double factor = 7.5;
    double t = 0.0;
    for (int i = 0; i < 15; i++) {
      t += 1.0 / 30 + 0.004 * (i % 2);
      double[] x = {Math.sin(i * 0.7) * 20 + i * 3, Math.cos(i * 0.3) * 5};
      double[] scaled = {x[0] * factor, x[1] * factor};
      double[] got = a.filter(t, x, 40.0);
      double[] gotScaled = b.filter(t, scaled, 40.0 * factor);
      for (int d = 0; d < 2; d++) {
        assertEquals(got[d] * factor, gotScaled[d], 1e-9 * Math.max(1.0, Math.abs(gotScaled[d])));
      }
    }
  }

  @Test
  public void fasterMovementLagsLess() {
    // The same step from rest: with beta > 0 the filtered value follows it more closely.
    OneEuroFilter slow = new OneEuroFilter(1.0, 0.0, 1.0);
    OneEuroFilter quick = new OneEuroFilter(1.0, 3.0, 1.0);
    slow.filter(0.0, new double[] {0.0}, 1.0);
    quick.filter(0.0, new double[] {0.0}, 1.0);
    double lazy = slow.filter(0.033, new double[] {100.0}, 1.0)[0];
    double keen = quick.filter(0.033, new double[] {100.0}, 1.0)[0];
    assertEquals(true, keen > lazy);
  }

  @Test
  public void resetForgetsThePast() {
    OneEuroFilter filter = new OneEuroFilter(1.0, 3.0, 1.0);
    filter.filter(1.0, new double[] {0.0}, 1.0);
    filter.reset();
    assertArrayEquals(new double[] {5.0}, filter.filter(0.5, new double[] {5.0}, 1.0), 0.0);
  }

  @Test(expected = IllegalArgumentException.class)
  public void timeMustIncrease() {
    OneEuroFilter filter = new OneEuroFilter(1.0, 3.0, 1.0);
    filter.filter(1.0, new double[] {0.0}, 1.0);
    filter.filter(1.0, new double[] {1.0}, 1.0);
  }

  @Test(expected = IllegalArgumentException.class)
  public void scaleMustBePositive() {
    new OneEuroFilter(1.0, 3.0, 1.0).filter(1.0, new double[] {0.0}, 0.0);
  }

  @Test(expected = IllegalArgumentException.class)
  public void minCutoffMustBePositive() {
    new OneEuroFilter(0.0, 3.0, 1.0);
  }
}
