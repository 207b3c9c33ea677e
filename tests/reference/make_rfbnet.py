"""Reference fixtures for rfbnet (rfbnet_reference.py, written from the
official RFBNet code): parity cases for the generic parity test, and under
OUT_DIR/rfbnet/ the detector's pieces for the C++ unit tests: priors, box
decoding, test_RFB's post-processing, VOC07 evaluation on a generated
VOC-layout dataset, and the whole pipeline end to end on it.

usage: make_rfbnet.py OUT_DIR [RESKIT_BINARY]   (the binary is not used)"""
import os
import sys

import numpy as np
import torch

import rfbnet_reference as rfb
from fixture_util import randomise_batchnorm, save_npy, write_json, write_parity_case, write_parity_manifest, \
    write_text

FAMILY = "rfbnet"


def case(sets=(), kwargs=None, legacy=False, batch=1):
    """--set options; build_net's kwargs (phase, size, num_classes); whether
    a legacy-format copy is saved (the official checkpoints are legacy); the
    batch size of the input."""
    return {"model": "rfbnet", "sets": list(sets), "kwargs": kwargs or {}, "legacy": legacy, "batch": batch}


PARITY = {
    "rfbnet300": case(),
    "rfbnet300_train": case(["phase=train"], {"phase": "train"}),
    "rfbnet512": case(["size=512"], {"size": 512}),
    # Two images: the test phase's scores are (N * P) x C.
    "rfbnet300_classes5_batch2": case(["num_classes=5"], {"num_classes": 5}, batch=2),
    # The shape of the official COCO RFB300 checkpoint, in its legacy format.
    "rfbnet300_coco_legacy": case(["num_classes=81"], {"num_classes": 81}, legacy=True),
}

# Printed only: no weights worth keeping.
PRINT_ONLY = {"rfbnet512_train": (["size=512", "phase=train"], {"size": 512, "phase": "train"})}


def seeded_net(seed, phase="test", size=300, num_classes=21):
    """build_net with seeded weights. PyTorch's default init shrinks the
    signal through the 15 plain VGG convs (conv4_3's output ~0.005 against
    BatchNorm biases ~0.1), so a wrong base layer would hardly show in the
    outputs: the base convs get He-normal weights to keep their scale."""
    torch.manual_seed(seed)
    net = rfb.build_net(phase, size, num_classes)
    for m in net.base:
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return randomise_batchnorm(net, seed=seed + 1).eval()


def write_parity(out_dir):
    prints = os.path.join(out_dir, "print")
    os.makedirs(prints, exist_ok=True)
    print_cases = {}
    for i, (case_id, c) in enumerate(PARITY.items()):
        net = seeded_net(4000 + 10 * i, **c["kwargs"])
        x = torch.randn(c["batch"], 3, net.size, net.size)
        with torch.no_grad():
            loc, conf = net(x)
        write_parity_case(out_dir, FAMILY, case_id, c, net, [x], [loc, conf])
        write_text(os.path.join(prints, case_id + ".txt"), repr(net) + "\n")
        print_cases[case_id] = {"model": c["model"], "sets": c["sets"]}
    for case_id, (sets, kwargs) in PRINT_ONLY.items():
        write_text(os.path.join(prints, case_id + ".txt"), repr(rfb.build_net(**{"phase": "test", **kwargs})) + "\n")
        print_cases[case_id] = {"model": "rfbnet", "sets": sets}
    write_parity_manifest(out_dir, FAMILY, PARITY, torch=torch.__version__)
    write_json(os.path.join(prints, "rfbnet_cases.json"), print_cases)


def write_priors(d):
    os.makedirs(d, exist_ok=True)
    for (dataset, size), cfg in rfb.CONFIGS.items():
        save_npy(os.path.join(d, f"{dataset}_{size}.npy"), rfb.PriorBox(cfg).forward())


def write_decode(d):
    os.makedirs(d, exist_ok=True)
    priors = rfb.PriorBox(rfb.VOC_300).forward()
    loc = torch.randn(priors.size(0), 4, generator=torch.Generator().manual_seed(41))
    save_npy(os.path.join(d, "loc.npy"), loc)
    save_npy(os.path.join(d, "priors.npy"), priors)
    save_npy(os.path.join(d, "decoded.npy"), rfb.decode(loc, priors, rfb.VOC_300["variance"]))
    write_json(os.path.join(d, "params.json"), {"variance": rfb.VOC_300["variance"]})


