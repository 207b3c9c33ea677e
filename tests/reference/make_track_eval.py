"""Reference fixtures for reskit's one-pass tracking evaluation
(tasks/track_eval.h, tasks/track_dataset.h, `reskit eval-track`).

The metrics below are pysot's OPE benchmark (toolkit/evaluation/
ope_benchmark.py over toolkit/utils/statistics.py, as hqucv/siamban ships
it), restated here: per-frame IoU without +1 pixel areas, clipped to [0, 1];
ground-truth frames with w or h <= 0 score -1; the success curve at
np.arange(0, 1.05, 0.05) counts IoU > t over all frames; centres are
x + (w - 1) / 2, frames whose ground-truth centre has a coordinate <= 0
score -1, the precision curve at 0..50 px counts distance <= t over all
frames; a sequence's AUC is its success curve's mean; overall values are
means over the sequences, the precision at 20 px.

Layout under OUT_DIR/track_eval/:
  metrics.json        cases: gt, result, iou, success, precision, auc, precision_20 (hand-made
                      boxes of known IoU and seeded random trajectories); overall (their summary)
  ground_truth.json   groundtruth texts (comma, tab, spaces, mixed) and the boxes they hold
  result.json         a result file as tools/test.py writes it (str() of each number) and its boxes
  OTBtiny/            OTB's folder layout: Square (comma-separated), Tabbed (tab-separated),
                      Pair (groundtruth_rect.1.txt and .2.txt: Pair-1, Pair-2 on one img/), notes/
                      (neither img/ nor groundtruth: not a sequence); 96 x 72 JPEGs, 6 frames
  OTBtiny.json        what reading OTBtiny must give: name -> {frames (file names), gt}
  PysotTiny/          the same frames in pysot's layout, PysotTiny/PysotTiny.json, with a
                      sequence that starts at frame 3 (Late) and the two targets of Pair
  PysotTiny.json      what reading PysotTiny must give (as OTBtiny.json)

`evaluate(results_dir, expected_json)` scores pysot-style result files with
the reference, for the end-to-end test: `python -c` imports this file.

usage: make_track_eval.py OUT_DIR [RESKIT_BINARY]   (the binary is not used)"""
import json
import os
import shutil
import sys

import numpy as np

from fixture_util import write_json, write_text

OVERLAP_THRESHOLDS = np.arange(0, 1.05, 0.05)
ERROR_THRESHOLDS = np.arange(0, 51, 1)
PRECISION_AT = 20


# --- the reference metrics ---------------------------------------------------

