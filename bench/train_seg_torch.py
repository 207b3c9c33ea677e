#!/usr/bin/env python3
"""seeds/004's EncNet training recipe in PyTorch eager (Debian's python3-torch),
the baseline `reskit train-seg`'s images/s is set beside: the reference model
(tests/reference/encnet_reference.py), one forward per step, cross-entropy
ignoring 255 plus se_weight x the SE loss, SGD, on a CamVid-layout directory
(`reskit make-data camvid DIR`: DIR/train_images/*.png and index-PNG labels
of the same names in DIR/train_labels/).

usage: bench/train_seg_torch.py --data DIR [--backbone resnet18] [--size 128] [--batch-size 8]
                                [--steps 20] [--warmup 3] [--threads 2] [--num-classes 33] [--json]

Each step reads its batch (cv2: images resized bilinearly, labels nearest;
random horizontal and vertical flips from a seeded RNG; RGB, ImageNet
normalisation), as a DataLoader without workers would, then trains on it.
Printed: train images/s = batch / the median step time over the steps
after the warm-up, loading included, and the same for the training alone.
Not run by the tests."""
import argparse
import json
import os
import statistics
import sys
import time

import cv2
import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import encnet_reference as enc  # noqa: E402

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="CamVid-layout directory (train_images/, train_labels/)")
    p.add_argument("--backbone", default="resnet18", choices=sorted(enc.BACKBONES))
    p.add_argument("--size", type=int, default=128, help="training side, a multiple of 8")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--steps", type=int, default=20, help="timed steps after the warm-up")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--num-classes", type=int, default=33)
    p.add_argument("--num-codes", type=int, default=32)
    p.add_argument("--head-channels", type=int, default=512)
    p.add_argument("--seg-channels", type=int, default=256)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.0)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--se-weight", type=float, default=0.2)
    p.add_argument("--se-loss", default="mse", choices=["mse", "bce"])
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--json", action="store_true", help="also print one JSON line with the figures")
    args = p.parse_args(argv)
    if args.size <= 0 or args.size % 8:
        p.error(f"--size must be a positive multiple of 8, got {args.size}")
    if args.batch_size < 1 or args.steps < 1 or args.warmup < 0 or args.threads < 1:
        p.error("--batch-size, --steps and --threads must be positive, --warmup not negative")
    return args


def list_pairs(data):
    """(image, label) paths: every PNG in train_images/ with its namesake in train_labels/."""
    images_dir, labels_dir = os.path.join(data, "train_images"), os.path.join(data, "train_labels")
    if not os.path.isdir(images_dir) or not os.path.isdir(labels_dir):
        sys.exit(f"train_seg_torch: {data} has no train_images/ and train_labels/")
    names = sorted(n for n in os.listdir(images_dir) if n.lower().endswith(".png"))
    missing = [n for n in names if not os.path.isfile(os.path.join(labels_dir, n))]
    if missing:
        sys.exit(f"train_seg_torch: no label for {missing[0]} in {labels_dir}")
    if not names:
        sys.exit(f"train_seg_torch: no PNG images in {images_dir}")
    return [(os.path.join(images_dir, n), os.path.join(labels_dir, n)) for n in names]


def load_sample(image_path, label_path, size, rng):
    image = cv2.imread(image_path, cv2.IMREAD_COLOR)
    label = cv2.imread(label_path, cv2.IMREAD_UNCHANGED)
    if image is None or label is None:
        sys.exit(f"train_seg_torch: cannot read {image_path if image is None else label_path}")
    if label.ndim == 3:  # the seed reads channel 0 of the RGB mask: cv2's BGR has it last
        label = label[:, :, 2]
    image = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
    label = cv2.resize(label, (size, size), interpolation=cv2.INTER_NEAREST)
    if rng.random() < 0.5:  # albumentations' HorizontalFlip and VerticalFlip, p = 0.5 each
        image, label = image[:, ::-1], label[:, ::-1]
    if rng.random() < 0.5:
        image, label = image[::-1], label[::-1]
    rgb = (image[:, :, ::-1].astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)), np.ascontiguousarray(label).astype(np.int64)


def batches(pairs, batch_size, size, rng):
    """Shuffled epochs with drop_last, as the seed's DataLoader; forever."""
    if len(pairs) < batch_size:
        sys.exit(f"train_seg_torch: {len(pairs)} images are fewer than a batch of {batch_size}")
    while True:
        order = rng.permutation(len(pairs))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            samples = [load_sample(*pairs[i], size, rng) for i in order[start:start + batch_size]]
            yield (torch.from_numpy(np.stack([s[0] for s in samples])),
                   torch.from_numpy(np.stack([s[1] for s in samples])))


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = enc.ENCNet(num_classes=args.num_classes, num_codes=args.num_codes, backbone=args.backbone,
                       head_channels=args.head_channels, seg_channels=args.seg_channels)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                                weight_decay=args.weight_decay)
    data = batches(list_pairs(args.data), args.batch_size, args.size, rng)
    step_times, train_times = [], []
    for step in range(args.warmup + args.steps):
        start = time.perf_counter()
        images, labels = next(data)
        loaded = time.perf_counter()
        valid = labels[labels != enc.IGNORE_INDEX]
        if valid.numel() and int(valid.max()) >= args.num_classes:
            sys.exit(f"train_seg_torch: a label is >= --num-classes {args.num_classes}")
        total, ce, se = enc.train_step(model, optimizer, images, labels, args.se_weight, args.se_loss)
        done = time.perf_counter()
        if step >= args.warmup:
            step_times.append(done - start)
            train_times.append(done - loaded)
        print(f"step {step + 1}/{args.warmup + args.steps}{' (warm-up)' if step < args.warmup else ''}: "
              f"loss {total:.4f} (ce {ce:.4f}, se {se:.4f}), {done - start:.3f} s", file=sys.stderr, flush=True)
    images_per_s = args.batch_size / statistics.median(step_times)
    train_only = args.batch_size / statistics.median(train_times)
    print(f"PyTorch {torch.__version__} eager, encnet {args.backbone} {args.size}x{args.size}, batch "
          f"{args.batch_size}, {args.threads} threads: train images/s {images_per_s:.2f} "
          f"(training alone {train_only:.2f}), median of {args.steps} steps after {args.warmup} warm-up")
    if args.json:
        print(json.dumps({"images_per_s": images_per_s, "train_only_images_per_s": train_only,
                          "median_step_s": statistics.median(step_times), "steps": args.steps,
                          "warmup": args.warmup, "backbone": args.backbone, "size": args.size,
                          "batch_size": args.batch_size, "threads": args.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main(sys.argv[1:])
