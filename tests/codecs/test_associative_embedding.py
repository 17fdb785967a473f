import os

import numpy as np
import pytest

from tests.evaluation.bottomup_oracles import figures
from tests.weights import authors_pipeline
from tfpose.codecs.associative_embedding import BottomUpCodec, coco_results
from tfpose.codecs.bottomup_protocol import (
    authors_protocol,
)
from tfpose.codecs.grouping import GroupingConfig, group_keypoints
from tfpose.data import coco as coco_reader
from tfpose.evaluation.bottomup_check import (
    ideal_outputs,
    ideal_runs,
    match_persons,
    mirror_input,
    through,
    to_input,
)
from tfpose.keypoints import COCO_17, CROWDPOSE_14

CODEC = BottomUpCodec(input_size=(512, 512))


def three_people() -> np.ndarray:
    """Three standing COCO figures in 512x512 input pixels, two of them overlapping."""
    rng = np.random.default_rng(0)
    offsets = np.array([  # x, y of each keypoint relative to the figure's nose, for height 1
        [0, 0], [.03, -.02], [-.03, -.02], [.06, 0], [-.06, 0], [.12, .15], [-.12, .15],
        [.16, .32], [-.16, .32], [.18, .47], [-.18, .47], [.08, .5], [-.08, .5],
        [.09, .72], [-.09, .72], [.1, .95], [-.1, .95]])
    people = []
    for nose, height in (((120.3, 80.6), 300), ((180.7, 120.2), 280), ((400.1, 200.9), 150)):
        points = np.asarray(nose) + offsets * height + rng.normal(0, 1.5, offsets.shape)
        people.append(np.concatenate([points, np.full((17, 1), 2.0)], axis=1))
    people = np.array(people, np.float32)
    people[2, [3, 15], 2] = 0  # unlabelled joints
    return people


def decode_ideal(codec, keypoints, image_size, keypoint_set=COCO_17, flip=False):
    inputs = to_input(keypoints, image_size, codec.input_size)
    flipped = None
    if flip:
        flipped = ideal_outputs(codec, mirror_input(inputs, codec.input_size, keypoint_set))
    (poses, scores), = codec.decode(ideal_outputs(codec, inputs), [image_size],
                                    keypoint_set=keypoint_set, flipped_outputs=flipped)
    return poses, scores


def assert_recovers_everyone(truth, poses, image_size, input_size, max_error_input_px):
    """Same person count, every labelled joint found within ``max_error_input_px``."""
    assert len(poses) == len(truth)
    pairs, errors = match_persons(truth, poses)
    assert len(pairs) == len(truth)
    scale = min(input_size[0] / image_size[0], input_size[1] / image_size[1])
    errors = np.asarray(errors) * scale
    assert errors.max() <= max_error_input_px
    return errors


def test_three_people_recovered_within_a_quarter_grid_pixel():
    # Quarter adjustment on the stride-2 grid: at most 0.25 grid px = 0.5 input px per axis.
    truth = three_people()
    poses, scores = decode_ideal(CODEC, truth, (512, 512))
    assert_recovers_everyone(truth, poses, (512, 512), (512, 512), 0.5 * np.sqrt(2))
    assert scores.min() > 0.8 and poses.shape == (3, 17, 3)


def test_dark_adjustment_is_exact_on_ideal_heatmaps():
    codec = BottomUpCodec(grouping=GroupingConfig(adjust="dark"))
    truth = three_people()
    poses, _ = decode_ideal(codec, truth, (512, 512))
    assert_recovers_everyone(truth, poses, (512, 512), (512, 512), 0.05)


def real_people(ann, keypoint_set):
    coco = coco_reader.load_coco(ann, keypoint_set)
    records = coco_reader.read_coco_persons(ann, "", keypoint_set, coco=coco, check_images=False)
    for image_id in np.unique(records.image_ids):
        image = coco.imgs[int(image_id)]
        yield records.keypoints[records.image_ids == image_id], (image["height"], image["width"])


@pytest.mark.parametrize("input_size", [(512, 512), (448, 448)])
def test_recovers_every_person_of_coco_sample(coco_sample, input_size):
    # Joints on the image border may be off by up to 1.5 input px: the bilinear resize of the
    # stride-4 heatmaps replicates the edge, which pulls border peaks outward.
    codec = BottomUpCodec(input_size=input_size)
    errors = []
    for truth, image_size in real_people(coco_sample / "test_coco.json", COCO_17):
        poses, _ = decode_ideal(codec, truth, image_size)
        errors += list(assert_recovers_everyone(truth, poses, image_size, input_size, 2.0))
    assert np.mean(np.asarray(errors) <= 1.0) >= 0.98


