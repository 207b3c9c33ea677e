"""Reference fixtures for reskit's segmentation metrics (tasks/seg_metrics.h)
and the end-to-end checks of `reskit segment` and `reskit eval-seg`.

The metrics are mmsegmentation's own code: IoUMetric.intersect_and_union
and IoUMetric.total_area_to_metrics from mmseg/evaluation/metrics/
iou_metric.py (mmsegmentation, pinned in scripts/requirements-test.txt),
loaded by file path; mIoU is np.nanmean of the IoUs, as IoUMetric's
compute_metrics takes it. That module imports prettytable only to print its
table, so a stub stands in for it. Areas are summed over images as
compute_metrics sums them. reskit ignores a label >= num_classes like the
ignore index (mmseg would count its pixel's prediction as a false positive),
so labels are mapped that way before mmseg sees them; the seed accuracy is
seeds/004's d2l.accuracy: correct pixels over all pixels.

Layout under OUT_DIR/seg_metrics/:
  <case>/pred.npy, target.npy   N x H x W class indices (float64: reskit reads <f8)
  <case>/expected.json          num_classes, areas, aAcc, IoU, Acc (NaN: null), mIoU,
                                seed_accuracy, all_pixels, and `split`: how many images
                                the first of two "ranks" holds, for the merge test

`prepare_inputs(...)` and `score(...)` serve the CLI tests (`python -c`
imports this file): the first preprocesses images as seeds/004 does
(albumentations' Resize + Normalize: cv2.resize INTER_LINEAR for images,
INTER_NEAREST for masks; (x / 255 - mean) / std), the second scores
predictions against labels with the reference metrics.

usage: make_seg_metrics.py OUT_DIR [RESKIT_BINARY]   (the binary is not used)"""
import functools
import importlib.util
import json
import os
import sys
import types

import numpy as np
import torch

from fixture_util import write_json

IGNORE = 255
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@functools.lru_cache(maxsize=None)
def load_iou_metric():
    """mmseg's IoUMetric, from its file: importing mmseg.evaluation pulls in
    the whole package (mmcv.ops among it, which mmcv-lite lacks). Loaded once:
    a second load would register IoUMetric twice."""
    if "prettytable" not in sys.modules:
        stub = types.ModuleType("prettytable")
        stub.PrettyTable = object
        sys.modules["prettytable"] = stub
    import mmseg  # noqa: F401  (mmseg.registry, which the file imports)
    path = os.path.join(os.path.dirname(mmseg.__file__), "evaluation", "metrics", "iou_metric.py")
    spec = importlib.util.spec_from_file_location("mmseg_iou_metric", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.IoUMetric


def nan_to_none(values):
    return [None if np.isnan(v) else float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]


def reference_metrics(pred, target, num_classes):
    metric = load_iou_metric()
    label = np.where(target >= num_classes, IGNORE, target)  # reskit's rule for labels it has no class for
    areas = [metric.intersect_and_union(torch.from_numpy(p), torch.from_numpy(t), num_classes, IGNORE)
             for p, t in zip(pred, label)]
    total = [sum(a[k] for a in areas) for k in range(4)]
    m = metric.total_area_to_metrics(*total, metrics=["mIoU"])
    with np.errstate(invalid="ignore"):
        miou = float(np.nanmean(m["IoU"])) if not np.all(np.isnan(m["IoU"])) else None
    # seeds/004's d2l.accuracy over the flattened batch: correct pixels / all pixels.
    seed_acc = float((torch.from_numpy(pred) == torch.from_numpy(target)).sum()) / target.size
    return {"num_classes": num_classes,
            "area_intersect": nan_to_none(total[0]), "area_union": nan_to_none(total[1]),
            "area_pred_label": nan_to_none(total[2]), "area_label": nan_to_none(total[3]),
            "aAcc": nan_to_none([m["aAcc"]])[0], "IoU": nan_to_none(m["IoU"]), "Acc": nan_to_none(m["Acc"]),
            "mIoU": miou, "seed_accuracy": seed_acc, "all_pixels": int(target.size)}


def random_case(rng, num_classes, n, h, w, pred_classes, target_classes, ignored, out_of_range=0):
    pred = rng.choice(pred_classes, size=(n, h, w))
    # Mostly right, so that IoUs are not all near chance.
    target = np.where(rng.random((n, h, w)) < 0.6, pred, rng.choice(target_classes, size=(n, h, w)))
    target = np.where(np.isin(target, target_classes), target, rng.choice(target_classes, size=(n, h, w)))
    target = np.where(rng.random((n, h, w)) < ignored, IGNORE, target)
    if out_of_range:
        target = np.where(rng.random((n, h, w)) < out_of_range,
                          rng.integers(num_classes, num_classes + 8, size=(n, h, w)), target)
    return pred.astype(np.int64), target.astype(np.int64)


def cases():
    rng = np.random.default_rng(2024)
    # 5 classes: 4 is nowhere (IoU NaN), 3 is predicted but never a label (IoU 0, Acc NaN).
    yield "absent_classes", 5, *random_case(rng, 5, 3, 24, 31, [0, 1, 2, 3], [0, 1, 2], 0.15)
    # seeds/004's 33 outputs, with labels past the classes (CamVid's 255 and stray ones).
    yield "camvid_33", 33, *random_case(rng, 33, 2, 40, 48, list(range(33)), list(range(30)), 0.1, 0.05)
    # One image entirely ignored.
    pred, target = random_case(rng, 2, 3, 16, 16, [0, 1], [0, 1], 0.0)
    target[1] = IGNORE
    yield "one_image_ignored", 2, pred, target


def prepare_inputs(image_paths, size, out_dir, label_paths=()):
    """seeds/004's preprocessing, one input{k}.npy (1 x 3 x size x size float32) per image and one
    label{k}.npy (size x size, nearest) per label (channel 0 of a colour read, as the seed takes it)."""
    import cv2
    os.makedirs(out_dir, exist_ok=True)
    for k, path in enumerate(image_paths):
        rgb = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        x = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        x = (x / 255.0 - MEAN) / STD
        np.save(os.path.join(out_dir, f"input{k}.npy"), x.transpose(2, 0, 1)[None].astype(np.float32))
    for k, path in enumerate(label_paths):
        label = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)[:, :, 0]
        label = cv2.resize(label, (size, size), interpolation=cv2.INTER_NEAREST)
        np.save(os.path.join(out_dir, f"label{k}.npy"), label.astype(np.float64))


def score(pred_paths, label_paths, num_classes, out_json):
    pred = np.stack([np.load(p).astype(np.int64).reshape(np.load(l).shape) for p, l in zip(pred_paths, label_paths)])
    target = np.stack([np.load(l).astype(np.int64) for l in label_paths])
    write_json(out_json, reference_metrics(pred, target, num_classes))


def main():
    out = os.path.join(sys.argv[1], "seg_metrics")
    for name, num_classes, pred, target in cases():
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "pred.npy"), pred.astype(np.float64))
        np.save(os.path.join(d, "target.npy"), target.astype(np.float64))
        expected = reference_metrics(pred, target, num_classes)
        expected["split"] = int(len(pred) // 2) or 1
        write_json(os.path.join(d, "expected.json"), expected)
        print(f"fixture seg_metrics/{name}: {num_classes} classes, {pred.shape}, mIoU {expected['mIoU']}", flush=True)


if __name__ == "__main__":
    main()
