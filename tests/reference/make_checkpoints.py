#!/usr/bin/env python3
"""Checkpoints for tests/io/checkpoint_test.cpp, written by PyTorch itself.

usage: make_checkpoints.py FIXTURE_DIR [RESKIT_BINARY]

Writes FIXTURE_DIR/checkpoints/:
  *.pt          state dicts in every layout torch.save produces (zip and
                legacy, pickle protocols 2 and 4, wrapped under "state_dict"
                or "model", with DataParallel's "module." prefix, as
                nn.Parameters, without num_batches_tracked)
  bad_*         files a reader must refuse with a clear message
  expected/     each expected tensor's raw little-endian bytes (C order)
  manifest.json for each set of expected tensors: key, dtype, shape, file
"""
import argparse
import collections
import json
import os
import pickle
import re
import sys
import zipfile

import numpy as np
import torch


def reference_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(5, 2))
    with torch.no_grad():  # BN statistics that are not the defaults, so loading them is visible
        bn = model[1]
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_()
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
        bn.num_batches_tracked.fill_(7)
    return model


def extra_tensors():
    g = torch.Generator().manual_seed(1)
    base = torch.randn(4, 6, dtype=torch.float64, generator=g)
    return collections.OrderedDict([
        ("extra.f64", torch.randn(3, 2, dtype=torch.float64, generator=g)),
        ("extra.i64", torch.randint(-2**40, 2**40, (5,), dtype=torch.int64, generator=g)),
        ("extra.i32", torch.randint(-2**30, 2**30, (2, 3), dtype=torch.int32, generator=g)),
        ("extra.i16", torch.tensor([-32768, -1, 0, 32767], dtype=torch.int16)),
        ("extra.i8", torch.tensor([-128, 5, 127], dtype=torch.int8)),
        ("extra.u8", torch.tensor([0, 200, 255], dtype=torch.uint8)),
        ("extra.bool", torch.tensor([True, False, True])),
        ("extra.f16", torch.randn(2, 2, generator=g).half()),
        ("extra.bf16", torch.randn(3, generator=g).bfloat16()),
        ("extra.base", base),
        ("extra.view", base[1:, ::2]),  # shares base's storage: offset 6, strides (6, 2)
        ("extra.t", base.t()),
        ("extra.scalar", torch.tensor(2.5)),
        ("extra.empty", torch.zeros(0, 3)),
        ("extra.special", torch.tensor([float("inf"), -0.0, 1e-40, -float("inf")])),
    ])


def tensor_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16; the bits are the point
        t = t.view(torch.int16)
    return t.numpy().tobytes()


class HistoryBuffer:
    """Stands for mmengine's: a foreign class with numpy arrays inside."""

    def __init__(self, values):
        self._log_history = np.array(values)
        self._count_history = np.ones(len(values))


