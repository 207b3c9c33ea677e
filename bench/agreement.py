"""How far a contender's outputs are from PyTorch eager's: the worst output's
max|out - ref| / max|ref| (CONTRACT.md's measure; its floor is 1e-3).

usage: agreement.py OUT_DIR REF_DIR N   ->  prints the figure for OUT_DIR/out<k>.npy against
                                            REF_DIR/ref<k>.npy, k < N (run_peers.py's `reskit run` outputs)"""
import os
import sys

import numpy as np


def max_rel_diff(outputs, ref_dir):
    """outputs: arrays in `reskit run`'s order; inf where a shape differs."""
    worst = 0.0
    for k, out in enumerate(outputs):
        ref = np.load(os.path.join(ref_dir, f"ref{k}.npy"))
        if out.shape != ref.shape:
            return float("inf")
        worst = max(worst, float(np.abs(out.astype(np.float64) - ref).max() / max(np.abs(ref).max(), 1e-30)))
    return worst


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__.split("\n\n")[1])
    out_dir, ref_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(max_rel_diff([np.load(os.path.join(out_dir, f"out{k}.npy")) for k in range(n)], ref_dir))
