"""Fixture for `reskit classify`: an image, a seeded resnet18 checkpoint and
torchvision's top-5 through its own ImageNet eval transform."""
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms

from fixture_util import randomise_batchnorm, write_json


def top5(model, image, resize):
    t = transforms.Compose([transforms.Resize(resize), transforms.CenterCrop(224), transforms.ToTensor(),
                            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    with torch.no_grad():
        probs = model(t(image).unsqueeze(0))[0].softmax(0)
    values, indices = probs.topk(5)
    return [{"index": int(i), "probability": float(v)} for v, i in zip(values, indices)]


def main(out_dir):
    d = os.path.join(out_dir, "classify")
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(5)
    model = randomise_batchnorm(torchvision.models.resnet18(weights=None), seed=5).eval()
    # A smooth picture, so resampling differences stay small.
    yy, xx = np.mgrid[0:224, 0:224]
    rgb = np.stack([(xx * 255 // 223), (yy * 255 // 223), ((xx + yy) * 255 // 446)], axis=-1).astype(np.uint8)
    Image.fromarray(rgb).save(os.path.join(d, "square.png"))
    torch.save(model.state_dict(), os.path.join(d, "resnet18.pth"))
    # The 224x224 image with --resize 224: resize and crop are identities, so
    # reskit's OpenCV path must agree with torchvision's PIL path exactly.
    write_json(os.path.join(d, "expected.json"),
               {"square.png": top5(model, Image.open(os.path.join(d, "square.png")).convert("RGB"), 224)})


if __name__ == "__main__":
    main(sys.argv[1])