def postprocess_cases():
    """{name: (boxes P x 4, scores P x C, threshold, nms, max_detections)}."""
    rng = np.random.default_rng(42)
    xy = rng.uniform(0, 200, (500, 2))
    wh = rng.uniform(10, 80, (500, 2))
    logits = rng.normal(0, 2, (500, 6))
    soft = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    cases = {"random": (np.hstack([xy, xy + wh]), soft, 0.1, 0.45, 50)}

    def scores_for(rows, num_classes=4):
        s = np.zeros((len(rows), num_classes))
        for r, per_class in enumerate(rows):
            for j, v in per_class.items():
                s[r, j] = v
        return s

    # Class 1: D suppresses E (IoU 0.54); F overlaps only E (a suppressed box
    # suppresses nothing) and D at 0.18, so F stays. G, H overlap at 0.96.
    # Class 2 scores the same boxes the other way round (per-class NMS).
    boxes = [[0, 0, 49, 49], [15, 0, 64, 49], [35, 0, 84, 49], [100, 100, 150, 150], [101, 100, 151, 150]]
    cases["overlapping"] = (boxes, scores_for([{1: .9, 2: .3}, {1: .8, 2: .6}, {1: .7, 2: .9},
                                               {1: .6, 2: .55}, {1: .65, 2: .5}]), 0.2, 0.45, 200)
    # IoU exactly 0.25 (40 / 160 with +1 areas) at nms 0.25: kept, as
    # py_cpu_nms keeps IoU <= thresh (the Cython cpu_nms would drop it).
    cases["iou_equal_threshold"] = ([[0, 0, 9, 9], [6, 0, 15, 9], [5, 0, 14, 9]],
                                    scores_for([{1: .9}, {1: .8}, {1: .7}]), 0.1, 0.25, 200)
    # Every score <= threshold; 0.5 itself is not above 0.5.
    cases["empty"] = ([[0, 0, 10, 10], [5, 5, 20, 20], [30, 30, 60, 60]],
                      scores_for([{1: .5, 2: .2}, {1: .1, 3: .5}, {2: .49, 3: .3}]), 0.5, 0.45, 200)
    # Equal scores: the lower row goes first and suppresses its tied overlap.
    cases["ties"] = ([[0, 0, 49, 49], [2, 2, 51, 51], [100, 100, 149, 149], [100, 0, 149, 49],
                      [0, 100, 49, 149], [1, 100, 50, 149]],
                     scores_for([{1: .8}, {1: .8}, {1: .8}, {1: .9}, {2: .6}, {2: .6}]), 0.3, 0.45, 200)
    # Five survivors, max 3: the 3rd score is 0.7 and all three 0.7s stay.
    cases["cut_keeps_ties"] = ([[0, 0, 20, 20], [50, 0, 70, 20], [0, 50, 20, 70], [50, 50, 70, 70],
                                [100, 100, 120, 120]],
                               scores_for([{1: .9}, {1: .7}, {2: .7}, {2: .6}, {3: .7}]), 0.3, 0.45, 3)
    # As many survivors as max_detections: no cut (it needs more).
    cases["count_equals_max"] = ([[0, 0, 20, 20], [50, 0, 70, 20], [0, 50, 20, 70]],
                                 scores_for([{1: .9}, {1: .4}, {3: .35}]), 0.3, 0.45, 3)
    return cases


def write_postprocess(d):
    for name, (boxes, scores, thresh, nms, max_det) in postprocess_cases().items():
        c = os.path.join(d, name)
        os.makedirs(c, exist_ok=True)
        boxes = np.asarray(boxes, dtype=np.float32)
        scores = np.asarray(scores, dtype=np.float32)
        np.save(os.path.join(c, "boxes.npy"), boxes)
        np.save(os.path.join(c, "scores.npy"), scores)
        write_json(os.path.join(c, "params.json"), {"threshold": thresh, "nms": nms, "max_detections": max_det})
        write_json(os.path.join(c, "expected.json"),
                   rfb.detections_list(rfb.postprocess(boxes, scores, thresh, nms, max_det)))