def test_recovers_every_person_of_crowdpose_sample(crowdpose_sample):
    for truth, image_size in real_people(crowdpose_sample / "test_crowdpose.json", CROWDPOSE_14):
        poses, _ = decode_ideal(CODEC, truth, image_size, CROWDPOSE_14)
        assert_recovers_everyone(truth, poses, image_size, CODEC.input_size, 1.0)


@pytest.mark.parametrize("flip_tags", ["concat", "average"])
def test_flip_test_of_a_mirror_symmetric_input_changes_nothing(flip_tags):
    codec = BottomUpCodec(grouping=GroupingConfig(flip_tags=flip_tags))
    truth = three_people()
    plain, plain_scores = decode_ideal(codec, truth, (512, 512))
    flipped, flip_scores = decode_ideal(codec, truth, (512, 512), flip=True)
    np.testing.assert_allclose(flipped, plain, atol=1e-4)
    np.testing.assert_allclose(flip_scores, plain_scores, atol=1e-6)


def test_flip_merge_mirrors_back_and_swaps_sides():
    outputs = ideal_outputs(CODEC, to_input(three_people(), (512, 512), (512, 512)))
    mirrored = []
    for i, output in enumerate(outputs):
        k = 17
        channels = np.r_[COCO_17.flip_index, k + COCO_17.flip_index] if i == 0 else \
            COCO_17.flip_index
        mirrored.append(output[:, :, ::-1][..., channels])
    heatmaps, tags = CODEC.merge_outputs(outputs, mirrored, COCO_17)
    plain_heatmaps, plain_tags = CODEC.merge_outputs(outputs)
    np.testing.assert_allclose(heatmaps, plain_heatmaps, atol=1e-6)
    np.testing.assert_allclose(tags, np.concatenate([plain_tags, plain_tags], -1), atol=1e-6)
    assert heatmaps.shape == (1, 256, 256, 17) and tags.shape == (1, 256, 256, 17, 2)


def test_a_batch_of_images_and_results_format():
    truth = three_people()
    one = ideal_outputs(CODEC, to_input(truth, (512, 512), (512, 512)))
    empty = ideal_outputs(CODEC, np.zeros((0, 17, 3), np.float32))
    batch = [np.concatenate([a, b]) for a, b in zip(one, empty, strict=True)]
    results = CODEC.decode_to_results(batch, [(512, 512), (300, 200)], [7, 8])
    assert len(results) == 3 and {r["image_id"] for r in results} == {7}
    for result in results:
        assert result["category_id"] == 1 and len(result["keypoints"]) == 17 * 3
        scores = np.array(result["keypoints"][2::3])
        assert 0 < result["score"] <= 1 and scores.min() > 0
    assert coco_results([1], [(np.zeros((0, 17, 3)), np.zeros(0))]) == []


def test_image_pixels_go_through_the_inverse_whole_image_affine():
    # A 300x600 (H x W) image fills a 256x512 input exactly at half size.
    codec = BottomUpCodec(input_size=(256, 512))
    truth = three_people()
    truth[..., 0] = truth[..., 0] + 40  # keep them inside the 600-wide image
    truth[..., 1] = truth[..., 1] * 300 / 512
    poses, _ = decode_ideal(codec, truth, (300, 600))
    assert_recovers_everyone(truth, poses, (300, 600), (256, 512), 0.5 * np.sqrt(2))


def test_bad_grouping_stride():
    with pytest.raises(ValueError, match="grouping stride"):
        BottomUpCodec(input_size=(512, 512), grouping=GroupingConfig(grouping_stride=3))


def test_wrong_outputs_are_named():
    outputs = ideal_outputs(CODEC, np.zeros((0, 17, 3), np.float32))
    with pytest.raises(ValueError, match="expected 2 outputs"):
        CODEC.decode(outputs[:1], [(512, 512)])
    with pytest.raises(ValueError, match="output 0 has 17 channels"):
        CODEC.decode([outputs[0][..., :17], outputs[1]], [(512, 512)])
    with pytest.raises(ValueError, match=r"output 1 has shape \(1, 128, 128, 17\)"):
        CODEC.decode([outputs[0], outputs[1][:, ::2, ::2]], [(512, 512)])
    with pytest.raises(ValueError, match="2 image sizes for a batch of 1"):
        CODEC.decode(outputs, [(512, 512), (1, 1)])
    with pytest.raises(ValueError, match="expected 14 heatmaps"):
        CODEC.decode(outputs, [(512, 512)], keypoint_set=CROWDPOSE_14)


def test_encode_heatmaps_peak_where_the_decoder_reads_them():
    truth = three_people()[:1]
    targets = CODEC.encode(truth)
    assert [h.shape for h in targets["heatmaps"]] == [(128, 128, 17), (256, 256, 17)]
    poses, _ = group_keypoints(targets["heatmaps"][1].numpy(), np.zeros((256, 256, 17)),
                               GroupingConfig(adjust="dark"), sigma=2.0)
    expected = (truth[0, :, :2] + 0.5) / 2 - 0.5
    np.testing.assert_allclose(poses[0, :, :2], expected, atol=0.02)


