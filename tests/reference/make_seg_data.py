"""Reference fixtures for reskit's segmentation data: label files of every
kind (io/opencv/label_image.h, io/png.h), the batch loader's preprocessing
(tasks/opencv/seg_loader.h) and seeds/004's tables (tasks/seg_data.h).

Labels are written with PIL and OpenCV, and what they hold is read back with
numpy from PIL's own view of the stored values (np.array of mode L, 1, P,
I;16 images), or computed the way the label reader documents it (channel 0
of RGB; colours through a table, unknown ones 255). Palette PNGs are written
with 2, 4, 16 and 256 colours, which PIL stores at 1, 2, 4 and 8 bits: the
bit depth each file has is read from its IHDR and recorded.

The loader's expected tensors are seeds/004's CamVidDataset pipeline
without its random flips: PIL's convert('RGB'), albumentations' Resize
(cv2.resize, INTER_LINEAR for the image, INTER_NEAREST for the mask) and
Normalize (float32: (x - mean * 255) * (1 / (std * 255))), HWC -> CHW as
ToTensorV2 does. albumentations itself is not installed; these are its
functional forms (albumentations/augmentations/functional.py, geometric/
functional.py).

Layout under OUT_DIR/seg_data/:
  labels/*.png, *.bmp, colours.txt    one file per case; colours.txt: "R,G,B name" lines
  labels/cases.json                   [{file, expected (.npy), colours (bool), source, bit_depth}]
  labels/*.npy                        expected H x W class indices (float32)
  camvid/                             train_images/ (6 RGB PNGs of 21..40 x 17..30 px),
                                      train_labels/ (index PNGs, 255 here and there),
                                      valid_images/, valid_labels/ (the same 6)
  loader/expected.json                size; per sample: image, label, image.npy, label.npy
  loader/NNN_image.npy, NNN_label.npy 3 x S x S float32, S x S (as float32)
  seed_tables.json                    seeds/004's Cam_COLORMAP and Cam_CLASSES

usage: make_seg_data.py OUT_DIR [RESKIT_BINARY]   (the binary is not used)"""
import json
import os
import shutil
import struct
import sys

import cv2
import numpy as np
from PIL import Image

from fixture_util import write_json

# seeds/004, as its post lists them.
Cam_COLORMAP = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0],
                [0, 0, 128], [128, 0, 128], [0, 128, 128], [128, 128, 128],
                [64, 0, 0], [192, 0, 0], [64, 128, 0], [192, 128, 0],
                [64, 0, 128], [192, 0, 128], [64, 128, 128], [192, 128, 128],
                [0, 64, 0], [128, 64, 0], [0, 192, 0], [128, 192, 0],
                [0, 64, 128], [0, 32, 128], [0, 16, 128], [0, 64, 64], [0, 64, 32],
                [0, 64, 16], [64, 64, 128], [0, 32, 16], [32, 32, 32], [16, 16, 16], [32, 16, 128],
                [192, 16, 16], [32, 32, 196], [192, 32, 128], [25, 15, 125], [32, 124, 23], [111, 222, 113],
                ]
Cam_CLASSES = ['Animal', 'Archway', 'Bicyclist', 'Bridge', 'Building', 'Car', 'CartLuggagePram', 'Child',
               'Column_Pole', 'Fence', 'LaneMkgsDriv', 'LaneMkgsNonDriv', 'Misc_Text', 'MotorcycleScooter',
               'OtherMoving', 'ParkingBlock', 'Pedestrian', 'Road', 'RoadShoulder', 'Sidewalk', 'SignSymbol',
               'Sky', 'SUVPickupTruck', 'TrafficCone', 'TrafficLight', 'Train', 'Tree', 'Truck_Bus', 'Tunnel',
               'VegetationMisc', 'Void', 'Wall']

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
LOADER_SIZE = 16


def png_bit_depth(path):
    with open(path, "rb") as f:
        head = f.read(26)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", path
    return head[24]