# VOCtiny: (id, width, height, [(name, difficult, [xmin, ymin, xmax, ymax])]).
# dog, person, car, cat and bottle have objects (bottle only a difficult one,
# so no positives); the other 15 classes are absent.
VOC_IMAGES = [
    ("000001", 200, 150, [("dog", 0, [20, 30, 100, 120]), ("dog", 0, [110, 20, 190, 100]),
                          ("person", 0, [50, 10, 80, 140]), ("person", 1, [150, 100, 190, 145])]),
    ("000002", 160, 200, [("person", 0, [10, 10, 60, 150]), ("person", 0, [70, 20, 150, 190]),
                          ("car", 1, [5, 160, 60, 195]), ("cat", 0, [90, 100, 150, 180])]),
    ("000003", 180, 180, [("person", 0, [20, 20, 90, 170]), ("person", 0, [100, 10, 170, 90]),
                          ("car", 0, [100, 100, 170, 170]), ("bottle", 1, [10, 10, 30, 60])]),
]

# Hand-made detections, boxes as the detector emits them (0-based pixels; the
# results file adds 1), listed in results-file order: class, then image.
VOC_DETECTIONS = [
    # dog: hit, duplicate of that hit (FP), miss on an image without dogs, hit, miss.
    ("dog", "000001", 0.95, [19, 29, 99, 119]), ("dog", "000001", 0.9, [21, 31, 101, 121]),
    ("dog", "000001", 0.6, [109, 19, 189, 99]), ("dog", "000002", 0.3, [0, 0, 50, 50]),
    ("dog", "000003", 0.85, [10, 10, 80, 80]),
    # person (5 positives), ranked hit, hit, hit, miss, (difficult), duplicate,
    # hit, hit: 0.7996 (a hit) and 0.8003 (a miss) both read back as 0.800,
    # so the results file's order ranks the hit first; recall reaches
    # 3/5 = 0.6 at precision 1, which VOC07's t = 0.6000000000000001 skips.
    ("person", "000001", 0.7996, [49, 9, 79, 139]), ("person", "000001", 0.7, [149, 99, 189, 144]),
    ("person", "000002", 0.9, [9, 9, 59, 149]), ("person", "000002", 0.85, [69, 19, 149, 189]),
    ("person", "000002", 0.6, [11, 11, 61, 151]),
    ("person", "000003", 0.8003, [0, 0, 40, 40]), ("person", "000003", 0.45, [30, 20, 100, 170]),
    ("person", "000003", 0.4, [99, 9, 169, 89]),
    # car: IoU exactly 0.5 (not a hit: it must exceed 0.5), then a hit, and
    # one on the difficult car.
    ("car", "000002", 0.7, [4, 159, 59, 194]),
    ("car", "000003", 0.9, [99, 99, 169, 133.5]), ("car", "000003", 0.8, [99, 99, 169, 134.5]),
    # bottle: on its only (difficult) object, and a miss: no positives, AP 0.
    ("bottle", "000003", 0.9, [9, 9, 29, 59]), ("bottle", "000003", 0.3, [100, 100, 120, 140]),
    # horse: detections without any ground truth. cat: ground truth without detections.
    ("horse", "000001", 0.6, [0, 0, 20, 20]),
]

ANNOTATION = """<annotation>
\t<folder>VOCtiny</folder>
\t<filename>{id}.jpg</filename>
\t<size>
\t\t<width>{w}</width>
\t\t<height>{h}</height>
\t\t<depth>3</depth>
\t</size>
\t<segmented>0</segmented>
{objects}</annotation>
"""

OBJECT = """\t<object>
\t\t<name>{name}</name>
\t\t<pose>Unspecified</pose>
\t\t<truncated>0</truncated>
\t\t<difficult>{difficult}</difficult>
\t\t<bndbox>
\t\t\t<xmin>{b[0]}</xmin>
\t\t\t<ymin>{b[1]}</ymin>
\t\t\t<xmax>{b[2]}</xmax>
\t\t\t<ymax>{b[3]}</ymax>
\t\t</bndbox>
\t</object>
"""


