"""ECG-image segmentation (Hernández-Fernández et al.): conversion, masks from real .atr labels,
patches, refinement, metrics, the DeepLabv3 networks and ``segment_beats`` end to end on real
MIT-BIH 208 data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ecgviewer.core.beat_image import (
    IGNORE,
    ImageSpec,
    anomaly_mask,
    cell_means,
    episode_scores,
    heatmap,
    mask_image,
    mask_ranges,
    merge_patches,
    pixel_scores,
    pixel_size,
    pixel_to_sample,
    prepare_signal,
    refine_rectangles,
    rescale,
    sample_to_pixel,
    signal_image,
    split_patches,
    threshold_scale,
    to_matrix,
    to_spec_samples,
)


@pytest.fixture(scope="module")
def rec208(shared_data: Path):
    """The first 4 minutes of MIT-BIH 208 (MLII, 360 Hz) and its reference beats in them."""
    from ecgviewer.core.beat_pass import beat_lead
    from ecgviewer.core.readers.registry import open_long_record
    from trainer.data.beats import read_annotated

    path = shared_data / "mitdb-208" / "208.hea"
    samples, classes = read_annotated(path)
    with open_long_record(path) as rec:
        n = round(240 * rec.fs_hz)
        x = rec.lead(beat_lead(rec), 0, n)
        fs = rec.fs_hz
    keep = samples < n
    return x, fs, samples[keep], classes[keep]


# -- conversion -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("scale", "scale_x"), [(1.0, None), (2.56, None), (3.0, None), (5.12, 1.28)])
def test_pixel_sample_mapping_round_trip(scale: float, scale_x: float | None) -> None:
    spec = ImageSpec(row_samples=100, scale=scale, scale_x=scale_x)
    sx = scale if scale_x is None else scale_x
    shape = (7, 100)  # 7 rows of 100 samples
    s = np.arange(700)
    py, px = sample_to_pixel(s, shape, spec)
    assert np.array_equal(pixel_to_sample(py, px, shape, spec), s)
    # every pixel shows exactly the sample the rescaled sample-index matrix holds there
    h, w = pixel_size(*shape, scale, scale_x)
    assert (h, w) == (round(7 * scale), round(100 * sx))
    index_image = rescale(np.arange(700).reshape(shape), h, w)
    yy, xx = np.mgrid[0:h, 0:w]
    assert np.array_equal(pixel_to_sample(yy, xx, shape, spec), index_image)
    # each sample owns floor(scale) or ceil(scale) pixels per axis (nearest-neighbour rescale)
    counts = np.bincount(index_image.ravel(), minlength=700)
    assert counts.min() >= int(scale) * int(sx) and counts.max() <= int(np.ceil(scale)) * int(np.ceil(sx))
    with pytest.raises(ValueError, match="outside"):
        sample_to_pixel(np.array([700]), shape, spec)


def test_signal_image_layout_and_thresholds() -> None:
    spec = ImageSpec(row_samples=50, image_rows=10, scale=2.0)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.1, 420).astype(np.float32)
    x[17] = 2.0  # a noise spike far above the signal
    image, valid = signal_image(x, spec)
    assert image.shape == (18, 100, 3) and image.dtype == np.uint8  # 9 rows of 50 samples, x2
    assert valid.sum() == 420 and not valid[8, 20:].any()
    assert (image[16:, 40:] == 0).all()  # no sample after the end: black
    u = threshold_scale(x, 0.25)
    # the spike is clipped at 25 % of the maximum, so the genuine signal keeps most of the colour range
    assert u[17] == 1.0
    assert np.ptp(np.delete(u, 17)) > 2 * np.ptp(np.delete(threshold_scale(x, 1.0), 17))
    # sample 117 (row 2, column 17) has the colour of its scaled value
    assert np.array_equal(image[4, 34], heatmap(u[117]))
    assert np.array_equal(heatmap(np.array([0.0, 1.0])), [[68, 1, 84], [253, 231, 37]])  # viridis ends


def test_prepare_signal_resamples_to_the_image_rate() -> None:
    spec = ImageSpec()
    x = np.sin(np.arange(3600) / 360 * 2 * np.pi).astype(np.float32)
    y = prepare_signal(x, 360.0, spec)
    assert y.dtype == np.float32 and y.size == 1280
    assert np.array_equal(to_spec_samples(np.array([0, 360, 3599]), 360.0, spec), [0, 128, 1280])
    with pytest.raises(ValueError, match="one lead"):
        prepare_signal(np.zeros((2, 10)), 360.0, spec)


# -- masks from the real annotations -----------------------------------------------------------------
def test_masks_from_208_cover_exactly_the_vf_beats(rec208) -> None:
    x, fs, samples, classes = rec208
    spec = ImageSpec()
    xs = prepare_signal(x, fs, spec)
    s128 = to_spec_samples(samples, fs, spec)
    vf = np.isin(classes, ("V", "F"))
    assert vf.sum() > 50 and (~vf).sum() > 50  # 208 has both in its first minutes
    mask = anomaly_mask(xs.size, s128, classes, spec)
    hw = spec.half_width
    expected = np.zeros(xs.size, dtype=bool)
    for s in s128[vf]:
        expected[max(0, s - hw) : s + hw + 1] = True
    assert np.array_equal(mask > 0, expected)
    assert set(np.unique(mask)) == {0, 1}
    # one range per V/F beat unless two beats' ranges touch
    ranges = mask_ranges(mask)
    assert sum(b - a for a, b, _ in ranges) == expected.sum()
    assert len(ranges) <= vf.sum()
    # the three-class mask keeps V and F apart on the same ranges
    m3 = anomaly_mask(xs.size, s128, classes, spec, ("background", "V", "F"))
    assert np.array_equal(m3 > 0, expected)
    assert (m3[s128[classes == "F"]] == 2).all() and (m3[s128[classes == "V"]] == 1).all()
    # pixel masks: every anomalous pixel shows an anomalous sample, and every anomalous sample has pixels
    image, valid = signal_image(xs, spec)
    pix = mask_image(mask, spec)
    assert pix.shape == image.shape[:2]
    yy, xx = np.nonzero(pix == 1)
    shown = pixel_to_sample(yy, xx, valid.shape, spec)
    assert mask[shown].all() and np.array_equal(np.unique(shown), np.flatnonzero(mask))
    yy, xx = np.nonzero(pix == IGNORE)  # pixels after the end of the signal
    assert yy.size > 0 and (pixel_to_sample(yy, xx, valid.shape, spec) >= xs.size).all()
    with pytest.raises(ValueError, match="background"):
        anomaly_mask(10, s128, classes, spec, ("anomaly",))


# -- patches, refinement, metrics -----------------------------------------------------------------------
def test_patch_split_and_reassembly_is_identity() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (300, 530, 3), dtype=np.uint8)
    patches, grid = split_patches(image, 128)
    assert grid == (3, 5) and patches.shape == (15, 128, 128, 3)
    assert np.array_equal(patches[6], image[128:256, 128:256])  # row-major tiles
    assert (patches[-1][300 - 256 :] == 0).all()  # padding
    assert np.array_equal(merge_patches(patches, grid, image.shape[:2]), image)
    mask = rng.integers(0, 3, (300, 530)).astype(np.uint8)
    p2, g2 = split_patches(mask, 64, fill=IGNORE)
    assert np.array_equal(merge_patches(p2, g2, mask.shape), mask)


def test_cell_means_average_each_samples_pixels() -> None:
    shape = (3, 4)
    values = np.arange(12, dtype=np.float64).reshape(shape)
    h, w = pixel_size(*shape, 2.56)
    assert np.array_equal(cell_means(rescale(values, h, w), shape), values)
    probs = np.zeros((h, w, 2))
    probs[0, 0] = [1.0, 1.0]  # one of the pixels of sample 0
    n0 = int(np.sum(pixel_to_sample(*np.mgrid[0:h, 0:w], shape, ImageSpec(row_samples=4)) == 0))
    assert cell_means(probs, shape)[0, 0, 1] == pytest.approx(1.0 / n0)


def test_refine_rectangles_on_a_hand_made_mask() -> None:
    m = np.zeros((8, 12), dtype=np.uint8)
    m[1, 1:5] = 1  # an L-shaped blob -> its bounding box rows 1-3, columns 1-4
    m[2:4, 1] = 1
    m[6, 9] = 2  # a single cell: kept with min_cells=1, dropped with min_cells=2
    m[5:7, 0:3] = 2  # a class-2 blob with one class-1 cell: the box takes the majority class
    m[6, 2] = 1
    m[7, 11] = IGNORE
    out = refine_rectangles(m)
    want = np.zeros_like(m)
    want[1:4, 1:5] = 1
    want[5:7, 0:3] = 2
    want[6, 9] = 2
    want[7, 11] = IGNORE
    assert np.array_equal(out, want)
    out2 = refine_rectangles(m, min_cells=2)
    assert out2[6, 9] == 0 and out2[1, 4] == 1
    assert np.array_equal(refine_rectangles(np.zeros((3, 3), np.uint8)), np.zeros((3, 3), np.uint8))
    # cell matrix -> sample ranges (row-major): row 1 columns 1-4 = samples 13..16
    assert (13, 17, 1) in mask_ranges(out)


def test_paper_metrics_on_hand_made_masks() -> None:
    """The pixel and anomaly-level figures of Hernández-Fernández et al. on hand-made masks."""
    truth = np.zeros(100, dtype=np.uint8)
    truth[10:20] = 1  # three true anomalies
    truth[40:50] = 1
    truth[70:80] = 1
    truth[95:] = IGNORE
    pred = np.zeros(100, dtype=np.uint8)
    pred[15:25] = 1  # hits the first (5 of its samples) and spills 5
    pred[60:62] = 1  # a false blob
    pred[96:] = 1  # on ignored samples: not counted
    s = pixel_scores(pred, truth)
    assert (s["tp"], s["fp"], s["fn"], s["tn"]) == (5, 7, 25, 58)
    assert s["precision"] == pytest.approx(5 / 12) and s["recall"] == pytest.approx(5 / 30)
    assert s["f1"] == pytest.approx(10 / 42)
    assert s["mean_iou"] == pytest.approx((5 / 37 + 58 / 90) / 2)
    e = episode_scores(pred, truth)
    assert (e["n_true"], e["n_detected"], e["n_pred"], e["n_false"]) == (3, 1, 2, 1)
    assert e["detection"] == pytest.approx(1 / 3)
    assert episode_scores(truth, truth)["detection"] == 1.0


def test_matrix_padding_and_spec_round_trip() -> None:
    assert to_matrix(np.arange(5), 3, fill=-1).tolist() == [[0, 1, 2], [3, 4, -1]]
    spec = ImageSpec(patch_px=128, highpass_hz=None)
    assert ImageSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ValueError, match="unknown"):
        ImageSpec.from_dict({"colour": 1})
    with pytest.raises(ValueError, match="scale"):
        ImageSpec(scale=0.5)


# -- the networks ------------------------------------------------------------------------------------
def test_deeplabv3_shapes_and_torchvision_parameter_counts() -> None:
    from ecgviewer.models import build_model
    from ecgviewer.models.beat_segmentation import DeepLabV3

    assert isinstance(build_model("deeplabv3", {"backbone": "mobilenet_v3_large"}), DeepLabV3)
    # torchvision's documented sizes (deeplabv3_*: 42,004,074 and 11,029,328 parameters with 21
    # classes and the auxiliary head) minus that head and 19 of the 21 output channels
    sizes = {"resnet50": 39_633_986, "mobilenet_v3_large": 11_020_594}
    for backbone, n in sizes.items():
        model = build_model("deeplabv3", {"backbone": backbone, "n_classes": 2}).eval()
        assert sum(p.numel() for p in model.parameters()) == n
        with torch.inference_mode():
            y = model(torch.rand(1, 3, 64, 96))
        assert y.shape == (1, 2, 64, 96) and torch.isfinite(y).all()
    with pytest.raises(ValueError, match="RGB"):
        model(torch.rand(1, 1, 64, 64))
    from ecgviewer.models import ModelConfigError

    with pytest.raises(ModelConfigError, match="backbone"):
        build_model("deeplabv3", {"backbone": "vgg16"})


def _torchvision():
    try:
        import torchvision.models.segmentation as seg
    except Exception as exc:  # the CUDA wheels raise RuntimeError with a CPU torch
        pytest.skip(f"torchvision not usable here: {exc!r}")
    return seg


@pytest.mark.parametrize("backbone", ["resnet50", "mobilenet_v3_large"])
def test_state_dict_interchangeable_with_torchvision(backbone: str) -> None:
    seg = _torchvision()
    from ecgviewer.models import build_model

    tv = getattr(seg, f"deeplabv3_{backbone}")(
        weights=None, weights_backbone=None, num_classes=2, aux_loss=False
    )
    ours = build_model("deeplabv3", {"backbone": backbone, "n_classes": 2})
    ref = {k: v.shape for k, v in tv.state_dict().items()}
    assert {k: v.shape for k, v in ours.state_dict().items()} == ref
    ours.load_state_dict(tv.state_dict())
    x = torch.rand(1, 3, 96, 96)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.inference_mode():
        assert torch.allclose(ours.eval()(x), tv.eval()((x - mean) / std)["out"], atol=1e-5)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A randomly initialised MobileNetV3 DeepLabv3 in the project's checkpoint format (128 px patches)."""
    from ecgviewer.inference.beat_segmentation import checkpoint_meta_fields
    from ecgviewer.models.beat_segmentation import BeatSegmentationConfig, DeepLabV3
    from ecgviewer.models.checkpoint import CheckpointMeta, save_checkpoint
    from ecgviewer.models.registry import config_to_dict

    torch.manual_seed(0)
    config = BeatSegmentationConfig(n_classes=2)
    spec = ImageSpec(patch_px=128)
    meta = CheckpointMeta(
        architecture="deeplabv3",
        config=config_to_dict(config),
        **checkpoint_meta_fields(spec, ("background", "anomaly")),
    )
    path = tmp_path_factory.mktemp("seg") / "tiny"
    save_checkpoint(DeepLabV3(config).eval(), meta, path)
    return path