# ---- test-time protocols ----------------------------------------------------------------------
def test_aligned_inputs_keep_the_aspect_ratio_and_centre_the_padding():
    codec = BottomUpCodec(input_size=(256, 256))
    for image_size, base in (((150, 220), (256, 384)), ((333, 97), (896, 256))):
        inputs = codec.inputs_for(image_size, authors_protocol(COCO_17))
        assert inputs.base_size == inputs.sizes[0] == base
        h, w = image_size
        corners = np.array([[-0.5, -0.5], [w - 0.5, h - 0.5]], np.float32)  # pixel edges
        matrix = inputs.matrix(base)
        (x0, y0), (x1, y1) = corners @ matrix[:, :2].T + matrix[:, 2]
        short = (y0, y1, base[0]) if h < w else (x0, x1, base[1])
        np.testing.assert_allclose(short[:2], [-0.5, short[2] - 0.5], atol=1e-3)  # fills it
        pad = (x0 + 0.5, base[1] - 0.5 - x1) if h < w else (y0 + 0.5, base[0] - 0.5 - y1)
        assert pad[0] == pytest.approx(pad[1], abs=1e-3) and 0 <= pad[0] < 32  # centred
        scale = base[0] / h if h < w else base[1] / w
        assert matrix[0, 0] == pytest.approx(scale) and matrix[1, 1] == pytest.approx(scale)
    fixed = codec.inputs_for((150, 220))
    assert fixed.sizes == ((256, 256),) and fixed.base_size == (256, 256)


@pytest.mark.parametrize("image_size, count", [((150, 220), 2), ((333, 97), 1)])
@pytest.mark.parametrize("scales", [(1,), (0.5, 1, 2)])
def test_authors_protocol_recovers_persons_within_a_quarter_input_pixel(image_size, count,
                                                                         scales):
    # Stride-1 grid, quarter step: <= 0.25 input px per axis (+0.02 for the resampling).
    codec = BottomUpCodec(input_size=(128, 128))
    protocol = authors_protocol(COCO_17, scales)
    truth = figures(image_size, count)
    inputs = codec.inputs_for(image_size, protocol)
    for flip in (False, True):
        runs = ideal_runs(codec, truth, inputs, COCO_17, flip)
        poses, scores = codec.decode_image(runs, inputs, keypoint_set=COCO_17, protocol=protocol)
        scale = inputs.base_size[0] / image_size[0]  # input px per image px (aspect kept)
        assert len(poses) == count and scores.min() > 0.9
        pairs, errors = match_persons(truth, poses)
        assert len(pairs) == count
        assert np.max(errors) * scale <= 0.25 * np.sqrt(2) + 0.02


def test_tfpose_protocol_per_image_equals_the_batch_decoder():
    codec = BottomUpCodec(input_size=(128, 128))
    truth = figures((150, 220), 2)
    inputs = codec.inputs_for((150, 220))
    runs = ideal_runs(codec, truth, inputs, COCO_17, flip=True)
    (outputs, flipped), = runs
    (batch_poses, batch_scores), = codec.decode(outputs, [(150, 220)], flipped_outputs=flipped)
    poses, scores = codec.decode_image(runs, inputs, keypoint_set=COCO_17)
    np.testing.assert_array_equal(poses, batch_poses)
    np.testing.assert_array_equal(scores, batch_scores)
    np.testing.assert_array_equal(to_input(truth, (150, 220), (128, 128)),
                                  through(inputs.matrix((128, 128)), truth))


