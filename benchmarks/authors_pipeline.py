"""How close an imported SimpleBaseline's keypoints come to its authors' test path (README,
"Coordinate conventions"), on the COCO sample with the detector's boxes:

    python benchmarks/authors_pipeline.py --seeds 0 1 2      # about 1 min per seed on 2 cores

Per seed: a reference SimpleBaseline-R50 with random calibrated weights (tests/weights/
references.py) is saved in the authors' layout and imported; its keypoints through tfpose's
predictor (flip test) are compared with the authors' path (tests/weights/authors_pipeline.py) on
the detector's boxes scored 0.9 or more, then on boxes moved to whole pixels at the image's scale,
and with the authors' own crops fed to the imported model. Needs the ``reference`` extra and
../shared/data.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.weights import authors_pipeline  # noqa: E402
from tests.weights import references as ref  # noqa: E402
from tfpose import load_model  # noqa: E402
from tfpose.inference.images import read_rgb  # noqa: E402
from tfpose.keypoints import COCO_17  # noqa: E402
from tfpose.weights import import_weights  # noqa: E402

SAMPLE = REPO.parent / "shared" / "data" / "coco_sample"


def measure(seed: int, input_size, folder: Path) -> dict:
    ref.torch.manual_seed(seed)
    net = ref.calibrate(ref.SimpleBaseline(50), input_size, seed)
    ref.torch.save(net.pose_state_dict(), folder / "pose_resnet_50.pth")
    import_weights(folder / "pose_resnet_50.pth", "simplebaseline_r50", out=folder / "m.keras",
                   input_size=input_size)
    predictor = load_model(folder / "m.keras", flip_test=True)
    codec = predictor.info.heatmap_codec()

    def network(crops):
        return ref.run(net, ref.torch_input(crops, "bgr"))[0]

    detections = [d for d in json.loads((SAMPLE / "test_coco_det_AP_H_56.json").read_text())
                  if d["score"] >= 0.9]
    names = {im["id"]: im["file_name"]
             for im in json.loads((SAMPLE / "test_coco.json").read_text())["images"]}
    errors = {"detector boxes": [], "whole-pixel boxes": [], "the authors' crops": []}
    for image_id, name in names.items():
        boxes = [d["bbox"] for d in detections if d["image_id"] == image_id]
        if not boxes:
            continue
        image = read_rgb(SAMPLE / name)
        aligned = [authors_pipeline.whole_pixel_box(b, input_size) for b in boxes]
        theirs = {}
        for label, chosen in (("detector boxes", boxes), ("whole-pixel boxes", aligned)):
            theirs[label], _ = authors_pipeline.predict(network, image, chosen, input_size,
                                                        COCO_17.flip_pairs)
            ours = np.stack([p.keypoints[:, :2] for p in predictor.predict(image, chosen)])
            errors[label].append(np.linalg.norm(ours - theirs[label], axis=-1).ravel())
        centers, scales = zip(*(authors_pipeline.box_to_center_scale(b, 0.75) for b in boxes),
                              strict=True)
        crops = np.stack([authors_pipeline.crop(image, c, s, input_size)
                          for c, s in zip(centers, scales, strict=True)]).astype(np.float32)
        outputs = predictor.model.run(crops)[0]
        mirrored = predictor.model.run(np.ascontiguousarray(crops[:, :, ::-1]))[0]
        merged = codec.merge_flip(outputs, mirrored, COCO_17.flip_index)
        ours, _ = codec.decode_to_image(merged, np.stack(centers), np.stack(scales) * 200)
        errors["the authors' crops"].append(
            np.linalg.norm(ours - theirs["detector boxes"], axis=-1).ravel())
    return {label: np.concatenate(e) for label, e in errors.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--input-size", type=int, nargs=2, default=[256, 192])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for seed in args.seeds:
            for label, error in measure(seed, tuple(args.input_size), Path(folder)).items():
                print(f"seed {seed}, {label}: {(error <= 1).sum()} of {error.size} keypoints "
                      f"within 1 px, median {np.median(error):.4f} px, max {error.max():.1f} px")


if __name__ == "__main__":
    main()
