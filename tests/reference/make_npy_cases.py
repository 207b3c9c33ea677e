"""numpy-written .npy files for the reader: the accepted kinds, the
rejected ones, and broken ones."""
import os
import sys

import numpy as np


def main(out_dir):
    d = os.path.join(out_dir, "npy")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    np.save(os.path.join(d, "f4.npy"), a)
    np.save(os.path.join(d, "f8.npy"), a.astype(np.float64))
    np.save(os.path.join(d, "scalar.npy"), np.float32(3.5))
    np.save(os.path.join(d, "vector.npy"), np.arange(5, dtype=np.float32))
    np.save(os.path.join(d, "empty.npy"), np.zeros((0, 3), dtype=np.float32))
    np.save(os.path.join(d, "i8.npy"), np.arange(6, dtype=np.int64))
    np.save(os.path.join(d, "f4_big_endian.npy"), a.astype(">f4"))
    np.save(os.path.join(d, "fortran.npy"), np.asfortranarray(a))
    np.lib.format.write_array(open(os.path.join(d, "v2.npy"), "wb"), a, version=(2, 0))
    raw = open(os.path.join(d, "f4.npy"), "rb").read()
    open(os.path.join(d, "truncated.npy"), "wb").write(raw[:-7])
    open(os.path.join(d, "trailing.npy"), "wb").write(raw + b"\0\0\0\0")
    open(os.path.join(d, "header_cut.npy"), "wb").write(raw[:30])
    open(os.path.join(d, "not_npy.npy"), "wb").write(b"hello, this is text\n")
    np.save(os.path.join(d, "image_input.npy"), rng.standard_normal((1, 3, 64, 64)).astype(np.float32))
    np.save(os.path.join(d, "gray_input.npy"), rng.standard_normal((1, 1, 64, 64)).astype(np.float32))
    np.save(os.path.join(d, "rank3_input.npy"), rng.standard_normal((3, 64, 64)).astype(np.float32))
    with open(os.path.join(d, "expected_f4.txt"), "w") as f:
        f.write(" ".join(repr(float(v)) for v in a.ravel()) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
