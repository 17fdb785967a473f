package org.tfpose.demo.pose;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.Test;

/** The tracker against PoseTracker on the golden clip, plus hand cases of its rules. */
public class PoseTrackerTest {
  private static final int K = KeypointSet.COCO_NAMES.length;

  private static void close(String where, double want, double got) {
    assertEquals(where, want, got, 1e-4 * Math.max(1.0, Math.abs(want)));
  }

  /** Runs the clip through {@code tracker} and checks every output of every frame. */
  private static void replay(GoldenFile golden, PoseTracker tracker, double grow,
      double minScore) {
    int[] imageSize = golden.ints("image_size");
    float[] times = golden.floats("times");
    int[] personCounts = golden.ints("person_counts");
    float[] keypoints = golden.floats("keypoints");
    float[] scores = golden.floats("scores");
    int[] hasBox = golden.ints("has_box");
    float[] boxes = golden.floats("boxes");
    int[] trackedCounts = golden.ints("tracked_counts");
    int[] trackIds = golden.ints("track_ids");
    int[] trackedIndex = golden.ints("tracked_index");
    float[] smoothed = golden.floats("smoothed");
    float[] shownBoxes = golden.floats("shown_boxes");
    int[] ageHitsGap = golden.ints("age_hits_gap");
    int[] liveCounts = golden.ints("live_counts");
    int[] liveIds = golden.ints("live_ids");
    int[] nextCounts = golden.ints("next_box_counts");
    float[] nextBoxes = golden.floats("next_boxes");
    int person = 0;
    int tracked = 0;
    int live = 0;
    int next = 0;
    for (int f = 0; f < times.length; f++) {
      List<Person> persons = new ArrayList<>();
      for (int i = 0; i < personCounts[f]; i++, person++) {
        float[][] points = new float[K][3];
        for (int k = 0; k < K; k++) {
          System.arraycopy(keypoints, (person * K + k) * 3, points[k], 0, 3);
        }
        double[] box = null;
        if (hasBox[person] == 1) {
          box = new double[4];
          for (int d = 0; d < 4; d++) {
            box[d] = boxes[4 * person + d];
          }
        }
        persons.add(new Person(points, scores[person], box));
      }
      List<TrackedPose> got = tracker.update(persons, times[f]);
      String frame = golden.path.getFileName() + " frame " + f;
      assertEquals(frame + ": tracked persons", trackedCounts[f], got.size());
      for (TrackedPose pose : got) {
        String where = frame + " track " + trackIds[tracked];
        assertEquals(where + ": id", trackIds[tracked], pose.trackId);
        assertEquals(where + ": which person", persons.get(trackedIndex[tracked]), pose.raw);
        assertArrayEquals(where + ": age, hits, gap",
            Arrays.copyOfRange(ageHitsGap, 3 * tracked, 3 * tracked + 3),
            new int[] {pose.age, pose.hits, pose.gap});
        for (int k = 0; k < K; k++) {
          for (int d = 0; d < 3; d++) {
            close(where + " keypoint " + k + "[" + d + "]",
                smoothed[(tracked * K + k) * 3 + d], pose.person.keypoints[k][d]);
          }
        }
        for (int d = 0; d < 4; d++) {
          close(where + " box[" + d + "]", shownBoxes[4 * tracked + d], pose.person.box[d]);
        }
        tracked++;
      }
      assertArrayEquals(frame + ": live tracks", Arrays.copyOfRange(liveIds, live,
          live + liveCounts[f]), tracker.trackIds());
      live += liveCounts[f];
      List<double[]> gotBoxes = tracker.nextBoxes(imageSize[0], imageSize[1], grow, minScore);
      if (nextCounts[f] == 0) {
        assertNull(frame + ": no next boxes (whole frame)", gotBoxes);
      } else {
        assertEquals(frame + ": next boxes", nextCounts[f], gotBoxes.size());
        for (double[] box : gotBoxes) {
          for (int d = 0; d < 4; d++) {
            close(frame + " next box " + next + "[" + d + "]", nextBoxes[4 * next + d], box[d]);
          }
          next++;
        }
      }
    }
    assertEquals(trackIds.length, tracked);
    assertEquals(nextBoxes.length / 4, next);
  }

  @Test
  public void defaultSettingsMatchPython() throws Exception {
    GoldenFile golden = GoldenFile.read("tracking_clip_defaults.txt");
    SmoothingSettings s = SmoothingSettings.DEFAULT;
    assertArrayEquals(golden.floats("smoothing"),
        new float[] {(float) s.minCutoff, (float) s.beta, (float) s.dCutoff}, 0f);
    assertArrayEquals(golden.floats("tracker"), new float[] {
        (float) PoseTracker.DEFAULT_MATCH_OKS, PoseTracker.DEFAULT_MAX_MISSED,
        (float) PoseTracker.DEFAULT_MIN_START_SCORE}, 0f);
    assertArrayEquals(golden.floats("next_boxes_options"), new float[] {
        (float) PoseTracker.DEFAULT_GROW, (float) PoseTracker.DEFAULT_MIN_SCORE}, 0f);
    replay(golden, new PoseTracker(K, PoseTracker.COCO_SIGMAS, SmoothingSettings.DEFAULT),
        PoseTracker.DEFAULT_GROW, PoseTracker.DEFAULT_MIN_SCORE);
  }