def test_segment_beats_end_to_end_on_real_208(rec208, tiny_checkpoint: Path) -> None:
    from ecgviewer.core.beats import detect_r_peaks
    from ecgviewer.inference.beat_segmentation import BeatSegmenter, segment_beats

    x, fs, _, _ = rec208
    x = x[: round(60 * fs)]  # one minute
    r = detect_r_peaks(x, fs)
    assert r.size > 40
    labels = segment_beats(x, fs, r, str(tiny_checkpoint), device="cpu")
    assert labels.shape == r.shape and set(np.unique(labels)) <= {"N", "V"}  # binary mask: V for anomalies
    seg = BeatSegmenter(tiny_checkpoint, device="cpu")
    done = []
    res = seg.segment(x, fs, progress=lambda a, b: done.append((a, b)))
    n128 = 60 * 128
    assert res.probabilities.shape == (n128, 2) and np.allclose(res.probabilities.sum(axis=1), 1, atol=1e-4)
    assert done == [(n128, n128)]
    assert np.array_equal(res.beat_labels(r, fs), labels)
    # the labels follow the refined mask at each R peak
    k = res.refined[to_spec_samples(r, fs, res.spec)]
    assert np.array_equal(labels == "V", k == 1)
    assert seg.segment(x, fs, cancelled=lambda: True) is None
    assert segment_beats(x, fs, r, seg, cancelled=lambda: True) is None