class RunsCode:
    """Unpickling this with Python's pickle would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch '%s'" % self.marker,))


def main():
    out = os.path.join(sys.argv[1], "checkpoints")
    expected_dir = os.path.join(out, "expected")
    os.makedirs(expected_dir, exist_ok=True)

    model_sd = reference_model().state_dict()
    full_sd = collections.OrderedDict(model_sd)
    full_sd.update(extra_tensors())

    manifest = {}
    for name, sd in (("model", model_sd), ("full", full_sd)):
        entries = []
        for key, t in sd.items():
            file = "expected/%s.%s.bin" % (name, key)
            with open(os.path.join(out, file), "wb") as f:
                f.write(tensor_bytes(t))
            entries.append({"key": key, "dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                            "file": file})
        manifest[name] = entries
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)

    def save(obj, stem, **kwargs):
        torch.save(obj, os.path.join(out, stem + "_zip.pt"), **kwargs)
        torch.save(obj, os.path.join(out, stem + "_legacy.pt"), _use_new_zipfile_serialization=False, **kwargs)

    # Good files: each reads back as `full` or `model` from the manifest.
    save(full_sd, "full")
    save(full_sd, "full_protocol4", pickle_protocol=4)
    save(model_sd, "model")
    optimizer = {"state": {0: {"momentum_buffer": torch.ones(2)}}, "param_groups": [{"lr": 0.1, "params": [0]}]}
    save({"epoch": 3, "state_dict": full_sd, "optimizer": optimizer, "best_acc1": 71.5, "arch": "resnet50"},
         "wrapped_state_dict")
    save({"model": full_sd}, "wrapped_model")
    # Foreign objects beside the state dict, as mmengine's checkpoints carry them
    # (numpy values in meta, history buffers in message_hub) or old training
    # scripts (an argparse.Namespace of arguments): read past, never called.
    save({"meta": {"seed": np.int64(0), "best": np.float64(0.5), "arr": np.arange(3)},
          "state_dict": full_sd,
          "message_hub": {"log_scalars": {"loss": HistoryBuffer([1.0, 0.5])}, "runtime_info": {"epoch": 3}},
          "args": argparse.Namespace(lr=0.1, arch="resnet50")}, "foreign_objects")
    save(collections.OrderedDict(("module." + k, v) for k, v in model_sd.items()), "module_prefix")
    save(collections.OrderedDict((k, v) for k, v in model_sd.items() if "num_batches_tracked" not in k), "no_nbt")
    model = reference_model()
    save(dict(model.named_parameters()), "parameters")  # nn.Parameter: _rebuild_parameter
    # Saved from the GPU by PyTorch < 2.0 (pysot's and SiamBAN's releases): the legacy
    # stream names torch.cuda.*Storage at location cuda:0. Made here from a CPU save.
    cuda_legacy = open(os.path.join(out, "full_legacy.pt"), "rb").read()
    cuda_legacy = re.sub(rb"ctorch\n(\w+Storage)\n", rb"ctorch.cuda\n\1\n", cuda_legacy)
    cuda_legacy = cuda_legacy.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
    assert b"torch.cuda" in cuda_legacy and b"cuda:0" in cuda_legacy
    with open(os.path.join(out, "full_cuda_legacy.pt"), "wb") as f:
        f.write(cuda_legacy)

    # Bad files, each with the message the test expects.
    def write(name, data):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

    full_zip = open(os.path.join(out, "full_zip.pt"), "rb").read()
    full_legacy = open(os.path.join(out, "full_legacy.pt"), "rb").read()
    write("bad_empty.pt", b"")
    write("bad_text.pt", b"this is not a checkpoint\n")
    noise = bytearray(np.random.default_rng(0).bytes(4096))
    noise[0] = 0x42  # neither "PK" nor a pickle's PROTO
    write("bad_random.pt", bytes(noise))
    write("bad_truncated_zip.pt", full_zip[: len(full_zip) // 2])
    write("bad_truncated_legacy.pt", full_legacy[: len(full_legacy) // 2])
    write("bad_truncated_legacy_header.pt", full_legacy[:200])
    write("bad_truncated_legacy_data.pt", full_legacy[:-3])

    marker = os.path.join(out, "code_ran")
    if os.path.exists(marker):
        os.remove(marker)
    torch.save(RunsCode(marker), os.path.join(out, "bad_code_legacy.pt"), _use_new_zipfile_serialization=False)
    torch.save({"w": torch.ones(2), "x": RunsCode(marker)}, os.path.join(out, "bad_code_zip.pt"))
    write("bad_code.pkl", pickle.dumps(RunsCode(marker), protocol=2))
    torch.save(argparse.Namespace(lr=0.1), os.path.join(out, "bad_namespace_zip.pt"))
    torch.save({"state_dict": {"w": torch.ones(2), "x": RunsCode(marker)}},
               os.path.join(out, "bad_code_in_state_dict_zip.pt"))
    torch.save([torch.ones(2)], os.path.join(out, "bad_list_zip.pt"))
    write("bad_magicless.pkl", pickle.dumps({"a": 1}, protocol=2))
    torch.jit.script(torch.nn.Linear(2, 2)).save(os.path.join(out, "bad_torchscript.pt"))
    with zipfile.ZipFile(os.path.join(out, "bad_no_pickle.pt"), "w") as z:
        z.writestr("archive/version", "3\n")
        z.writestr("archive/notes.txt", "no data.pkl here\n")
    # torch.save stores its records; these are zips made otherwise.
    def rewrite_zip(name, transform):
        with zipfile.ZipFile(os.path.join(out, "full_zip.pt")) as src, \
                zipfile.ZipFile(os.path.join(out, name), "w") as dst:
            for info in src.infolist():
                data, compress = transform(info.filename, src.read(info.filename))
                dst.writestr(info.filename, data, compress_type=compress)

    rewrite_zip("bad_compressed_zip.pt", lambda n, d: (d, zipfile.ZIP_DEFLATED))
    # A decompression bomb: the first storage inflates to 256 MiB from a file of ~260 KB.
    first = [n for n in zipfile.ZipFile(os.path.join(out, "full_zip.pt")).namelist() if "/data/" in n][0]
    rewrite_zip("bad_bomb_zip.pt", lambda n, d: (b"\0" * (256 << 20), zipfile.ZIP_DEFLATED) if n == first
                else (d, zipfile.ZIP_STORED))
    rewrite_zip("bad_version_zip.pt", lambda n, d: (b"garbage\n" if n.endswith("/version") else d, zipfile.ZIP_STORED))
    # A complex storage where the model has a float parameter.
    complex_sd = collections.OrderedDict(model_sd)
    complex_sd["0.weight"] = torch.complex(model_sd["0.weight"], torch.ones_like(model_sd["0.weight"]))
    torch.save(complex_sd, os.path.join(out, "complex_weight_zip.pt"))
    assert not os.path.exists(marker)
    print("wrote checkpoints to", out)


if __name__ == "__main__":
    main()