def write_voc_dataset(root):
    """VOCtiny/{JPEGImages,Annotations,ImageSets/Main/test.txt}: noise JPEGs
    (cv2.imwrite) and VOC XML. Returns the image ids and parsed annotations."""
    import cv2
    rng = np.random.default_rng(7)
    for sub in ("JPEGImages", "Annotations", os.path.join("ImageSets", "Main")):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    for image_id, w, h, objects in VOC_IMAGES:
        cv2.imwrite(os.path.join(root, "JPEGImages", image_id + ".jpg"), rng.integers(0, 256, (h, w, 3), np.uint8))
        xml = ANNOTATION.format(id=image_id, w=w, h=h, objects="".join(
            OBJECT.format(name=n, difficult=dif, b=b) for n, dif, b in objects))
        write_text(os.path.join(root, "Annotations", image_id + ".xml"), xml)
    ids = [image_id for image_id, *_ in VOC_IMAGES]
    write_text(os.path.join(root, "ImageSets", "Main", "test.txt"), "".join(i + "\n" for i in ids))
    recs = {i: rfb.parse_rec(os.path.join(root, "Annotations", i + ".xml")) for i in ids}
    return ids, recs


def all_boxes_of(detections, ids):
    """[(class name, image id, score, box)] to all_boxes[class][image] (n x 5, float32), keeping list order."""
    all_boxes = [[[] for _ in ids] for _ in rfb.VOC_CLASSES]
    for name, image_id, score, box in detections:
        all_boxes[rfb.VOC_CLASSES.index(name)][ids.index(image_id)].append(list(box) + [score])
    return [[np.array(dets, dtype=np.float32).reshape(-1, 5) for dets in per_image] for per_image in all_boxes]


def write_results_files(d, all_boxes, ids):
    """The official comp4_det_test_<class>.txt files, for reading the rounding."""
    os.makedirs(d, exist_ok=True)
    for j, cls in enumerate(rfb.VOC_CLASSES[1:], start=1):
        write_text(os.path.join(d, f"comp4_det_test_{cls}.txt"),
                   "".join(line + "\n" for line in rfb.results_lines(all_boxes, ids, j)))


def write_voc(d):
    root = os.path.join(d, "VOCtiny")
    ids, recs = write_voc_dataset(root)
    write_json(os.path.join(d, "annotations.json"), recs)
    write_json(os.path.join(d, "detections.json"),
               [{"class": n, "image": i, "score": s, "box": b} for n, i, s, b in VOC_DETECTIONS])
    all_boxes = all_boxes_of(VOC_DETECTIONS, ids)
    write_results_files(os.path.join(d, "results"), all_boxes, ids)
    write_json(os.path.join(d, "expected_ap.json"), rfb.evaluate_detections(all_boxes, ids, recs))
    return root, ids, recs


# The end-to-end model: seeded_net with conv1's weights / 64 (its inputs are
# pixels minus means, not unit noise), and conf biases that make the scores
# readable: background +7 and every class -5 on every anchor, so that a
# class scores ~1e-5, far from the 0.01 threshold; and for each (source,
# anchor, class) chosen here the -5 undone, +7.5 and that channel's weights
# x 4, so that it scores across ~(0.2, 0.8) with few near-ties. The chosen
# anchors' shapes fit VOCtiny's objects, so the mAP is not trivially 0.
E2E_BACKGROUND_BIAS = 7.0
E2E_OTHER_BIAS = -5.0
E2E_CLASS_BIAS = 7.5
E2E_CLASS_GAIN = 4.0
E2E_CHOSEN = [(3, 3, "person"), (3, 0, "dog"), (2, 1, "car"), (2, 0, "cat")]