def test_segmenter_refuses_other_checkpoints(tmp_path: Path, tiny_checkpoint: Path) -> None:
    import json

    from ecgviewer.inference.beat_segmentation import BeatSegmenter, resolve_segmentation_checkpoint
    from ecgviewer.models.checkpoint import CheckpointError

    obj = json.loads(tiny_checkpoint.with_suffix(".json").read_text())
    obj["classes"][1]["name"] = "N"
    (tmp_path / "bad.json").write_text(json.dumps(obj))
    with pytest.raises(CheckpointError, match="classes"):
        BeatSegmenter(tmp_path / "bad")
    obj["classes"][1]["name"] = "anomaly"
    del obj["input"]["image"]
    (tmp_path / "bad.json").write_text(json.dumps(obj))
    with pytest.raises(CheckpointError, match="not a beat-segmentation"):
        BeatSegmenter(tmp_path / "bad")
    assert resolve_segmentation_checkpoint("x") == "x"


# -- training ------------------------------------------------------------------------------------------
def test_record_spans_parse() -> None:
    from trainer.segmentation import Span

    assert Span.parse("mitdb-208/208@600:") == Span("mitdb-208/208", 600.0, None)
    assert Span.parse("qtdb/sel100") == Span("qtdb/sel100")
    assert str(Span.parse("mitdb-208/208@0:585.9375")) == "mitdb-208/208@0:585.938"
    with pytest.raises(ValueError, match="START:STOP"):
        Span.parse("a@12")


