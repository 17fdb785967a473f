package org.tfpose.demo.pose;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
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
  }

  @Test
  public void badEntriesAreNamed() {
    String[][] cases = {
      {"kind=topdown\nkeypoints=coco\n", "no 'output' entry"},
      {"kind=sideways\nkeypoints=coco\noutput=gaussian\n", "unknown kind 'sideways'"},
      {"kind=topdown\nkeypoints=mpii\noutput=gaussian\n", "COCO keypoints only"},
      {"kind=topdown\nkeypoints=coco\noutput=dark\n", "unknown output 'dark'"},
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