def iou(gt, res):
    """Per-row IoU of two N x 4 (x, y, w, h) arrays; 0/0 stays NaN."""
    x0 = np.maximum(gt[:, 0], res[:, 0])
    x1 = np.minimum(gt[:, 0] + gt[:, 2], res[:, 0] + res[:, 2])
    y0 = np.maximum(gt[:, 1], res[:, 1])
    y1 = np.minimum(gt[:, 1] + gt[:, 3], res[:, 1] + res[:, 3])
    inter = np.maximum(0, x1 - x0) * np.maximum(0, y1 - y0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = inter / (gt[:, 2] * gt[:, 3] + res[:, 2] * res[:, 3] - inter)
    return np.maximum(np.minimum(1, ratio), 0)


def success_curve(gt, res):
    n = len(gt)
    scores = np.full(n, -1.0)
    valid = (gt[:, 2] > 0) & (gt[:, 3] > 0)
    scores[valid] = iou(gt[valid], res[valid])
    return np.array([np.count_nonzero(scores > t) / float(n) for t in OVERLAP_THRESHOLDS])


def centres(boxes):
    return np.stack([boxes[:, 0] + (boxes[:, 2] - 1) / 2, boxes[:, 1] + (boxes[:, 3] - 1) / 2], axis=1)


def precision_curve(gt, res):
    n = len(gt)
    g, r = centres(gt), centres(res)
    dist = np.full(n, -1.0)
    valid = (g[:, 0] > 0) & (g[:, 1] > 0)
    dist[valid] = np.sqrt(((g[valid] - r[valid]) ** 2).sum(axis=1))
    return np.array([np.count_nonzero(dist <= t) / float(n) for t in ERROR_THRESHOLDS])


def score(gt, res):
    gt, res = np.asarray(gt, np.float64), np.asarray(res, np.float64)
    s, p = success_curve(gt, res), precision_curve(gt, res)
    return {"success": s.tolist(), "precision": p.tolist(), "auc": float(np.mean(s)),
            "precision_20": float(p[PRECISION_AT])}


def overall(scores):
    """show_result's numbers: the mean of all success points, the mean precision curve at 20 px."""
    s = np.array([v["success"] for v in scores.values()])
    p = np.array([v["precision"] for v in scores.values()])
    return {"success_auc": float(np.mean(s)), "precision_20": float(np.mean(p, axis=0)[PRECISION_AT]),
            "success": np.mean(s, axis=0).tolist(), "precision": np.mean(p, axis=0).tolist()}


def read_result_file(path):
    """As pysot's Video.load_tracker reads a result: comma-separated floats a line."""
    with open(path) as f:
        return [list(map(float, line.strip().split(","))) for line in f.readlines()]


def evaluate(results_dir, expected_json):
    """Scores RESULTS_DIR/<sequence>.txt against the ground truth in EXPECTED_JSON; prints JSON."""
    with open(expected_json) as f:
        expected = json.load(f)
    scores = {name: score(seq["gt"], read_result_file(os.path.join(results_dir, name + ".txt")))
              for name, seq in sorted(expected.items())}
    print(json.dumps({"sequences": scores, "overall": overall(scores)}))


# --- metric cases -------------------------------------------------------------

# (name, gt, result, the IoU per frame as stated by hand)
KNOWN = [
    ("identical", [[10, 10, 20, 20]], [[10, 10, 20, 20]], [1.0]),
    ("disjoint", [[0, 0, 10, 10]], [[30, 30, 10, 10]], [0.0]),
    ("touching", [[0, 0, 10, 10]], [[10, 0, 10, 10]], [0.0]),
    ("half_shifted", [[0, 0, 10, 10]], [[5, 0, 10, 10]], [50 / 150]),  # 50 shared of 150 covered
    ("contained_half", [[0, 0, 10, 10]], [[0, 0, 5, 10]], [0.5]),
    ("quarter_corner", [[0, 0, 10, 10]], [[5, 5, 10, 10]], [25 / 175]),
    ("empty_result", [[0, 0, 10, 10]], [[3, 3, 0, 0]], [0.0]),
    # a ground truth of zero width is masked out (-1): counted at no threshold, yet a frame of n_frame
    ("masked_gt", [[5, 5, 0, 10], [1, 1, 10, 10]], [[5, 5, 0, 10], [1, 1, 10, 10]], [float("nan"), 1.0]),
]


def known_cases():
    cases = []
    for name, gt, res, stated in KNOWN:
        computed = iou(np.array(gt, np.float64), np.array(res, np.float64))
        for c, s, g in zip(computed, stated, gt):
            if g[2] > 0 and g[3] > 0:
                assert abs(c - s) < 1e-15, (name, c, s)
        cases.append({"name": name, "gt": gt, "result": res, "iou": [None if np.isnan(v) else v for v in stated],
                      **score(gt, res)})
    return cases


def random_cases(rng):
    """Trajectories with noise of every size: near hits, misses, boxes leaving the
    image (centres <= 0: masked for precision), zero-sized ground truth, integer
    and fractional boxes."""
    cases = []
    for k, n in enumerate([1, 7, 30, 120]):
        gt = np.column_stack([rng.uniform(-20, 300, n), rng.uniform(-20, 200, n),
                              rng.uniform(5, 80, n), rng.uniform(5, 80, n)])
        if k % 2:
            gt = np.round(gt)
        if n > 5:
            gt[rng.choice(n, 2, replace=False), 2 + k % 2] = 0  # absent target
        res = gt + rng.normal(0, [4, 4, 3, 3] if k < 2 else [15, 15, 10, 10], (n, 4))
        res[:, 2:] = np.abs(res[:, 2:])
        cases.append({"name": f"random_{n}", "gt": gt.tolist(), "result": res.tolist(),
                      "iou": None, **score(gt, res)})
    return cases


def write_metrics(d, rng):
    cases = known_cases() + random_cases(rng)
    for c in cases:
        c["iou_all"] = [None if np.isnan(v) else float(v) for v in
                        iou(np.array(c["gt"], np.float64), np.array(c["result"], np.float64))]
    summary = overall({c["name"]: c for c in cases})
    write_json(os.path.join(d, "metrics.json"), {"cases": cases, "overall": summary,
                                                 "overlap_thresholds": OVERLAP_THRESHOLDS.tolist(),
                                                 "error_thresholds": ERROR_THRESHOLDS.tolist()})


# --- text formats ------------------------------------------------------------------

GT_TEXTS = {
    "comma": ("198,214,34,81\n197,214,34,81\n", [[198, 214, 34, 81], [197, 214, 34, 81]]),
    "tab": ("1\t2\t3\t4\r\n5\t6\t7\t8\r\n", [[1, 2, 3, 4], [5, 6, 7, 8]]),
    "spaces": ("  10 20   30 40\n1.5 2.25 3e1 -4\n\n\n", [[10, 20, 30, 40], [1.5, 2.25, 30, -4]]),
    "mixed": ("1, 2,3\t4\n5 ,6 , 7 ,8", [[1, 2, 3, 4], [5, 6, 7, 8]]),
}


def write_text_formats(d, rng):
    write_json(os.path.join(d, "ground_truth.json"), {k: {"text": t, "boxes": b} for k, (t, b) in GT_TEXTS.items()})
    boxes = np.column_stack([rng.uniform(0, 300, 5), rng.uniform(0, 200, 5), rng.uniform(5, 80, 5),
                             rng.uniform(5, 80, 5)])
    boxes[0] = [198.5, 214.5, 34, 81]
    # tools/test.py writes ','.join(str(v)): Python's repr of floats (and ints as ints)
    text = "".join(",".join(str(v) for v in row) + "\n" for row in boxes.tolist())
    text = text.replace("34.0,81.0", "34,81", 1)
    write_json(os.path.join(d, "result.json"), {"text": text, "boxes": boxes.tolist()})


# --- datasets ------------------------------------------------------------------------

WIDTH, HEIGHT, FRAMES, SIDE = 96, 72, 6, 20


def textured_square(rng):
    return rng.integers(0, 256, (SIDE, SIDE, 3), np.uint8)


def write_frames(img_dir, rng, paths):
    """Noise frames with textured squares moving along `paths`: per square, a
    list of top-left corners (0-based) per frame. Returns OTB's 1-based boxes."""
    import cv2
    os.makedirs(img_dir, exist_ok=True)
    textures = [textured_square(rng) for _ in paths]
    for f in range(FRAMES):
        frame = rng.integers(0, 256, (HEIGHT, WIDTH, 3), np.uint8) // 2
        for tex, path in zip(textures, paths):
            x, y = path[f]
            frame[y:y + SIDE, x:x + SIDE] = tex
        cv2.imwrite(os.path.join(img_dir, "%04d.jpg" % (f + 1)), frame)
    return [[[x + 1, y + 1, SIDE, SIDE] for x, y in path] for path in paths]


def write_gt(path, boxes, sep):
    write_text(path, "".join(sep.join(str(v) for v in b) + "\n" for b in boxes))


def write_otb_folders(root, rng):
    """OTBtiny; returns {sequence: {frames: [file names], gt}} as reading it must give."""
    if os.path.isdir(root):
        shutil.rmtree(root)
    expected = {}
    frames = ["%04d.jpg" % (f + 1) for f in range(FRAMES)]
    square = write_frames(os.path.join(root, "Square", "img"), rng, [[(10 + 6 * f, 20 + 3 * f) for f in range(FRAMES)]])[0]
    write_gt(os.path.join(root, "Square", "groundtruth_rect.txt"), square, ",")
    expected["Square"] = {"frames": ["Square/img/" + f for f in frames], "gt": square}
    tabbed = write_frames(os.path.join(root, "Tabbed", "img"), rng, [[(60 - 5 * f, 40 - 4 * f) for f in range(FRAMES)]])[0]
    write_gt(os.path.join(root, "Tabbed", "groundtruth_rect.txt"), tabbed, "\t")
    expected["Tabbed"] = {"frames": ["Tabbed/img/" + f for f in frames], "gt": tabbed}
    pair = write_frames(os.path.join(root, "Pair", "img"), rng,
                        [[(5 + 4 * f, 5 + 2 * f) for f in range(FRAMES)], [(70 - 4 * f, 45 - f) for f in range(FRAMES)]])
    for k, boxes in enumerate(pair, start=1):
        write_gt(os.path.join(root, "Pair", f"groundtruth_rect.{k}.txt"), boxes, " ")
        expected[f"Pair-{k}"] = {"frames": ["Pair/img/" + f for f in frames], "gt": boxes}
    os.makedirs(os.path.join(root, "notes"))
    write_text(os.path.join(root, "notes", "README.txt"), "not a sequence\n")
    return expected


def write_pysot_dataset(root, otb_root, otb_expected):
    """PysotTiny: OTBtiny's folders and PysotTiny.json as pysot's OTB100.json
    is laid out; Late starts at frame 3 of Square's images."""
    if os.path.isdir(root):
        shutil.rmtree(root)
    shutil.copytree(otb_root, root)
    meta, expected = {}, {}
    for name, seq in otb_expected.items():
        meta[name] = {"video_dir": name.split("-")[0], "init_rect": seq["gt"][0], "img_names": seq["frames"],
                      "gt_rect": seq["gt"], "attr": ["SV"] if name == "Square" else ["OCC", "IPR"]}
        expected[name] = seq
    late = {"frames": otb_expected["Square"]["frames"][2:], "gt": otb_expected["Square"]["gt"][2:]}
    meta["Late"] = {"video_dir": "Square", "init_rect": late["gt"][0], "img_names": late["frames"],
                    "gt_rect": late["gt"], "attr": []}
    expected["Late"] = late
    write_json(os.path.join(root, os.path.basename(root) + ".json"), meta)
    return expected


def main(out_dir):
    d = os.path.join(out_dir, "track_eval")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(20)
    write_metrics(d, rng)
    write_text_formats(d, rng)
    otb = write_otb_folders(os.path.join(d, "OTBtiny"), rng)
    write_json(os.path.join(d, "OTBtiny.json"), otb)
    write_json(os.path.join(d, "PysotTiny.json"), write_pysot_dataset(os.path.join(d, "PysotTiny"),
                                                                      os.path.join(d, "OTBtiny"), otb))
    print(f"fixture track_eval: {len(otb)} OTBtiny sequences", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
