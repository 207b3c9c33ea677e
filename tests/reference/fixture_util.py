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


def write_text(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def write_parity_case(out_dir, family, case_id, case, model, inputs, outputs):
    """One case of the generic parity test (tests/models/parity_test.cpp):
    parity/FAMILY/ID/ holds the reference model's weights (torch.save; also
    the legacy format when case["legacy"]), input0.npy.. in forward-argument
    order, out0.npy.. flattened as `reskit run` numbers them, the state-dict
    keys, and case.json with the registry name and --set options to build
    reskit's twin."""
    d = os.path.join(out_dir, "parity", family, case_id)
    os.makedirs(d, exist_ok=True)
    state = model.state_dict()
    torch.save(state, os.path.join(d, "weights.pth"))
    if case.get("legacy"):
        torch.save(state, os.path.join(d, "weights_legacy.pth"), _use_new_zipfile_serialization=False)
    for i, x in enumerate(inputs):
        save_npy(os.path.join(d, f"input{i}.npy"), x)
    for k, o in enumerate(outputs):
        save_npy(os.path.join(d, f"out{k}.npy"), o)
    write_text(os.path.join(d, "keys.txt"), "\n".join(state.keys()) + "\n")
    write_json(os.path.join(d, "case.json"), {"model": case["model"], "sets": case["sets"], "inputs": len(inputs),
                                              "outputs": len(outputs), "legacy": bool(case.get("legacy"))})
    print(f"fixture parity/{family}/{case_id}: {[tuple(o.shape) for o in outputs]}", flush=True)


def write_parity_manifest(out_dir, family, cases, **versions):
    """parity/FAMILY/manifest.json: the ids written, for the suite to check
    against the ones it registered (tests/reference/list_cases.py)."""
    write_json(os.path.join(out_dir, "parity", family, "manifest.json"), {"cases": sorted(cases), **versions})
