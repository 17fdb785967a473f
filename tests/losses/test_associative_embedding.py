import numpy as np
import pytest
import tensorflow as tf

from tfpose.losses import AssociativeEmbeddingLoss

H, W, K, M = 6, 5, 4, 5


def reference(tags, joints, push="exp", tag_dim=1):
    """Direct per-image evaluation of the module docstring's formulas."""
    batch = tags.shape[0]
    tags = tags.reshape(batch, H * W, K, tag_dim)
    pulls, pushes = [], []
    for b in range(batch):
        means, spreads = [], []
        for person in joints[b]:
            read = [tags[b, cell, k] for k, (cell, valid) in enumerate(person) if valid > 0]
            if not read:
                continue
            read = np.array(read)
            means.append(read.mean(0))
            spreads.append(((read - means[-1]) ** 2).mean())
        pulls.append(np.mean(spreads) if spreads else 0.0)
        pair_terms = []
        for i, mi in enumerate(means):
            for j, mj in enumerate(means):
                if i != j:
                    d2 = ((mi - mj) ** 2).sum()
                    pair_terms.append(np.exp(-d2) if push == "exp" else max(0.0, 1 - np.sqrt(d2)))
        pushes.append(0.5 * np.mean(pair_terms) if pair_terms else 0.0)
    return np.array(pulls), np.array(pushes)


def random_case(seed, tag_dim=1, batch=4):
    rng = np.random.default_rng(seed)
    tags = rng.normal(0, 1.5, (batch, H, W, K * tag_dim)).astype(np.float32)
    cells = rng.integers(0, H * W, (batch, M, K))
    valid = (rng.random((batch, M, K)) < 0.6).astype(np.int32)
    valid[0, 2] = 0  # a person with no valid joint: ignored
    valid[1, 1:] = 0  # one person only: no push
    valid[2] = 0  # nobody: no loss at all
    return tags, np.stack([cells * valid, valid], axis=-1).astype(np.int32)


