package org.tfpose.demo.pose;

import java.util.Arrays;

/**
 * Rectangular minimum-cost assignment, the Java twin of {@code
 * scipy.optimize.linear_sum_assignment}: Kuhn-Munkres (Hungarian) with row and column
 * potentials and shortest augmenting paths, O(n^2 m) for n = min(rows, cols), m = max.
 */
public final class Assignment {
  private Assignment() {}

  /**
   * @param cost {@code rows x cols} finite costs (rows may be more or fewer than cols; every row
   *     has the same length)
   * @return for each row the column assigned to it, or -1 for a row left without a column (only
   *     when rows > cols); the min(rows, cols) pairs have the least total cost
   */
  public static int[] solve(double[][] cost) {
    int rows = cost.length;
    int cols = rows == 0 ? 0 : cost[0].length;
    for (int r = 0; r < rows; r++) {
      if (cost[r] == null || cost[r].length != cols) {
        throw new IllegalArgumentException("cost row " + r + " has "
            + (cost[r] == null ? "no" : String.valueOf(cost[r].length)) + " columns, expected "
            + cols);
      }
      for (int c = 0; c < cols; c++) {
        if (Double.isNaN(cost[r][c]) || Double.isInfinite(cost[r][c])) {
          throw new IllegalArgumentException("cost[" + r + "][" + c + "] is " + cost[r][c]);
        }
      }
    }
    int[] result = new int[rows];
    Arrays.fill(result, -1);
    if (rows == 0 || cols == 0) {
      return result;
    }
    if (rows <= cols) {
      int[] rowToCol = solveWide(cost, rows, cols, false);
      System.arraycopy(rowToCol, 0, result, 0, rows);
    } else {
      // Transposed: each column gets a row.
      int[] colToRow = solveWide(cost, cols, rows, true);
      for (int c = 0; c < cols; c++) {
        result[colToRow[c]] = c;
      }
    }
    return result;
  }

  /**
   * n <= m: every one of the n "left" items gets one of the m "right" items. {@code transposed}
   * reads the cost of left i, right j as cost[j][i].
   */
  private static int[] solveWide(double[][] cost, int n, int m, boolean transposed) {
    double[] u = new double[n + 1];
    double[] v = new double[m + 1];
    int[] owner = new int[m + 1]; // 1-based left item holding right item j; 0: free
    int[] via = new int[m + 1];
    double[] reach = new double[m + 1];
    boolean[] done = new boolean[m + 1];
    for (int i = 1; i <= n; i++) {
      owner[0] = i;
      int j0 = 0;
      Arrays.fill(reach, Double.POSITIVE_INFINITY);
      Arrays.fill(done, false);
      do {
        done[j0] = true;
        int i0 = owner[j0];
        double delta = Double.POSITIVE_INFINITY;
        int j1 = -1;
        for (int j = 1; j <= m; j++) {
          if (done[j]) {
            continue;
          }
          double c = transposed ? cost[j - 1][i0 - 1] : cost[i0 - 1][j - 1];
          double reduced = c - u[i0] - v[j];
          if (reduced < reach[j]) {
            reach[j] = reduced;
            via[j] = j0;
          }
          if (reach[j] < delta) {
            delta = reach[j];
            j1 = j;
          }
        }
        if (j1 < 0) {
          throw new IllegalStateException("no augmenting path (costs out of range?)");
        }
        for (int j = 0; j <= m; j++) {
          if (done[j]) {
            u[owner[j]] += delta;
            v[j] -= delta;
          } else {
            reach[j] -= delta;
          }
        }
        j0 = j1;
      } while (owner[j0] != 0);
      do {
        int j1 = via[j0];
        owner[j0] = owner[j1];
        j0 = j1;
      } while (j0 != 0);
    }
    int[] leftToRight = new int[n];
    for (int j = 1; j <= m; j++) {
      if (owner[j] != 0) {
        leftToRight[owner[j] - 1] = j - 1;
      }
    }
    return leftToRight;
  }
}
