"""Reference fixtures for seeds/001's models (seed_resnet, seed_layer,
seed_block) from tests/reference/seed001.py: seeded weights, randomised
BatchNorm, torch.save, inputs and outputs as .npy. Case ids are the ones
tests/models/seed_resnet_test.cpp lists."""
import os
import sys

import torch

import seed001
from fixture_util import randomise_batchnorm, save_npy, write_json

BLOCKS = {"residual_unit": seed001.ResidualUnit, "bottleneck": seed001.Bottleneck}

# id -> (registry name, --set options, builder, input shape)
CASES = {
    "res34": ("seed_resnet", ["block=residual_unit"], lambda: seed001.ResNet(seed001.ResidualUnit, [3, 4, 6, 3], 1000),
              (2, 3, 64, 64)),
    "res50_10": ("seed_resnet", ["block=bottleneck", "num_classes=10"],
                 lambda: seed001.ResNet(seed001.Bottleneck, [3, 4, 6, 3], 10), (2, 3, 64, 64)),
    "res_unit_1111_odd": ("seed_resnet", ["layers=1,1,1,1", "num_classes=7"],
                          lambda: seed001.ResNet(seed001.ResidualUnit, [1, 1, 1, 1], 7), (1, 3, 75, 61)),
    "conv2_x_34": ("seed_layer", ["block=residual_unit", "middle_out=64", "num_blocks=3", "afterconv1=true"],
                   lambda: seed001.make_layers(seed001.ResidualUnit, 64, 3, afterconv1=True), (2, 64, 16, 16)),
    "conv4_x_34": ("seed_layer", ["middle_out=256", "num_blocks=6", "afterconv1=false"],
                   lambda: seed001.make_layers(seed001.ResidualUnit, 256, 6, False), (2, 128, 14, 14)),
    "conv2_x_101": ("seed_layer", ["block=bottleneck", "middle_out=64", "num_blocks=3"],
                    lambda: seed001.make_layers(seed001.Bottleneck, 64, 3, afterconv1=True), (2, 64, 16, 16)),
    "conv4_x_101_4": ("seed_layer", ["block=bottleneck", "middle_out=256", "num_blocks=4", "afterconv1=false"],
                      lambda: seed001.make_layers(seed001.Bottleneck, 256, 4), (1, 512, 14, 14)),
    # The seed's five single-block checks (batch 2 here; the C++ test checks the seed's batch-10 shapes).
    "conv3_x_18_0": ("seed_block", ["middle_out=128", "stride1=2"], lambda: seed001.ResidualUnit(out_=128, stride1=2),
                     (2, 64, 56, 56)),
    "conv2_x_18_0": ("seed_block", ["middle_out=64"], lambda: seed001.ResidualUnit(out_=64), (2, 64, 56, 56)),
    "conv2_x_101_0": ("seed_block", ["block=bottleneck", "middle_out=64", "in_=64"],
                      lambda: seed001.Bottleneck(in_=64, middle_out=64), (2, 64, 56, 56)),
    "conv3_x_101_0": ("seed_block", ["block=bottleneck", "middle_out=128", "stride1=2"],
                      lambda: seed001.Bottleneck(middle_out=128, stride1=2), (2, 256, 56, 56)),
    "conv3_x_101_1": ("seed_block", ["block=bottleneck", "middle_out=128"],
                      lambda: seed001.Bottleneck(middle_out=128), (2, 512, 28, 28)),
}


def main(out_dir):
    root = os.path.join(out_dir, "seed")
    os.makedirs(root, exist_ok=True)
    manifest = {}
    for i, (case_id, (name, sets, build, shape)) in enumerate(CASES.items()):
        torch.manual_seed(2000 + i)
        model = randomise_batchnorm(build(), seed=100 + i).eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            y = model(x)
        d = os.path.join(root, case_id)
        os.makedirs(d, exist_ok=True)
        torch.save(model.state_dict(), os.path.join(d, "weights.pth"))
        save_npy(os.path.join(d, "input.npy"), x)
        save_npy(os.path.join(d, "out0.npy"), y)
        with open(os.path.join(d, "keys.txt"), "w") as f:
            f.write("\n".join(model.state_dict().keys()) + "\n")
        manifest[case_id] = {"model": name, "sets": sets}
    write_json(os.path.join(root, "manifest.json"), manifest)


if __name__ == "__main__":
    main(sys.argv[1])
