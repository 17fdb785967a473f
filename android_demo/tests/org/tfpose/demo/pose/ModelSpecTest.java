package org.tfpose.demo.pose;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.Test;

/** The properties tfpose.export.app_bundle writes, and what is wrong with bad ones. */
public class ModelSpecTest {
  private static ModelSpec read(String text) throws IOException {
    return ModelSpec.read("m.properties",
        new ByteArrayInputStream(text.getBytes(StandardCharsets.ISO_8859_1)));
  }

  @Test
  public void readsABinaryTopDownModel() throws IOException {
    ModelSpec spec = read("label=model (binary, LCE)\nkind=topdown\nkeypoints=coco\n"
        + "output=decoded\nbinary=true\nmodel=bihrnet\n");
    assertEquals("model (binary, LCE)", spec.label);
    assertFalse(spec.bottomUp);
    assertEquals(ModelSpec.Output.DECODED, spec.output);
    assertTrue(spec.binary);
    assertEquals(Affine.Convention.TFPOSE, spec.convention);  // files without the entry
  }

  @Test
  public void readsThePixelConvention() throws IOException {
    String head = "kind=topdown\nkeypoints=coco\noutput=gaussian\n";
    assertEquals(Affine.Convention.MSRA, read(head + "convention=msra\n").convention);
    assertEquals(Affine.Convention.TFPOSE, read(head + "convention=tfpose\n").convention);
  }

  @Test
  public void readsTheGroupingSettingsOfABottomUpModel() throws IOException {
    ModelSpec spec = read("label=lp\nkind=bottomup\nkeypoints=coco\noutput=gaussian\n"
        + "binary=false\nmodel=litepose\ngrouping.nms_kernel=3\ngrouping.max_candidates=12\n"
        + "grouping.detection_threshold=0.05\ngrouping.tag_threshold=0.75\n"
        + "grouping.use_detection_value=false\ngrouping.refine=false\n"
        + "grouping.refine_within_tag_threshold=true\ngrouping.adjust=none\n"
        + "grouping.joint_order=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\ngrouping.stride=1\n");
    assertTrue(spec.bottomUp);
    AssociativeGrouping.Config g = spec.grouping;
    assertEquals(3, g.nmsKernel);
    assertEquals(12, g.maxCandidates);
    assertEquals(0.05f, g.detectionThreshold, 0f);
    assertEquals(0.75f, g.tagThreshold, 0f);
    assertFalse(g.useDetectionValue);
    assertFalse(g.refine);
    assertTrue(g.refineWithinTagThreshold);
    assertEquals(AssociativeGrouping.Adjust.NONE, g.adjust);
    assertEquals(16, g.jointOrder()[16]);
    assertEquals(1, spec.groupingStride);
  }

  @Test
  public void olderBottomUpFilesGroupWithTheDefaults() throws IOException {
    ModelSpec spec = read("kind=bottomup\nkeypoints=coco\noutput=gaussian\n");
    assertSame(AssociativeGrouping.Config.DEFAULT, spec.grouping);
    assertEquals(0, spec.groupingStride);
    ModelSpec dark = read("kind=bottomup\nkeypoints=coco\noutput=gaussian\n"
        + "grouping.adjust=dark\ngrouping.tag_threshold=2\n");
    assertEquals(AssociativeGrouping.Adjust.QUARTER, dark.grouping.adjust);
    assertEquals(2f, dark.grouping.tagThreshold, 0f);
    assertEquals(5, dark.grouping.nmsKernel);
    assertNull(read("kind=topdown\nkeypoints=coco\noutput=gaussian\n").grouping);
  }

  @Test
  public void badEntriesAreNamed() {
    String[][] cases = {
      {"kind=topdown\nkeypoints=coco\n", "no 'output' entry"},
      {"kind=sideways\nkeypoints=coco\noutput=gaussian\n", "unknown kind 'sideways'"},
      {"kind=topdown\nkeypoints=mpii\noutput=gaussian\n", "COCO keypoints only"},
      {"kind=topdown\nkeypoints=coco\noutput=dark\n", "unknown output 'dark'"},
      {"kind=topdown\nkeypoints=coco\noutput=gaussian\nconvention=udp\n",
        "unknown convention 'udp'"},
      {"kind=bottomup\nkeypoints=coco\noutput=gaussian\ngrouping.nms_kernel=4\n",
        "bad grouping settings: nmsKernel"},
      {"kind=bottomup\nkeypoints=coco\noutput=gaussian\ngrouping.refine=yes\n",
        "bad grouping.refine 'yes'"},
      {"kind=bottomup\nkeypoints=coco\noutput=gaussian\ngrouping.adjust=sideways\n",
        "unknown grouping.adjust 'sideways'"},
      {"kind=bottomup\nkeypoints=coco\noutput=gaussian\ngrouping.joint_order=0,x\n",
        "bad grouping.joint_order"},
      {"kind=bottomup\nkeypoints=coco\noutput=gaussian\ngrouping.joint_order=0,1\n",
        "not a permutation of the 17"},
    };
    for (String[] c : cases) {
      try {
        read(c[0]);
        fail("accepted " + c[0]);
      } catch (IOException e) {
        assertTrue(e.getMessage(), e.getMessage().startsWith("m.properties: "));
        assertTrue(e.getMessage(), e.getMessage().contains(c[1]));
      }
    }
  }
}
