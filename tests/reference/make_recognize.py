"""Reference fixtures for `reskit recognize`: mmaction2's I3D test pipeline
(OpenCVInit -> SampleFrames(test_mode=True) -> OpenCVDecode -> Resize(-1, 256)
-> CenterCrop(224) or ThreeCrop(256) -> FormatShape('NCTHW') ->
PackActionInputs) and Recognizer3D.test_step with average_clips='prob', all
run by the pinned mmaction2 release itself.

recognize/ holds:
  sampling.json   SampleFrames(test_mode=True) frame indices for many videos
  crops.json      Resize(scale=(-1, 256)) sizes and ThreeCrop/CenterCrop boxes
  a.avi, b.avi    small seeded MJPG videos written by cv2.VideoWriter
  frames_a/       a.avi's frames as OpenCV decodes them (00000.png, ...)
  i3d_r50.pth     the seeded Recognizer3D's state dict
  e2e.json        the end-to-end cases; <id>_scores.npy their averaged
                  probabilities; a_val_inputs.npy the clip fed to the model

usage: make_recognize.py OUT_DIR [RESKIT_BINARY]  (the binary is not used)"""
import os
import shutil
import sys
import time

# name: frame size (w, h), frame count, seed. "a" is landscape and long
# enough for three distinct test clips; "b" is portrait and shorter than one
# clip, so SampleFrames loops.
VIDEOS = {
    "a": {"width": 160, "height": 120, "frames": 22, "seed": 11},
    "b": {"width": 96, "height": 128, "frames": 7, "seed": 12},
}
FPS = 25

# i3d's val and test protocols at reduced clip lengths (ResNet3d-50 I3D needs
# clip_len >= 5: conv1, pool1 and pool2 each halve T).
PROTOCOLS = {
    "val": {"clip_len": 8, "frame_interval": 2, "num_clips": 1, "crop": {"type": "CenterCrop", "crop_size": 224}},
    "test": {"clip_len": 5, "frame_interval": 2, "num_clips": 3, "crop": {"type": "ThreeCrop", "crop_size": 256}},
}

# (id, video, protocol, read from the frames directory)
E2E = [
    ("a_val", "a", "val", False),
    ("a_test", "a", "test", False),
    ("b_val", "b", "val", False),
    ("b_test", "b", "test", False),
    ("a_frames_test", "a", "test", True),
]
INPUTS_CASE = "a_val"  # the one case whose uint8 model input is saved

# (total_frames, clip_len, frame_interval, num_clips)
SAMPLING = [
    (795, 32, 2, 10),  # vtest.avi with i3d's test protocol
    (795, 32, 2, 1),   # ... and its val protocol
    (300, 32, 2, 10),
    (250, 16, 4, 10),
    (1000, 8, 8, 10),
    (100, 8, 1, 10),
    # k * max_offset / (num_clips - 1) exactly x.5: numpy rounds half to even
    (100, 8, 2, 3),    # max_offset 85: 42.5 -> 42
    (16, 8, 2, 3),     # max_offset 1: 0.5 -> 0
    (18, 8, 2, 3),     # max_offset 3: 1.5 -> 2
    (58, 8, 1, 5),     # max_offset 50: 12.5 -> 12, 37.5 -> 38
    (16, 4, 2, 7),     # max_offset 9: 1.5 -> 2, 4.5 -> 4, 7.5 -> 8
    # 7 * (29 / 14.0) is 14.500000000000002 in double: rounds to 15, where
    # exact rational rounding (half to even) would give 14
    (37, 8, 1, 15),
    # num_clips = 1: max_offset // 2
    (100, 16, 2, 1),   # max_offset 69 -> 34
    (64, 8, 2, 1),     # max_offset 49 -> 24
    # shorter than one clip: every offset 0, indices wrap modulo total_frames
    (10, 8, 2, 1),
    (7, 8, 2, 1),
    (7, 5, 2, 3),
    (20, 32, 2, 10),
    (1, 8, 2, 1),
    # exactly one clip long: max_offset 0
    (15, 8, 2, 1),
    (63, 32, 2, 10),
    (22, 8, 2, 1),
    (22, 5, 2, 3),     # max_offset 13: 6.5 -> 6
]
RANDOM_SAMPLING = 4  # more cases drawn from a seeded generator