def test_authors_merge_equals_their_resizing_in_torch():
    """HigherHRNet's get_multi_stage_outputs + aggregate_results (PROJECT2IMAGE, flip test,
    scales 0.5 / 1 / 2 / 3), written here in PyTorch from their code's steps, against
    merge_scales on random outputs."""
    try:
        import torch
    except ImportError as e:  # the reference extra; CI requires it
        message = f"the reference resizing needs PyTorch (pip install -e \".[reference]\"): {e}"
        if os.environ.get("TFPOSE_REQUIRE_REFERENCE") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    functional = torch.nn.functional
    k, rng = 17, np.random.default_rng(0)
    codec = BottomUpCodec(input_size=(128, 128))
    protocol = authors_protocol(COCO_17, (0.5, 1, 2, 3))
    inputs = codec.inputs_for((150, 220), protocol)
    runs = [tuple([rng.normal(size=(1, h // 4, w // 4, 2 * k)).astype(np.float32),
                   rng.normal(size=(1, h // 2, w // 2, k)).astype(np.float32)]
                  for _ in range(2)) for h, w in inputs.sizes]
    heatmaps, tags = codec.merge_scales(runs, inputs, COCO_17, protocol)

    def resize(x, size):
        return functional.interpolate(x, size=size, mode="bilinear", align_corners=False)

    def stage_outputs(outputs, flipped):
        nchw = [torch.from_numpy(o.transpose(0, 3, 1, 2).copy()) for o in outputs]
        finest = nchw[-1].shape[2:]
        nchw = [resize(o, finest) if i < len(nchw) - 1 else o for i, o in enumerate(nchw)]
        if flipped:
            nchw = [torch.flip(o, [3]) for o in nchw]
        heat = sum(o[:, :k] for o in nchw) / len(nchw)
        tag = nchw[0][:, k:]
        if flipped:
            heat, tag = heat[:, COCO_17.flip_index], tag[:, COCO_17.flip_index]
        return resize(heat, inputs.base_size), resize(tag, inputs.base_size)

    total, tag_list = 0, []
    for scale, (outputs, flipped) in zip(protocol.scales, runs, strict=True):
        heat, tag = stage_outputs(outputs, False)
        flip_heat, flip_tag = stage_outputs(flipped, True)
        total = total + (heat + flip_heat) / 2
        if scale == 1:
            tag_list += [tag[..., None], flip_tag[..., None]]
    expected_heatmaps = (total / len(runs)).numpy().transpose(0, 2, 3, 1)
    expected_tags = torch.cat(tag_list, dim=4).numpy().transpose(0, 2, 3, 1, 4)
    assert heatmaps.shape == (1, 128, 256, k) and tags.shape == (1, 128, 256, k, 2)
    np.testing.assert_allclose(heatmaps, expected_heatmaps, atol=2e-5)
    np.testing.assert_allclose(tags, expected_tags, atol=2e-5)


def test_inputs_and_decoding_check_the_protocol():
    codec = BottomUpCodec(input_size=(256, 256))
    with pytest.raises(ValueError, match=r"test scale 1 gives a 256x426 input .* stride 4"):
        codec.inputs_for((300, 500), authors_protocol(COCO_17, (0.75, 1)))
    with pytest.raises(ValueError, match="use decode_image"):
        codec.decode([np.zeros((1, 64, 64, 34)), np.zeros((1, 128, 128, 17))], [(256, 256)],
                     protocol=authors_protocol(COCO_17))


# ---- the MSRA convention (imported LitePose weights: HigherHRNet's test code) ----------------
def test_msra_inputs_are_higherhrnets_resize_align():
    """``resize_align_multi_scale``: centre (int(w / 2 + 0.5), int(h / 2 + 0.5)), the scale of
    ``get_multi_scale_size``, ``get_affine_transform`` onto the aligned input."""
    codec = BottomUpCodec(input_size=(256, 256), convention="msra")
    for (h, w), base in (((150, 221), (256, 384)), ((333, 97), (896, 256))):
        inputs = codec.inputs_for((h, w), authors_protocol(COCO_17))
        assert inputs.base_size == base
        center = np.array([int(w / 2 + 0.5), int(h / 2 + 0.5)], np.float32)
        if w < h:
            scale = np.array([w, base[0] / base[1] * w], np.float32) / 200
        else:
            scale = np.array([base[1] / base[0] * h, h], np.float32) / 200
        theirs = authors_pipeline.affine_transform(center, scale, base[::-1])
        np.testing.assert_allclose(inputs.matrix(base), theirs, rtol=1e-5, atol=1e-3)


def test_msra_grid_points_go_back_through_higherhrnets_get_final_preds():
    """Grouped joints get +0.5 (their adjust / refine), then ``transform_preds`` with the
    inverse affine of the input-resolution grid; joints not found stay 0."""
    codec = BottomUpCodec(input_size=(256, 384), convention="msra",
                          grouping=GroupingConfig(grouping_stride=1))
    h, w = 150, 221
    poses = np.array([[[10.25, 20.75, 0.9], [100.0, 5.0, 0.0], [383.0, 255.25, 0.4]]],
                     np.float32)
    image = codec.grid_to_image(poses, (h, w))
    center = np.array([int(w / 2 + 0.5), int(h / 2 + 0.5)], np.float32)
    scale = np.array([384 / 256 * h, h], np.float32) / 200
    back = authors_pipeline.affine_transform(center, scale, (384, 256), inverse=True)
    expected = (poses[0, :, :2] + 0.5) @ back[:, :2].T + back[:, 2]
    np.testing.assert_allclose(image[0, [0, 2], :2], expected[[0, 2]], atol=1e-3)
    assert image[0, 1].tolist() == [0.0, 0.0, 0.0]
