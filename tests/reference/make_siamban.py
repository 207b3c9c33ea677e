"""Reference fixtures for siamban (siamban_reference.py, written from the
official SiamBAN code): parity cases for the generic parity test (inputs
z, x; outputs cls, loc), and under OUT_DIR/siamban/ the tracker's pieces for
the C++ unit tests: get_subwindow crops (mean padding at the image's edges),
and the official tracker end to end on a small generated video, with every
stage of its first tracked frame.

One seeded model (seeded_model) serves every case. Layout:
  parity/siamban/<case>/          weights.pth, input0.npy (z, N x 3 x 127 x 127),
                                  input1.npy (x, N x 3 x 255 x 255), out0.npy (cls,
                                  N x 2 x 25 x 25), out1.npy (loc, N x 4 x 25 x 25),
                                  keys.txt, case.json; manifest.json
  print/<case>.txt, print/siamban_cases.json
  siamban/configs.json            CONFIGS: the VOT (siamban_r50_l234) and OTB settings
  siamban/configs/<name>.yaml     the same as config.yaml files in the official layout, and as .json;
                                  defaults.json: core/config.py's TRACK defaults
  siamban/points/                 points.npy (625 x 2), window.npy (625), params.json
  siamban/tracker/                frames/0001.png.. (320 x 240 BGR), siamban_tracker.pth,
                                  params.json (settings, init_bbox, frames), expected.json
                                  (per tracked frame: bbox, best_score, best_idx, lr, ...),
                                  first/ (frame 0002: z_crop, x_crop, cls, loc, score,
                                  pred_bbox, penalty, pscore, points, window .npy; state.json)
  siamban/crops/                  image.png, <case>.npy (1 x 3 x S x S), cases.json

usage: make_siamban.py OUT_DIR [RESKIT_BINARY]   (the binary is not used)"""
import os
import sys

import numpy as np
import torch

import siamban_reference as sb
from fixture_util import randomise_batchnorm, save_npy, write_json, write_parity_case, write_parity_manifest, \
    write_text

FAMILY = "siamban"


def case(sets=(), legacy=False, batch=1):
    """--set options; whether a legacy-format copy is saved (the official
    snapshots are legacy, saved from the GPU); the batch size of z and x."""
    return {"model": "siamban_r50", "sets": list(sets), "legacy": legacy, "batch": batch}


PARITY = {
    "siamban_r50": case(legacy=True),
    # Two pairs: xcorr_depthwise groups by batch * channel, each search with its own template.
    "siamban_r50_batch2": case(batch=2),
}

LOC_PIXELS = 32.0  # what the seeded loc head's exp() is centred on: target-sized distances (crop pixels)
CLS_GAIN = 4.0  # the cls heads' last conv weights x 4: foreground probabilities spread over (0, 1)


def calibrate_batchnorm(model, passes):
    """Fold each BatchNorm's input statistics (per channel, over N, H, W, on
    the calibration passes, in call order) into its randomised running
    statistics: running_mean = mu + sigma * running_mean, running_var =
    sigma^2 * running_var. BN then still differs from a plain
    normalisation (random shifts and scales, as randomise_batchnorm meant)
    but the activations stay near unit scale through ResNet-50 and the
    correlation heads; the raw statistics (inputs of 0-255, He init, no
    calibration) grow the activations until exp(loc) overflows."""
    done = set()

    def hook(m, inputs):
        if m in done:
            return
        x = inputs[0].detach()
        mu = x.mean(dim=(0, 2, 3))
        sigma = x.var(dim=(0, 2, 3), unbiased=False).sqrt().clamp_min(1e-3)
        m.running_mean.copy_(mu + sigma * m.running_mean)
        m.running_var.copy_(sigma * sigma * m.running_var)
        done.add(m)

    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for run in passes:
            run()
    for h in handles:
        h.remove()
    assert len(done) == len(handles), f"{len(handles) - len(done)} BatchNorms not reached"


def crop_like(g, n, size):
    """n x 3 x size x size on the 0-255 scale of real crops: smooth colour
    (9 x 9 noise, bilinearly upsampled) with a quarter of pixel noise,
    rounded to integers as the tracker's uint8 crops are. Plain uniform
    noise is far from what the tracker feeds the network (its 7x7 conv1
    averages the noise away), and a model calibrated on one would overflow
    exp(loc) on the other."""
    coarse = torch.nn.functional.interpolate(torch.rand(n, 3, 9, 9, generator=g), size=(size, size),
                                             mode="bilinear", align_corners=False)
    return ((0.75 * coarse + 0.25 * torch.rand(n, 3, size, size, generator=g)) * 255).round()


