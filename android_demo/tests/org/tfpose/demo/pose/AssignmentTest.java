package org.tfpose.demo.pose;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Random;
import org.junit.Test;

/** Hungarian assignment against brute force over every injective pairing. */
public class AssignmentTest {
  /** The least total cost over all ways to pair min(rows, cols) rows with distinct columns. */
  private static double bruteForce(double[][] cost, int rows, int cols) {
    if (rows <= cols) {
      return bestRows(cost, 0, rows, new boolean[cols]);
    }
    double[][] transposed = new double[cols][rows];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        transposed[c][r] = cost[r][c];
      }
    }
    return bestRows(transposed, 0, cols, new boolean[rows]);
  }

  private static double bestRows(double[][] cost, int row, int rows, boolean[] taken) {
    if (row == rows) {
      return 0.0;
    }
    double best = Double.POSITIVE_INFINITY;
    for (int c = 0; c < taken.length; c++) {
      if (!taken[c]) {
        taken[c] = true;
        best = Math.min(best, cost[row][c] + bestRows(cost, row + 1, rows, taken));
        taken[c] = false;
      }
    }
    return best;
  }

  /** Checks the result is a valid assignment of min(rows, cols) pairs; returns its cost. */
  private static double checkedTotal(double[][] cost, int rows, int cols, int[] got) {
    assertEquals(rows, got.length);
    boolean[] used = new boolean[cols];
    int pairs = 0;
    double total = 0.0;
    for (int r = 0; r < rows; r++) {
      if (got[r] < 0) {
        assertEquals(-1, got[r]);
        continue;
      }
      assertTrue("column " + got[r] + " out of range", got[r] < cols);
      assertTrue("column " + got[r] + " given twice", !used[got[r]]);
      used[got[r]] = true;
      pairs++;
      total += cost[r][got[r]];
    }
    assertEquals(Math.min(rows, cols), pairs);
    return total;
  }

  @Test
  public void matchesBruteForceOnRandomMatrices() {
    Random random = new Random(17);
    for (int trial = 0; trial < 600; trial++) {
      int rows = 1 + random.nextInt(6);
      int cols = 1 + random.nextInt(6);
      double[][] cost = new double[rows][cols];
      boolean integers = trial % 3 == 0; // many ties
      for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
          cost[r][c] = integers ? random.nextInt(5) - 2 : random.nextDouble() * 10 - 3;
        }
      }
      int[] got = Assignment.solve(cost);
      String where = "trial " + trial + " (" + rows + "x" + cols + ")";
      assertEquals(where, bruteForce(cost, rows, cols), checkedTotal(cost, rows, cols, got), 1e-9);
    }
  }

  @Test
  public void emptyMatrices() {
    assertArrayEquals(new int[0], Assignment.solve(new double[0][0]));
    assertArrayEquals(new int[0], Assignment.solve(new double[0][3]));
    assertArrayEquals(new int[] {-1, -1}, Assignment.solve(new double[2][0]));
  }

  @Test
  public void tallMatrixLeavesTheCostliestRowsOut() {
    double[][] cost = {{5, 9}, {1, 7}, {8, 2}, {4, 4}};
    // Best: row 1 -> 0 (1), row 2 -> 1 (2).
    assertArrayEquals(new int[] {-1, 0, 1, -1}, Assignment.solve(cost));
  }

  @Test
  public void wideMatrixPicksColumns() {
    double[][] cost = {{3, 1, 4, 1.5}, {2, 0.5, 6, 5}};
    // Best: row 0 -> 3 (1.5), row 1 -> 1 (0.5): 2.0 (row 0 -> 1, row 1 -> 0 costs 3.0).
    assertArrayEquals(new int[] {3, 1}, Assignment.solve(cost));
  }

  @Test(expected = IllegalArgumentException.class)
  public void raggedRowsAreRefused() {
    Assignment.solve(new double[][] {{1, 2}, {3}});
  }

  @Test(expected = IllegalArgumentException.class)
  public void nanIsRefused() {
    Assignment.solve(new double[][] {{1, Double.NaN}});
  }
}