def e2e_net():
    net = seeded_net(4500)
    c = net.num_classes
    with torch.no_grad():
        net.base[0].weight /= 64
        for head in net.conf:
            for a in range(head.out_channels // c):  # channel a * C + j: anchor a's class j
                head.bias[a * c] += E2E_BACKGROUND_BIAS
                head.bias[a * c + 1:(a + 1) * c] += E2E_OTHER_BIAS
        for k, a, name in E2E_CHOSEN:
            ch = a * c + rfb.VOC_CLASSES.index(name)
            net.conf[k].weight[ch] *= E2E_CLASS_GAIN
            net.conf[k].bias[ch] += E2E_CLASS_BIAS - E2E_OTHER_BIAS
    return net


def write_eval_end_to_end(d, voc_root, ids, recs):
    """test_RFB.py on VOCtiny with a seeded RFBNet300 (weights.pth): per
    image the network input and outputs, the detections at 0.5 as `reskit
    detect` prints them, and the VOC07 APs of the detections at 0.01."""
    import cv2
    for sub in ("inputs", "outputs", "detections"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    net = e2e_net()
    torch.save(net.state_dict(), os.path.join(d, "weights.pth"))
    params = {"data": "../voc/VOCtiny", "size": 300, "num_classes": 21, "threshold": 0.01, "nms": 0.45,
              "max_detections": 200, "detect_threshold": 0.5, "means": [104, 117, 123]}
    write_json(os.path.join(d, "params.json"), params)
    priors = rfb.PriorBox(rfb.VOC_300).forward()
    all_boxes = [[None] * len(ids) for _ in rfb.VOC_CLASSES]
    for i, image_id in enumerate(ids):
        img = cv2.imread(os.path.join(voc_root, "JPEGImages", image_id + ".jpg"), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        x = rfb.base_transform(img, 300).unsqueeze(0)
        with torch.no_grad():
            loc, conf = net(x)
        save_npy(os.path.join(d, "inputs", image_id + ".npy"), x)
        save_npy(os.path.join(d, "outputs", image_id + "_loc.npy"), loc)
        save_npy(os.path.join(d, "outputs", image_id + "_conf.npy"), conf)
        boxes, scores = rfb.detect(loc, conf, priors, rfb.VOC_300["variance"])
        # to the original image's pixels, in float32, and not clipped to it
        boxes = (boxes[0] * torch.tensor([w, h, w, h], dtype=torch.float32)).numpy()
        scores = scores[0].numpy()
        per_class = rfb.postprocess(boxes, scores, params["threshold"], params["nms"], params["max_detections"])
        for j in range(len(rfb.VOC_CLASSES)):
            all_boxes[j][i] = per_class[j]
        shown = rfb.postprocess(boxes, scores, params["detect_threshold"], params["nms"], params["max_detections"])
        write_json(os.path.join(d, "detections", image_id + ".json"),
                   {"image": image_id + ".jpg", "detections": rfb.detections_list(shown, rfb.VOC_CLASSES)})
    write_results_files(os.path.join(d, "results"), all_boxes, ids)
    aps = rfb.evaluate_detections(all_boxes, ids, recs)
    write_json(os.path.join(d, "expected_ap.json"), aps)
    print(f"fixture rfbnet/eval_end_to_end: mAP {aps['mAP']:.4f}", flush=True)


def write_labels(d):
    """RFBNet's class names by index: VOC_CLASSES, and COCO's 80 contiguous
    classes as torchvision lists them (its 'N/A' entries are the category ids
    COCO never uses, which RFBNet's contiguous numbering skips)."""
    from torchvision.models.detection import FasterRCNN_ResNet50_FPN_Weights
    os.makedirs(d, exist_ok=True)
    coco = [c for c in FasterRCNN_ResNet50_FPN_Weights.DEFAULT.meta["categories"] if c != "N/A"]
    write_json(os.path.join(d, "voc.json"), list(rfb.VOC_CLASSES))
    write_json(os.path.join(d, "coco.json"), coco)


def main(out_dir):
    write_parity(out_dir)
    d = os.path.join(out_dir, "rfbnet")
    write_priors(os.path.join(d, "priors"))
    write_decode(os.path.join(d, "decode"))
    write_postprocess(os.path.join(d, "postprocess"))
    voc_root, ids, recs = write_voc(os.path.join(d, "voc"))
    write_eval_end_to_end(os.path.join(d, "eval_end_to_end"), voc_root, ids, recs)
    write_labels(os.path.join(d, "labels"))


if __name__ == "__main__":
    main(sys.argv[1])