def save_expected(path, labels):
    np.save(path, np.asarray(labels, dtype=np.float32))


def write_labels(out, rng):
    d = os.path.join(out, "labels")
    os.makedirs(d, exist_ok=True)
    cases = []
    h, w = 13, 19

    def add(name, expected, source, colours=False):
        save_expected(os.path.join(d, name + ".npy"), expected)
        path = os.path.join(d, name)
        depth = png_bit_depth(path) if name.endswith(".png") else 0
        cases.append({"file": name, "expected": name + ".npy", "colours": colours, "source": source,
                      "bit_depth": int(depth)})

    gray = rng.integers(0, 33, (h, w)).astype(np.uint8)
    gray[0, :4] = 255
    Image.fromarray(gray, "L").save(os.path.join(d, "gray8.png"))
    add("gray8.png", np.array(Image.open(os.path.join(d, "gray8.png"))), "index")

    binary = rng.integers(0, 2, (h, w)).astype(bool)
    Image.fromarray(binary).convert("1").save(os.path.join(d, "gray1.png"))
    # PIL shows a mode "1" image as booleans: the stored bits, which are the indices.
    add("gray1.png", np.array(Image.open(os.path.join(d, "gray1.png"))).astype(np.uint8), "index")

    wide = rng.integers(0, 256, (h, w)).astype(np.uint16)
    Image.fromarray(wide, "I;16").save(os.path.join(d, "gray16.png"))
    add("gray16.png", np.array(Image.open(os.path.join(d, "gray16.png"))), "index")
    too_wide = wide.copy()
    too_wide[3, 5] = 1000
    Image.fromarray(too_wide, "I;16").save(os.path.join(d, "gray16_over_255.png"))

    for colours, bits in ((2, 1), (4, 2), (16, 4), (256, 8)):
        idx = rng.integers(0, colours, (h, w)).astype(np.uint8)
        im = Image.fromarray(idx, "P")
        palette = rng.integers(0, 256, colours * 3).astype(np.uint8).tolist()
        im.putpalette(palette)
        name = f"palette{bits}.png"
        im.save(os.path.join(d, name))
        assert png_bit_depth(os.path.join(d, name)) == bits, name
        add(name, np.array(Image.open(os.path.join(d, name))), "palette")

    # seeds/004's CamVid labels: RGB, the index in channel 0.
    rgb = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
    rgb[..., 0] = rng.integers(0, 33, (h, w))
    Image.fromarray(rgb, "RGB").save(os.path.join(d, "rgb_index.png"))
    add("rgb_index.png", np.array(Image.open(os.path.join(d, "rgb_index.png")).convert("RGB"))[:, :, 0], "channel0")

    # Colour-coded labels through a table; a few pixels of no class colour.
    table = [c for c in Cam_COLORMAP[:12]]
    with open(os.path.join(d, "colours.txt"), "w") as f:
        for i, c in enumerate(table):
            f.write(f"{c[0]},{c[1]},{c[2]} {Cam_CLASSES[i]}\n")
    classes = rng.integers(0, len(table), (h, w))
    coded = np.array(table, dtype=np.uint8)[classes]
    coded[1, 1] = (1, 2, 3)
    coded[5, 7:10] = (250, 250, 250)

    def through_table(img):
        lut = {tuple(c): i for i, c in enumerate(table)}
        return np.array([[lut.get(tuple(int(v) for v in px), 255) for px in row] for row in img], dtype=np.uint8)

    Image.fromarray(coded, "RGB").save(os.path.join(d, "colour.png"))
    add("colour.png", through_table(np.array(Image.open(os.path.join(d, "colour.png")).convert("RGB"))), "colours", True)
    alpha = np.concatenate([coded, rng.integers(0, 256, (h, w, 1)).astype(np.uint8)], axis=2)
    Image.fromarray(alpha, "RGBA").save(os.path.join(d, "colour_rgba.png"))
    add("colour_rgba.png", through_table(coded), "colours", True)
    # BMP labels go through OpenCV: cv2 writes BGR.
    cv2.imwrite(os.path.join(d, "colour.bmp"), coded[:, :, ::-1])
    add("colour.bmp", through_table(cv2.imread(os.path.join(d, "colour.bmp"))[:, :, ::-1]), "colours", True)
    cv2.imwrite(os.path.join(d, "gray.bmp"), gray)
    add("gray.bmp", cv2.imread(os.path.join(d, "gray.bmp"), cv2.IMREAD_UNCHANGED), "index")
    # An RGB index label read with a colour table finds none of its colours.
    Image.fromarray(np.repeat(np.minimum(gray, 32)[:, :, None] + 1, 3, axis=2), "RGB").save(os.path.join(d, "rgb_gray_index.png"))
    write_json(os.path.join(d, "cases.json"), cases)