@pytest.mark.slow
def test_tiny_training_run_lowers_the_loss(shared_data: Path, tmp_path: Path) -> None:
    from ecgviewer.models.beat_segmentation import BeatSegmentationConfig, DeepLabV3
    from trainer.segmentation import CropSampler, Span, load_span

    spec = ImageSpec(patch_px=64)
    data = load_span(shared_data, Span("mitdb-208/208", 0, 120), spec, ("background", "anomaly"))
    assert data.truth.mean() > 0.05  # 208's first two minutes hold PVCs
    sampler = CropSampler([data], 64, positive_share=0.5, seed=0)
    x, y = sampler.batch(4)
    assert x.shape == (4, 3, 64, 64) and y.shape == (4, 64, 64) and (y == 1).any()
    torch.manual_seed(0)
    model = DeepLabV3(BeatSegmentationConfig()).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xb, yb = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=IGNORE)
    losses = []
    for _ in range(8):
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


@pytest.mark.slow
def test_train_and_evaluate_segmentation_commands(shared_data: Path, tmp_path: Path) -> None:
    import json

    from trainer.cli import main

    out = tmp_path / "run"
    rc = main(
        ["train-segmentation", "--data", str(shared_data), "--out", str(out),
         "--train", "mitdb-208/208@0:60", "--val", "mitdb-208/208@60:120", "--patch-px", "64",
         "--batch-size", "2", "--steps", "2", "--val-every", "2"]
    )  # fmt: skip
    assert rc == 0 and (out / "best.json").is_file() and (out / "log.csv").is_file()
    meta = json.loads((out / "best.json").read_text())
    assert meta["architecture"] == "deeplabv3" and meta["training"]["steps"] == 2
    assert meta["input"]["image"]["patch_px"] == 64
    rc = main(
        ["evaluate-segmentation", str(out / "best.json"), "--data", str(shared_data),
         "--records", "mitdb-208/208@120:180", "--out", str(tmp_path / "eval"), "--device", "cpu"]
    )  # fmt: skip
    assert rc == 0
    res = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert res["pooled"]["refined"]["n_true"] > 10  # PVCs in that minute of 208
    assert sum(map(sum, res["beats"]["confusion"])) > 60
    assert "pixel F1" in (tmp_path / "eval" / "table.md").read_text()