  @Test
  public void otherSettingsMatchPython() throws Exception {
    GoldenFile golden = GoldenFile.read("tracking_clip.txt");
    float[] s = golden.floats("smoothing");
    float[] t = golden.floats("tracker");
    float[] n = golden.floats("next_boxes_options");
    float[] sigmaValues = golden.floats("sigmas");
    double[] sigmas = new double[sigmaValues.length];
    for (int k = 0; k < sigmas.length; k++) {
      sigmas[k] = sigmaValues[k];
    }
    PoseTracker tracker = new PoseTracker(K, sigmas, new SmoothingSettings(s[0], s[1], s[2]),
        t[0], (int) t[1], t[2]);
    replay(golden, tracker, n[0], n[1]);
  }

  @Test
  public void cocoSigmasAreThePackagesOnes() throws Exception {
    float[] want = GoldenFile.read("tracking_clip.txt").floats("sigmas");
    assertEquals(want.length, PoseTracker.COCO_SIGMAS.length);
    for (int k = 0; k < want.length; k++) {
      assertEquals("sigma " + k, want[k], PoseTracker.COCO_SIGMAS[k], 1e-8);
    }
  }

  private static Person standing(double x, double y, double size, float score) {
    float[][] points = new float[K][];
    for (int k = 0; k < K; k++) {
      points[k] = new float[] {(float) (x + size * ((k % 3) - 1) * 0.2),
          (float) (y + size * k / K), score};
    }
    return new Person(points, score, null);
  }

  @Test
  public void idsStartAtOneAndAreNeverReused() {
    PoseTracker tracker = new PoseTracker(K, PoseTracker.COCO_SIGMAS, null, 0.3, 0, 0.3);
    List<TrackedPose> first = tracker.update(Arrays.asList(standing(50, 50, 100, 0.9f),
        standing(300, 50, 100, 0.9f)), 0.0);
    assertEquals(1, first.get(0).trackId);
    assertEquals(2, first.get(1).trackId);
    // The first person gone one frame with max_missed 0: the track ends; back, a new id.
    tracker.update(Collections.singletonList(standing(300, 50, 100, 0.9f)), 0.1);
    assertArrayEquals(new int[] {2}, tracker.trackIds());
    List<TrackedPose> back = tracker.update(Arrays.asList(standing(50, 50, 100, 0.9f),
        standing(301, 50, 100, 0.9f)), 0.2);
    assertEquals(3, back.get(0).trackId);
    assertEquals(2, back.get(1).trackId);
    assertEquals(back.get(0).person, back.get(0).raw); // no smoothing: the person as given
  }

  @Test
  public void aWeakPersonStartsNothing() {
    PoseTracker tracker = new PoseTracker(K, null, SmoothingSettings.DEFAULT);
    assertEquals(0, tracker.update(Collections.singletonList(standing(50, 50, 100, 0.2f)),
        0.0).size());
    assertEquals(0, tracker.trackIds().length);
    assertNull(tracker.nextBoxes(100, 100));
  }

  @Test(expected = IllegalArgumentException.class)
  public void timeMustIncrease() {
    PoseTracker tracker = new PoseTracker(K, null, null);
    tracker.update(Collections.<Person>emptyList(), 1.0);
    tracker.update(Collections.<Person>emptyList(), 1.0);
  }

  @Test(expected = IllegalArgumentException.class)
  public void keypointCountMustFit() {
    new PoseTracker(K, null, null).update(Collections.singletonList(
        new Person(new float[3][3], 1.0, null)), 0.0);
  }

  @Test
  public void boxAroundGrowsAndClips() {
    double[][] points = {{10, 20, 0.9}, {30, 60, 0.9}, {20, 40, 0.5}, {500, 500, 0.05}};
    // 20 x 40 about (20, 40), grown 1.5: 30 x 60 from (5, 10); clipped at x 25 and y 50.
    assertArrayEquals(new double[] {5, 10, 30, 60},
        PoseTracker.boxAround(points, 1.5, 100, 100, PoseTracker.CONFIDENT), 1e-12);
    assertArrayEquals(new double[] {5, 10, 20, 40},
        PoseTracker.boxAround(points, 1.5, 50, 25, PoseTracker.CONFIDENT), 1e-12);
    double[][] two = {{10, 20, 0.9}, {30, 60, 0.9}, {20, 40, 0.1}, {Double.NaN, 1, 0.9}};
    assertNull(PoseTracker.boxAround(two, 1.5, 100, 100, PoseTracker.CONFIDENT));
    double[][] outside = {{-50, -50, 0.9}, {-40, -20, 0.9}, {-45, -30, 0.9}};
    assertNull(PoseTracker.boxAround(outside, 1.25, 100, 100, PoseTracker.CONFIDENT));
  }
}