def normalise(rgb):
    """albumentations' normalize(img, mean, std, max_pixel_value=255.0)."""
    mean = np.array(MEAN, dtype=np.float32) * 255.0
    std = np.array(STD, dtype=np.float32) * 255.0
    denominator = np.reciprocal(std, dtype=np.float32)
    img = rgb.astype(np.float32)
    img -= mean
    img *= denominator
    return img


def write_camvid(out, rng):
    root = os.path.join(out, "camvid")
    shutil.rmtree(root, ignore_errors=True)
    for split in ("train", "valid"):
        os.makedirs(os.path.join(root, split + "_images"))
        os.makedirs(os.path.join(root, split + "_labels"))
    loader = os.path.join(out, "loader")
    os.makedirs(loader, exist_ok=True)
    samples = []
    for i in range(6):
        w, h = int(rng.integers(21, 41)), int(rng.integers(17, 31))
        # Smooth colour fields plus noise, so a wrong interpolation shows.
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (w + h)], axis=2)
        image = np.clip(base + rng.integers(-40, 41, (h, w, 3)), 0, 255).astype(np.uint8)
        label = ((xx * 5 // w) + 5 * (yy * 3 // h)).astype(np.uint8)
        label[rng.random((h, w)) < 0.05] = 255
        name = f"frame_{i:02d}.png"
        for split in ("train", "valid"):
            Image.fromarray(image, "RGB").save(os.path.join(root, split + "_images", name))
            Image.fromarray(label, "L").save(os.path.join(root, split + "_labels", name))
        # seeds/004's __getitem__ without the flips.
        img = np.array(Image.open(os.path.join(root, "valid_images", name)).convert("RGB"))
        mask = np.array(Image.open(os.path.join(root, "valid_labels", name)).convert("RGB"))
        img = cv2.resize(img, (LOADER_SIZE, LOADER_SIZE), interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(mask, (LOADER_SIZE, LOADER_SIZE), interpolation=cv2.INTER_NEAREST)
        chw = normalise(img).transpose(2, 0, 1)
        np.save(os.path.join(loader, f"{i:03d}_image.npy"), np.ascontiguousarray(chw, dtype=np.float32))
        save_expected(os.path.join(loader, f"{i:03d}_label.npy"), mask[:, :, 0])
        samples.append({"image": name, "image_npy": f"{i:03d}_image.npy", "label_npy": f"{i:03d}_label.npy"})
    write_json(os.path.join(loader, "expected.json"), {"size": LOADER_SIZE, "samples": samples})


def main():
    out = os.path.join(sys.argv[1], "seg_data")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(4)
    write_labels(out, rng)
    write_camvid(out, rng)
    write_json(os.path.join(out, "seed_tables.json"), {"colours": Cam_COLORMAP, "names": Cam_CLASSES})
    print("fixture seg_data: labels, camvid, loader, seed tables", flush=True)


if __name__ == "__main__":
    main()