# frame sizes (w, h)
CROP_SIZES = [(768, 576), (320, 240), (240, 320), (341, 256), (500, 256), (256, 256), (333, 199), (176, 144),
              (1920, 1080), (160, 120), (96, 128), (256, 400)]
THREE_CROP = 256
CENTER_CROP = 224


def sampling_cases():
    """Frame indices as mmaction2's SampleFrames chooses them."""
    import numpy as np
    from mmaction.datasets.transforms.loading import SampleFrames
    rng = np.random.RandomState(7)
    params = list(SAMPLING)
    for _ in range(RANDOM_SAMPLING):
        params.append((int(rng.randint(1, 1200)), int(rng.randint(2, 65)), int(rng.randint(1, 9)),
                       int(rng.randint(1, 13))))
    cases = []
    for total, clip_len, interval, num_clips in params:
        t = SampleFrames(clip_len=clip_len, frame_interval=interval, num_clips=num_clips, test_mode=True)
        inds = t.transform({"total_frames": total, "start_index": 0})["frame_inds"]
        cases.append({"total_frames": total, "clip_len": clip_len, "frame_interval": interval,
                      "num_clips": num_clips, "frame_inds": [int(i) for i in inds]})
    return cases


def crop_cases():
    """Resize(scale=(-1, 256)) then ThreeCrop / CenterCrop, run on blank frames."""
    import numpy as np
    from mmaction.datasets.transforms.processing import CenterCrop, Resize, ThreeCrop
    cases = []
    for w, h in CROP_SIZES:
        resized = Resize(scale=(-1, 256)).transform({"imgs": [np.zeros((h, w, 3), np.uint8)], "modality": "RGB"})
        rh, rw = resized["img_shape"]
        assert resized["imgs"][0].shape[:2] == (rh, rw)
        three = ThreeCrop(crop_size=THREE_CROP).transform({"imgs": list(resized["imgs"]), "img_shape": (rh, rw)})
        center = CenterCrop(crop_size=CENTER_CROP).transform({"imgs": list(resized["imgs"]), "img_shape": (rh, rw)})
        cases.append({"width": w, "height": h, "resized": [int(rw), int(rh)],
                      "three_crop_size": THREE_CROP, "three_crop": [[int(v) for v in b] for b in three["crop_bbox"]],
                      "center_crop_size": CENTER_CROP, "center_crop": [int(v) for v in center["crop_bbox"]]})
    return cases