@pytest.mark.parametrize("push", ["exp", "max"])
@pytest.mark.parametrize("tag_dim", [1, 2])
def test_matches_direct_evaluation(push, tag_dim):
    tags, joints = random_case(0, tag_dim)
    loss = AssociativeEmbeddingLoss(push=push, tag_dim=tag_dim)
    pull, push_term = (t.numpy() for t in loss.pull_push(joints, tags))
    ref_pull, ref_push = reference(tags, joints, push, tag_dim)
    np.testing.assert_allclose(pull, ref_pull, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(push_term, ref_push, rtol=1e-5, atol=1e-7)
    assert push_term[1] == 0 and pull[2] == 0 and push_term[2] == 0


def test_weighted_sum_and_keras_reduction():
    tags, joints = random_case(1)
    loss = AssociativeEmbeddingLoss(pull_weight=0.3, push_weight=0.7)
    pull, push = reference(tags, joints)
    expected = 0.3 * pull + 0.7 * push
    np.testing.assert_allclose(loss(joints, tags).numpy(), expected.mean(), rtol=1e-5)
    per_image = AssociativeEmbeddingLoss(pull_weight=0.3, push_weight=0.7, reduction="none")
    np.testing.assert_allclose(per_image(joints, tags).numpy(), expected, rtol=1e-5)


def person_tag_maps(person_tags, cells):
    """Tag maps where joint k of person p reads ``person_tags[p]`` at ``cells[p, k]``."""
    tags = np.zeros((1, H * W, K), np.float32)
    for p, value in enumerate(person_tags):
        tags[0, cells[p], np.arange(K)] = value
    return tags.reshape(1, H, W, K)


def two_person_joints():
    cells = np.array([[0, 1, 2, 3], [10, 11, 12, 13]])
    return cells, np.stack([cells, np.ones_like(cells)], -1)[None].astype(np.int32)


def test_zero_pull_when_each_person_shares_one_tag():
    cells, joints = two_person_joints()
    pull, push = AssociativeEmbeddingLoss().pull_push(joints, person_tag_maps([0.3, -1.2], cells))
    assert pull.numpy()[0] == pytest.approx(0.0, abs=1e-7)
    assert push.numpy()[0] == pytest.approx(0.5 * np.exp(-1.5**2), rel=1e-5)


@pytest.mark.parametrize("kind", ["exp", "max"])
def test_push_falls_as_two_persons_separate(kind):
    cells, joints = two_person_joints()
    loss = AssociativeEmbeddingLoss(push=kind)
    gaps = np.linspace(0.0, 0.9, 10)
    pushes = [loss.pull_push(joints, person_tag_maps([0.0, gap], cells))[1].numpy()[0]
              for gap in gaps]
    assert np.all(np.diff(pushes) < 0)
    assert pushes[0] == pytest.approx(0.5, abs=1e-5)  # identical tags: the largest push


def test_masked_joints_and_unused_cells_do_not_matter():
    tags, joints = random_case(2)
    loss = AssociativeEmbeddingLoss()
    before = loss(joints, tags).numpy()
    used = np.zeros((tags.shape[0], H * W, K), bool)
    for b, m, k in zip(*np.nonzero(joints[..., 1]), strict=True):
        used[b, joints[b, m, k, 0], k] = True
    noise = np.random.default_rng(3).normal(0, 10, tags.shape).reshape(used.shape)
    changed = tags + np.where(used, 0.0, noise).reshape(tags.shape).astype(np.float32)
    joints_moved = joints.copy()
    joints_moved[..., 0] = np.where(joints[..., 1] > 0, joints[..., 0], 7)  # masked: any cell
    assert loss(joints_moved, changed).numpy() == pytest.approx(before, rel=1e-6)


@pytest.mark.parametrize("kind", ["exp", "max"])
def test_gradients_are_finite_even_for_coinciding_tags(kind):
    cells, joints = two_person_joints()
    tags = tf.Variable(person_tag_maps([0.5, 0.5], cells))  # two persons, one tag
    random_tags, random_joints = random_case(4)
    loss = AssociativeEmbeddingLoss(push=kind)
    for t, j in ((tags, joints), (tf.Variable(random_tags), random_joints)):
        with tf.GradientTape() as tape:
            value = loss(j, t)
        grad = tape.gradient(value, t).numpy()
        assert np.isfinite(grad).all() and np.isfinite(value.numpy())


def test_config_round_trip():
    loss = AssociativeEmbeddingLoss(pull_weight=2e-3, push_weight=5e-4, push="max", tag_dim=2)
    restored = tf.keras.losses.deserialize(tf.keras.losses.serialize(loss))
    assert isinstance(restored, AssociativeEmbeddingLoss)
    assert restored.get_config() == loss.get_config()
    assert tf.keras.utils.get_registered_name(AssociativeEmbeddingLoss) == \
        "tfpose>AssociativeEmbeddingLoss"


def test_trains_in_keras_fit_with_integer_joints():
    tags, joints = random_case(5)
    images = np.random.default_rng(6).normal(size=(4, H, W, 3)).astype(np.float32)
    model = tf.keras.Sequential([tf.keras.Input((H, W, 3)), tf.keras.layers.Conv2D(K, 3,
                                                                                 padding="same")])
    model.compile(optimizer="adam", loss=AssociativeEmbeddingLoss(pull_weight=1.0,
                                                                  push_weight=1.0))
    history = model.fit(images, joints, epochs=3, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize("kwargs, message", [
    ({"push": "hinge"}, "push must be one of"),
    ({"pull_weight": -1.0}, "weights must be >= 0"),
    ({"tag_dim": 0}, "tag_dim"),
])
def test_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AssociativeEmbeddingLoss(**kwargs)


def test_whole_stride4_output_instead_of_tags_is_named():
    tags, joints = random_case(7)
    both = np.concatenate([tags, tags], axis=-1)  # heatmaps + tags, not sliced
    with pytest.raises(ValueError, match=r"tag maps only"):
        AssociativeEmbeddingLoss()(joints, both)
    with pytest.raises(ValueError, match=r"joints must be \[B, M, K, 2\]"):
        AssociativeEmbeddingLoss()(joints[..., 0], tags)
