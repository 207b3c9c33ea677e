"""Shared helpers for the fixture scripts: seeded weights with randomised
BatchNorm statistics, .npy outputs, and a manifest the C++ tests read."""
import json
import os

import numpy as np
import torch


def randomise_batchnorm(model, seed):
    """Random running statistics and affine parameters, so a test cannot pass
    with BN silently acting as the identity."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(n, generator=g) * 0.1)
                m.num_batches_tracked.fill_(int(torch.randint(0, 1000, (1,), generator=g)))
    return model


def save_npy(path, tensor):
    np.save(path, tensor.detach().cpu().numpy().astype(np.float32))


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def outputs_as_list(out):
    """Flatten nested tuples/lists depth-first, as `reskit run` numbers outputs."""
    if isinstance(out, torch.Tensor):
        return [out]
    flat = []
    for item in out:
        flat.extend(outputs_as_list(item))
    return flat