def synthetic_frame(spec, i, rng):
    """BGR frame i: a drifting gradient, moving coloured shapes, seeded noise."""
    import cv2
    import numpy as np
    w, h = spec["width"], spec["height"]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    frame = np.stack([(xx * 255 / w + 9 * i) % 256, (yy * 255 / h + 5 * i) % 256,
                      np.full_like(xx, (40 + 17 * i) % 256)], axis=-1)
    frame = (frame * 0.6).astype(np.uint8)
    cv2.rectangle(frame, (4 + 5 * i, 6 + 2 * i), (4 + 5 * i + w // 4, 6 + 2 * i + h // 5), (30, 220, 250), -1)
    cv2.circle(frame, (w - 10 - 4 * i, h // 2 + 3 * i), max(4, min(w, h) // 6), (240, 40, 60), -1)
    cv2.line(frame, (0, (7 * i) % h), (w - 1, h - 1 - (11 * i) % h), (60, 250, 60), 3)
    noise = rng.randint(-25, 26, size=frame.shape)
    return np.clip(frame.astype(np.int32) + noise, 0, 255).astype(np.uint8)


def write_video(path, spec):
    """An MJPG .avi, then its frames as OpenCV decodes them."""
    import cv2
    import numpy as np
    rng = np.random.RandomState(spec["seed"])
    tmp = path[:-4] + ".tmp.avi"
    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"MJPG"), FPS, (spec["width"], spec["height"]))
    assert writer.isOpened(), "cv2.VideoWriter cannot write MJPG .avi"
    for i in range(spec["frames"]):
        writer.write(synthetic_frame(spec, i, rng))
    writer.release()
    os.replace(tmp, path)
    cap = cv2.VideoCapture(path)
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    # every frame decodes, so OpenCVDecode's None fallback never fires here
    assert count == len(frames) == spec["frames"], (path, count, len(frames))
    return frames


def write_frames_dir(path, frames):
    """The decoded BGR frames as lossless PNG, 00000.png, ..."""
    import cv2
    import numpy as np
    tmp = path + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for i, frame in enumerate(frames):
        name = os.path.join(tmp, f"{i:05d}.png")
        cv2.imwrite(name, frame)
        assert np.array_equal(cv2.imread(name, cv2.IMREAD_COLOR), frame)
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)


class Record:
    """A pipeline step that keeps a copy of one key of the results."""

    def __init__(self, key, store):
        self.key, self.store = key, store

    def __call__(self, results):
        self.store[self.key] = results[self.key].copy()
        return results


def pipeline(protocol, from_frames, store):
    """i3d's test/val pipeline (configs/recognition/i3d) with OpenCV decoding,
    or RawFrameDecode for a frames directory."""
    from mmengine.dataset import Compose
    p = PROTOCOLS[protocol]
    sample = {"type": "SampleFrames", "clip_len": p["clip_len"], "frame_interval": p["frame_interval"],
              "num_clips": p["num_clips"], "test_mode": True}
    load = [sample, Record("frame_inds", store), {"type": "RawFrameDecode"}] if from_frames else \
        [{"type": "OpenCVInit"}, sample, Record("frame_inds", store), {"type": "OpenCVDecode"}]
    return Compose(load + [{"type": "Resize", "scale": (-1, 256)}, dict(p["crop"]),
                           {"type": "FormatShape", "input_format": "NCTHW"}, Record("imgs", store),
                           {"type": "PackActionInputs"}])


def source(d, video, from_frames):
    """The input as e2e.json names it, and what inference_recognizer takes."""
    if from_frames:
        frame_dir = os.path.join(d, "frames_" + video)
        total = len([n for n in os.listdir(frame_dir) if n.endswith(".png")])
        return "frames_" + video, {"frame_dir": frame_dir, "total_frames": total, "filename_tmpl": "{:05d}.png",
                                   "start_index": 0, "modality": "RGB", "label": -1}
    return video + ".avi", os.path.join(d, video + ".avi")


def perturb_head(model, clips, seed, logit_std=3.0):
    """A classifier that tells these videos apart. Through randomised BatchNorm
    the pooled features share a large input-independent part (inter-video
    differences are ~5% of their norm), so any plain fc gives every video the
    same top-5 (and I3DHead's init_std=0.01 a saturated softmax). The rows of
    fc are made orthogonal to that shared part, estimated per protocol as the
    mean feature of one view of each video, and scaled for a logit spread of
    about logit_std: the scores then follow what differs between inputs.
    clips: [(protocol, uint8 views x C x T x H x W input as PackActionInputs packs it)]."""
    import torch
    g = torch.Generator().manual_seed(seed)
    fc = model.cls_head.fc_cls
    with torch.no_grad():
        feats = {}
        for protocol, clip in clips:
            x = model.data_preprocessor({"inputs": [clip], "data_samples": None})["inputs"]
            f, _ = model.extract_feat(x, test_mode=True)
            feats.setdefault(protocol, []).append(model.cls_head.avg_pool(f).flatten(1).mean(0))
        shared = [torch.ones(fc.in_features)] + [torch.stack(fs).mean(0) for fs in feats.values()]
        basis, _ = torch.linalg.qr(torch.stack(shared, dim=1))
        dev = torch.stack([f - torch.stack(fs).mean(0) for fs in feats.values() for f in fs])
        w = torch.randn(fc.weight.shape, generator=g)
        w -= (w @ basis) @ basis.t()
        w *= logit_std / (dev @ w.t()).std()
        fc.weight.copy_(w)
        fc.bias.copy_(torch.randn(fc.bias.shape, generator=g) * 0.5)


def main(out_dir):
    start = time.time()
    import numpy as np
    import torch
    from mmaction.apis import inference_recognizer

    from fixture_util import randomise_batchnorm, save_npy, write_json
    from make_resnet3d import build_recognizer3d

    d = os.path.join(out_dir, "recognize")
    os.makedirs(d, exist_ok=True)

    cases = sampling_cases()
    write_json(os.path.join(d, "sampling.json"), cases)
    print(f"fixture recognize/sampling.json: {len(cases)} cases", flush=True)
    crops = crop_cases()
    write_json(os.path.join(d, "crops.json"), crops)
    print(f"fixture recognize/crops.json: {len(crops)} frame sizes", flush=True)

    for name, spec in VIDEOS.items():
        frames = write_video(os.path.join(d, name + ".avi"), spec)
        print(f"fixture recognize/{name}.avi: {spec['width']}x{spec['height']}, {len(frames)} frames", flush=True)
        if any(from_frames and video == name for _, video, _, from_frames in E2E):
            write_frames_dir(os.path.join(d, "frames_" + name), frames)
            print(f"fixture recognize/frames_{name}/: {len(frames)} PNG frames", flush=True)

    torch.manual_seed(6000)
    model = build_recognizer3d(num_classes=400, dropout_ratio=0.5)
    randomise_batchnorm(model, seed=600)
    model.eval()
    clips = []
    for case_id, video, protocol, from_frames in E2E:
        if not from_frames:
            data = {"filename": source(d, video, False)[1], "label": -1, "start_index": 0, "modality": "RGB"}
            clips.append((protocol, pipeline(protocol, False, {})(data)["inputs"][:1]))
    perturb_head(model, clips, seed=60)
    tmp = os.path.join(d, "i3d_r50.pth.tmp")
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, os.path.join(d, "i3d_r50.pth"))
    print("fixture recognize/i3d_r50.pth: i3d_r50, 400 classes", flush=True)

    entries, scores_of, inputs_of = [], {}, {}
    for case_id, video, protocol, from_frames in E2E:
        store = {}
        name, data = source(d, video, from_frames)
        result = inference_recognizer(model, data, test_pipeline=pipeline(protocol, from_frames, store))
        scores = result.pred_score.detach().float()
        assert scores.shape == (400,) and abs(float(scores.sum()) - 1) < 1e-4
        scores_of[case_id] = scores
        save_npy(os.path.join(d, case_id + "_scores.npy"), scores)
        p = PROTOCOLS[protocol]
        entry = {"id": case_id, "input": name, "protocol": protocol, "clip_len": p["clip_len"],
                 "frame_interval": p["frame_interval"], "num_clips": p["num_clips"],
                 "scores": case_id + "_scores.npy",
                 "total_frames": VIDEOS[video]["frames"],
                 "frame_inds": [int(i) for i in store["frame_inds"]]}
        imgs = inputs_of[case_id] = store["imgs"]
        assert imgs.dtype == np.uint8
        if case_id == INPUTS_CASE:
            save_npy(os.path.join(d, case_id + "_inputs.npy"), torch.from_numpy(imgs.astype(np.float32)))
            entry["inputs"] = case_id + "_inputs.npy"
        entries.append(entry)
        top = scores.topk(5)
        print(f"fixture recognize/{case_id}_scores.npy: {name} {protocol}, input {list(imgs.shape)}, "
              f"top-5 {top.indices.tolist()} p_max {float(top.values[0]):.4f}", flush=True)
    # the frames directory holds the very frames mmcv.VideoReader's seeks
    # decode, so its twin gets the same model input and the same scores
    for case_id, video, protocol, from_frames in E2E:
        if from_frames:
            twin = f"{video}_{protocol}"
            assert np.array_equal(inputs_of[case_id], inputs_of[twin]), (case_id, twin)
            assert torch.equal(scores_of[case_id], scores_of[twin]), (case_id, twin)
    write_json(os.path.join(d, "e2e.json"), entries)
    print(f"fixture recognize/e2e.json: {len(entries)} cases ({time.time() - start:.1f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
