package org.tfpose.demo.pose;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import org.junit.Test;

/** Frame -> upright image -> view: rotations, mirroring and scaling by their known properties. */
public class GeometryTest {
  private static double[] map(Affine a, double x, double y) {
    return new double[] {a.x(x, y), a.y(x, y)};
  }

  @Test
  public void rotationsTakeCornersWhereATurnedPhotoPutsThem() {
    int w = 40;
    int h = 30;
    // clockwise by 90: the frame's top-left corner goes to the top-right
    assertArrayEquals(new double[] {h - 1, 0}, map(Affine.upright(w, h, 90, false), 0, 0), 0);
    assertArrayEquals(new double[] {h - 1, w - 1},
        map(Affine.upright(w, h, 90, false), w - 1, 0), 0);
    assertArrayEquals(new double[] {w - 1, h - 1}, map(Affine.upright(w, h, 180, false), 0, 0), 0);
    assertArrayEquals(new double[] {0, w - 1}, map(Affine.upright(w, h, 270, false), 0, 0), 0);
    // a front camera: turned, then mirrored
    assertArrayEquals(new double[] {0, 0}, map(Affine.upright(w, h, 90, true), 0, 0), 0);
  }

  @Test
  public void fourQuarterTurnsAreTheIdentity() {
    Affine turn = Affine.upright(40, 30, 90, false);
    Affine back = turn.then(Affine.upright(30, 40, 90, false)).then(Affine.upright(40, 30, 90,
        false)).then(Affine.upright(30, 40, 90, false));
    assertArrayEquals(new double[] {1, 0, 0, 0, 1, 0}, back.m, 1e-12);
  }

  @Test
  public void inverseUndoes() {
    Affine a = Affine.fromBox(Affine.Crop.ofBox(3, 4, 20, 30, 0.75, 1.25), 256, 192,
        Affine.Convention.TFPOSE);
    Affine round = a.then(a.inverse());
    assertArrayEquals(new double[] {1, 0, 0, 0, 1, 0}, round.m, 1e-12);
  }

  @Test
  public void conventionsPutTheBoxCentreOnTheirGridCentre() {
    Affine.Crop crop = new Affine.Crop(10, 20, 8, 16);
    // tfpose: ((W - 1) / 2, (H - 1) / 2); MSRA: (W / 2, H / 2); the same scale W / w
    assertArrayEquals(new double[] {1.5, 3.5},
        map(Affine.fromBox(crop, 8, 4, Affine.Convention.TFPOSE), 10, 20), 1e-12);
    assertArrayEquals(new double[] {2, 4},
        map(Affine.fromBox(crop, 8, 4, Affine.Convention.MSRA), 10, 20), 1e-12);
    assertEquals(0.5, Affine.fromBox(crop, 8, 4, Affine.Convention.MSRA).m[0], 0);
  }

  @Test
  public void wholeFrameCentreIsAWholePixelUnderMsra() {
    // a 31x40 frame: tfpose's fitted centre (19.5, 15); HigherHRNet's (int(20.5), int(16))
    Affine.Crop fitted = Affine.Crop.wholeFrame(31, 40, 32, 24, Affine.Convention.TFPOSE);
    Affine.Crop msra = Affine.Crop.wholeFrame(31, 40, 32, 24, Affine.Convention.MSRA);
    assertArrayEquals(new double[] {19.5, 15}, new double[] {fitted.centerX, fitted.centerY},
        1e-12);
    assertArrayEquals(new double[] {20, 16}, new double[] {msra.centerX, msra.centerY}, 0);
    assertArrayEquals(new double[] {fitted.width, fitted.height},
        new double[] {msra.width, msra.height}, 0);
  }

  @Test(expected = IllegalArgumentException.class)
  public void onlyQuarterTurns() {
    Affine.upright(4, 4, 45, false);
  }

  @Test
  public void fillCoversTheViewAndFitLetterboxes() {
    // a 480x640 upright image in a 1080x1920 view (portrait phone)
    ViewMapper fill = new ViewMapper(480, 640, 1080, 1920, true);
    assertEquals(3.0, fill.scale, 1e-12);  // 1920 / 640; the width is cropped
    assertEquals(-0.5, fill.y(-0.5), 1e-4);  // image edges on view edges
    assertEquals(1919.5, fill.y(639.5), 1e-4);
    assertEquals(539.5, fill.x(239.5), 1e-4);  // the centre stays the centre
    ViewMapper fit = new ViewMapper(480, 640, 1080, 1920, false);
    assertEquals(2.25, fit.scale, 1e-12);
    assertEquals(-0.5, fit.x(-0.5), 1e-4);
    assertEquals(1079.5, fit.x(479.5), 1e-4);
    assertEquals((1920 - 640 * 2.25) / 2 - 0.5, fit.y(-0.5), 1e-4);
  }
}
