package org.tfpose.demo.pose;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/** Known colours through the BT.601 full-range conversion, with camera2's strided planes. */
public class YuvConverterTest {
  private static int convert(int y, int u, int v) {
    // a 2x2 frame, luma row stride 4 (padding), interleaved chroma (pixel stride 2)
    byte[] luma = new byte[8];
    for (int i : new int[] {0, 1, 4, 5}) {
      luma[i] = (byte) y;
    }
    byte[] cb = {(byte) u, (byte) v};
    byte[] cr = {(byte) v, (byte) u};
    int[] argb = YuvConverter.toArgb(2, 2, luma, 4, cb, cr, 2, 2);
    for (int pixel : argb) {
      assertEquals(argb[0], pixel);
    }
    return argb[0];
  }

  @Test
  public void greysStayGrey() {
    assertEquals(0xFF808080, convert(128, 128, 128));
    assertEquals(0xFF000000, convert(0, 128, 128));
    assertEquals(0xFFFFFFFF, convert(255, 128, 128));
  }

  @Test
  public void primariesComeOut() {
    // JFIF YCbCr of pure red (255, 0, 0): Y 76, Cb 85, Cr 255
    int red = convert(76, 85, 255);
    assertEquals(255, (red >> 16) & 0xFF, 1);  // Y was rounded to an integer
    assertEquals(0, (red >> 8) & 0xFF, 1);
    assertEquals(0, red & 0xFF, 1);
  }
}