def seeded_model(seed, z_calib, x_calib):
    """ModelBuilder (siamban_r50_l234) with upstream's seeded init, random
    BatchNorm statistics (calibrated, see calibrate_batchnorm, on two
    pairs, z_calib, x_calib and a seeded crop_like pair, so that both the
    tracker's crops and the parity inputs stay in range: the backbone's and
    the neck's on the templates, the heads' on what the templates and the
    searches give them), random fusion weights (cls_weight, loc_weight ~ N(0, 1),
    loc_scale ~ U(0.7, 1.3), where upstream starts at ones, so that a wrong
    fusion cannot pass), the cls heads' last conv x CLS_GAIN, and the loc
    heads' last biases raised by log(LOC_PIXELS) / loc_scale so exp(loc)
    gives distances of tens of pixels (the tracker's boxes then are
    target-sized)."""
    torch.manual_seed(seed)
    model = sb.SiamBAN().eval()
    randomise_batchnorm(model, seed=seed + 1)
    g = torch.Generator().manual_seed(seed + 2)
    head = model.head
    with torch.no_grad():
        head.cls_weight.copy_(torch.randn(3, generator=g))
        head.loc_weight.copy_(torch.randn(3, generator=g))
        head.loc_scale.copy_(torch.rand(3, generator=g) * 0.6 + 0.7)
    z = torch.cat([z_calib, crop_like(g, 1, 127)])
    x = torch.cat([x_calib, crop_like(g, 1, 255)])
    calibrate_batchnorm(model, [lambda: model(z, x)])
    with torch.no_grad():
        for i in range(3):
            box = getattr(head, f"box{i + 2}")
            box.cls.head[3].weight *= CLS_GAIN
            box.cls.head[3].bias *= CLS_GAIN
            box.loc.head[3].bias += float(np.log(LOC_PIXELS)) / float(head.loc_scale[i])
    del model.zf
    return model


def stats(name, t):
    t = t.detach().double()
    print(f"  {name}: {tuple(t.shape)} min {t.min():.4g} max {t.max():.4g} mean {t.mean():.4g} std {t.std():.4g}",
          flush=True)
    assert torch.isfinite(t).all() and t.abs().max() > 0, name


def write_parity(out_dir, model):
    prints = os.path.join(out_dir, "print")
    os.makedirs(prints, exist_ok=True)
    print_cases = {}
    for i, (case_id, c) in enumerate(PARITY.items()):
        g = torch.Generator().manual_seed(5000 + 10 * i)
        z = crop_like(g, c["batch"], 127)
        x = crop_like(g, c["batch"], 255)
        with torch.no_grad():
            cls, loc = model(z, x)
        del model.zf
        stats("cls", cls)
        stats("loc", loc)
        write_parity_case(out_dir, FAMILY, case_id, c, model, [z, x], [cls, loc])
        write_text(os.path.join(prints, case_id + ".txt"), repr(model) + "\n")
        print_cases[case_id] = {"model": c["model"], "sets": c["sets"]}
    write_parity_manifest(out_dir, FAMILY, PARITY, torch=torch.__version__)
    write_json(os.path.join(prints, "siamban_cases.json"), print_cases)


# ---------------------------------------------------------------- the video

VIDEO_SIZE = (320, 240)  # width, height
VIDEO_FRAMES = 8
TARGET_START = (70.0, 60.0, 44, 34)  # x, y, w, h of frame 1 (0-based pixels)
TARGET_STEP = (9.0, 6.0)  # pixels per frame
TARGET_GROWTH = 1.5  # w and h, pixels per frame


def target_box(i):
    x0, y0, w0, h0 = TARGET_START
    return [x0 + TARGET_STEP[0] * i, y0 + TARGET_STEP[1] * i, w0 + TARGET_GROWTH * i, h0 + TARGET_GROWTH * i]


def make_frames():
    """BGR uint8 frames: a blurred-noise background (fixed) and a textured
    target (a coloured checkerboard with noise) moving right and down and
    growing; per-frame sensor noise. numpy seed 7."""
    import cv2
    rng = np.random.default_rng(7)
    w, h = VIDEO_SIZE
    background = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), np.uint8), (5, 5), 1.5)
    yy, xx = np.mgrid[0:64, 0:64]
    checker = ((yy // 8 + xx // 8) % 2).astype(np.float32)
    texture = np.stack([40 + 180 * checker, 200 - 150 * checker, 90 + 60 * (yy / 63.0)], axis=2)
    texture = np.clip(texture + rng.normal(0, 12, texture.shape), 0, 255).astype(np.uint8)
    frames = []
    for i in range(VIDEO_FRAMES):
        img = background.copy()
        bx, by, bw, bh = [int(round(v)) for v in target_box(i)]
        img[by:by + bh, bx:bx + bw] = cv2.resize(texture, (bw, bh), interpolation=cv2.INTER_AREA)
        img = np.clip(img.astype(np.int16) + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)
        frames.append(img)
    return frames


def write_frames(d):
    """frames/0001.png..: the video, read back (as a test reads it)."""
    import cv2
    os.makedirs(os.path.join(d, "frames"), exist_ok=True)
    names = [f"{i + 1:04d}.png" for i in range(VIDEO_FRAMES)]
    for name, img in zip(names, make_frames()):
        cv2.imwrite(os.path.join(d, "frames", name), img)
    return names, [cv2.imread(os.path.join(d, "frames", name), cv2.IMREAD_COLOR) for name in names]


def calibration_crops(frames, config_name="siamban_r50_l234"):
    """The tracker's own first crops: init's template of frame 1 and the
    search crop of frame 2 around the init box (as track makes it)."""
    t = sb.CONFIGS[config_name]["TRACK"]
    avg = np.mean(frames[0], axis=(0, 1))
    bbox = [int(v) for v in target_box(0)]
    pos, model_sz, original_sz = crop_params(bbox, "template", t)
    z = sb.get_subwindow(frames[0], pos, model_sz, original_sz, avg)
    pos, model_sz, original_sz = crop_params(bbox, "search", t)
    x = sb.get_subwindow(frames[1], pos, model_sz, original_sz, avg)
    return z, x


def write_tracker(d, model, names, frames, config_name="siamban_r50_l234"):
    """siamban_tracker.pth: the weights; params.json: the settings and the
    init box; expected.json: per tracked frame the official tracker's bbox
    and best_score (and its state); first/: every stage of the first
    tracked frame (frame 2)."""
    first = os.path.join(d, "first")
    os.makedirs(first, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(d, "siamban_tracker.pth"))
    init_bbox = [int(v) for v in target_box(0)]
    cfg = sb.CONFIGS[config_name]
    write_json(os.path.join(d, "params.json"), {
        "config": config_name, "TRACK": cfg["TRACK"], "POINT": cfg["POINT"],
        "cls_out_channels": cfg["BAN"]["KWARGS"]["cls_out_channels"], "score_size": sb.score_size(cfg),
        "weights": "siamban_tracker.pth", "frames": names, "init_bbox": init_bbox,
        "ground_truth": [target_box(i) for i in range(len(frames))]})

    tracker = sb.SiamBANTracker(model, cfg)
    tracker.init(frames[0], init_bbox)
    init = tracker.last
    save_npy(os.path.join(first, "z_crop.npy"), init["z_crop"])
    results = []
    for i in range(1, len(frames)):
        out = tracker.track(frames[i])
        last = tracker.last
        assert torch.isfinite(last["loc"]).all() and (last["loc"] > 0).all(), names[i]
        top2 = np.sort(last["pscore"])[-2:]
        results.append({"frame": names[i], "bbox": [float(v) for v in out["bbox"]],
                        "best_score": float(out["best_score"]), "best_idx": int(last["best_idx"]),
                        "lr": float(last["lr"]), "pscore_margin": float(top2[1] - top2[0]),
                        "s_x": int(last["s_x_rounded"]), "center_pos": [float(v) for v in tracker.center_pos],
                        "size": [float(v) for v in tracker.size]})
        if i == 1:
            stats("first cls", last["cls"])
            stats("first loc", last["loc"])
            save_npy(os.path.join(first, "x_crop.npy"), last["x_crop"])
            save_npy(os.path.join(first, "cls.npy"), last["cls"])
            save_npy(os.path.join(first, "loc.npy"), last["loc"])
            for key in ("score", "pred_bbox", "penalty", "pscore"):
                np.save(os.path.join(first, key + ".npy"), np.asarray(last[key], dtype=np.float32))
            np.save(os.path.join(first, "points.npy"), tracker.points)
            np.save(os.path.join(first, "window.npy"), tracker.window.astype(np.float32))
            write_json(os.path.join(first, "state.json"), {
                "frame": names[i], "init_center_pos": [float(v) for v in init["center_pos"]],
                "init_size": [float(v) for v in init["size"]], "init_s_z": int(init["s_z"]),
                "channel_average": [float(v) for v in init["channel_average"]],
                "s_z": float(last["s_z"]), "scale_z": float(last["scale_z"]), "s_x": float(last["s_x"]),
                "s_x_rounded": int(last["s_x_rounded"]), "best_idx": int(last["best_idx"]),
                "best_bbox": [float(v) for v in last["bbox"]], "lr": float(last["lr"]),
                "bbox": results[0]["bbox"], "best_score": results[0]["best_score"]})
    write_json(os.path.join(d, "expected.json"), results)
    margins = [r["pscore_margin"] for r in results]
    print(f"fixture siamban/tracker: {len(results)} frames, last bbox "
          f"{[round(v, 2) for v in results[-1]['bbox']]}, best_idx {[r['best_idx'] for r in results]}, "
          f"min pscore margin {min(margins):.2e}", flush=True)
    return frames


# get_subwindow cases: (name, bbox of the target, which crop). "template"
# crops s_z = round(sqrt(w_z h_z)) to 127 as init does; "search" crops
# round(s_x) to 255 as track does (with s_z unrounded).
CROP_CASES = [
    ("top_left_template", [3, 2, 30, 24], "template"),  # pads top and left
    ("bottom_right_search", [290, 215, 26, 22], "search"),  # pads bottom and right
    ("all_sides_search", [110, 80, 100, 80], "search"),  # s_x 361 > 320 x 240: pads all four
    ("inside_template", [140, 100, 40, 30], "template"),  # no padding
    ("left_edge_template", [-10, 100, 30, 40], "template"),  # a box partly outside the image
]


def crop_params(bbox, kind, track_cfg):
    pos = np.array([bbox[0] + (bbox[2] - 1) / 2, bbox[1] + (bbox[3] - 1) / 2])
    size = np.array([bbox[2], bbox[3]])
    w_z = size[0] + track_cfg["CONTEXT_AMOUNT"] * np.sum(size)
    h_z = size[1] + track_cfg["CONTEXT_AMOUNT"] * np.sum(size)
    if kind == "template":
        return pos, track_cfg["EXEMPLAR_SIZE"], round(np.sqrt(w_z * h_z))
    s_x = np.sqrt(w_z * h_z) * (track_cfg["INSTANCE_SIZE"] / track_cfg["EXEMPLAR_SIZE"])
    return pos, track_cfg["INSTANCE_SIZE"], round(s_x)


def write_crops(d, image):
    """image.png (the video's first frame) and per case <name>.npy (1 x 3 x
    S x S float32, BGR 0-255) with cases.json: bbox, pos, model_sz,
    original_sz, avg_chans (the image's channel means, float64), pad_value
    (what the padding holds: avg_chans truncated, as assigning it into the
    uint8 image does) and the pads get_subwindow applies. Also a crop of original_sz == model_sz (no
    resize) and one at a float pos."""
    import cv2
    os.makedirs(d, exist_ok=True)
    cv2.imwrite(os.path.join(d, "image.png"), image)
    image = cv2.imread(os.path.join(d, "image.png"), cv2.IMREAD_COLOR)
    avg = np.mean(image, axis=(0, 1))
    t = sb.CONFIGS["siamban_r50_l234"]["TRACK"]
    cases = []
    specs = [(name, bbox) + crop_params(bbox, kind, t) for name, bbox, kind in CROP_CASES]
    specs.append(("no_resize", None, np.array([20.5, 200.0]), 127, 127))  # pads left and bottom, no resize
    specs.append(("float_pos", None, 15.5, 127, 61))  # a float pos is (pos, pos)
    h, w = image.shape[:2]
    for name, bbox, pos, model_sz, original_sz in specs:
        crop = sb.get_subwindow(image, pos, model_sz, original_sz, avg)
        save_npy(os.path.join(d, name + ".npy"), crop)
        p = [float(pos), float(pos)] if isinstance(pos, float) else [float(v) for v in pos]
        c = (original_sz + 1) / 2
        xmin, ymin = np.floor(p[0] - c + 0.5), np.floor(p[1] - c + 0.5)
        pads = {"left": int(max(0., -xmin)), "top": int(max(0., -ymin)),
                "right": int(max(0., xmin + original_sz - 1 - w + 1)),
                "bottom": int(max(0., ymin + original_sz - 1 - h + 1))}
        cases.append({"name": name, "file": name + ".npy", "bbox": bbox, "pos": p, "model_sz": int(model_sz),
                      "original_sz": int(original_sz), "pads": pads})
    write_json(os.path.join(d, "cases.json"), {"image": "image.png", "avg_chans": [float(v) for v in avg],
                                               "pad_value": [int(v) for v in avg.astype(np.uint8)],
                                               "cases": cases})
    print(f"fixture siamban/crops: {len(cases)} crops, pads {[sum(c['pads'].values()) > 0 for c in cases]}",
          flush=True)


def write_points(d):
    """The tracker's points (625 x 2) and window (625)."""
    os.makedirs(d, exist_ok=True)
    cfg = sb.CONFIGS["siamban_r50_l234"]
    size = sb.score_size(cfg)
    np.save(os.path.join(d, "points.npy"), sb.generate_points(cfg["POINT"]["STRIDE"], size))
    np.save(os.path.join(d, "window.npy"), sb.hanning_window(size).astype(np.float32))
    write_json(os.path.join(d, "params.json"), {"stride": cfg["POINT"]["STRIDE"], "size": size})


# The official config.yaml's layout: comments, quoted strings, flow lists,
# Python-style True, and the sections that are not the tracker's.
CONFIG_YAML = """META_ARC: "{name}"

BACKBONE:
    TYPE: "resnet50"
    KWARGS:
        used_layers: [2, 3, 4]
    PRETRAINED: 'pretrained_models/resnet50.model'
    TRAIN_LAYERS: ['layer2', 'layer3', 'layer4']

ADJUST:
    ADJUST: True
    TYPE: "AdjustAllLayer"
    KWARGS:
        in_channels: [512, 1024, 2048]
        out_channels: [256, 256, 256]

BAN:
    BAN: True
    TYPE: 'MultiBAN'
    KWARGS:
        in_channels: [256, 256, 256]
        cls_out_channels: 2  # 1 with a sigmoid
        weighted: True

POINT:
    STRIDE: {stride}

TRACK:
    TYPE: 'SiamBANTracker'
    WINDOW_INFLUENCE: {WINDOW_INFLUENCE!r}  # tuned
    PENALTY_K: {PENALTY_K!r}  # tuned
    LR: {LR!r}  # tuned
    # WINDOW_INFLUENCE: 0.5  # another benchmark's
    EXEMPLAR_SIZE: {EXEMPLAR_SIZE}
    INSTANCE_SIZE: {INSTANCE_SIZE}
    BASE_SIZE: {BASE_SIZE}
    CONTEXT_AMOUNT: {CONTEXT_AMOUNT}

TRAIN:
    EPOCH: 20
    RESUME: '' # '' or a checkpoint
    LR:
        TYPE: 'log'
        KWARGS:
            start_lr: 0.005
            end_lr: 0.00005

DATASET:
    NAMES:
    - 'VID'
    - 'COCO'
    NEG: 0.2
"""


def write_configs(d):
    """configs/<name>.yaml for each experiment, in the official files' layout
    (checked to load back to CONFIGS), and <name>.json, the same as JSON."""
    import yaml
    os.makedirs(d, exist_ok=True)
    for name, cfg in sb.CONFIGS.items():
        text = CONFIG_YAML.format(name=name, stride=cfg["POINT"]["STRIDE"], **cfg["TRACK"])
        loaded = yaml.safe_load(text)
        assert loaded["TRACK"] == cfg["TRACK"] and loaded["POINT"] == cfg["POINT"], name
        write_text(os.path.join(d, name + ".yaml"), text)
        write_json(os.path.join(d, name + ".json"), {"META_ARC": name, "TRACK": cfg["TRACK"], "POINT": cfg["POINT"]})
    write_json(os.path.join(d, "defaults.json"), {"TRACK": sb.DEFAULT_TRACK})  # what a file's silence leaves


def main(out_dir):
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    d = os.path.join(out_dir, "siamban")
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "configs.json"), sb.CONFIGS)
    write_configs(os.path.join(d, "configs"))
    names, frames = write_frames(os.path.join(d, "tracker"))
    model = seeded_model(4800, *calibration_crops(frames))
    write_parity(out_dir, model)
    write_points(os.path.join(d, "points"))
    write_tracker(os.path.join(d, "tracker"), model, names, frames)
    write_crops(os.path.join(d, "crops"), frames[0])


if __name__ == "__main__":
    main(sys.argv[1])
