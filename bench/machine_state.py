"""What the machine is and how busy it is, for benchmarks on shared machines:
the CPU and its vector ISA, waiting (bounded) for it to go quiet, and how
much CPU others took while we measured (other processes, and the
hypervisor's steal)."""
import os
import resource
import sys
import time

# The ISA extensions that decide which kernels the runtimes pick.
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16",
             "amx_int8")


def cpu_summary():
    model, flags = "unknown", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    return {"model": model, "isa": [f for f in ISA_FLAGS if f in flags], "cpus": len(os.sched_getaffinity(0)),
            "online_cpus": os.cpu_count()}


def cpu_jiffies():
    """The machine's CPU time so far from /proc/stat's first line: busy
    (user, nice, system, irq, softirq; guest time is inside user), steal,
    total, in clock ticks."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return {"busy": user + nice + system + irq + softirq, "steal": steal, "total": sum(fields)}


def busy_fraction(seconds=1.0):
    """The share of all CPUs busy or stolen over a short sample."""
    a = cpu_jiffies()
    time.sleep(seconds)
    b = cpu_jiffies()
    return (b["busy"] + b["steal"] - a["busy"] - a["steal"]) / max(b["total"] - a["total"], 1)


def wait_for_idle(limit_s, threshold=0.1):
    """Waits until a 1 s sample finds under threshold of the CPUs busy, at
    most limit_s; says on stderr what it waited for. The 1-minute load
    average lags by a minute, so it is reported, not waited on."""
    start = time.monotonic()
    while True:
        busy = busy_fraction()
        waited = time.monotonic() - start
        if busy < threshold or waited >= limit_s:
            break
        print(f"waiting for an idle machine: {busy:.0%} busy, load {os.getloadavg()[0]:.2f}", file=sys.stderr,
              flush=True)
    return {"idle": busy < threshold, "busy_fraction": round(busy, 3), "waited_s": round(waited, 1),
            "load_average": [round(v, 2) for v in os.getloadavg()]}


class Interference:
    """From start() to stop(): the machine's CPU seconds that were neither
    ours (this process and its waited-for children) nor idle, and the steal,
    each as a share of the machine's capacity over the interval."""

    def start(self):
        self.wall, self.jiffies, self.ours = time.monotonic(), cpu_jiffies(), self._our_cpu_s()
        self.load_before = [round(v, 2) for v in os.getloadavg()]
        return self

    @staticmethod
    def _our_cpu_s():
        return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                      resource.getrusage(resource.RUSAGE_CHILDREN)))

    def stop(self):
        wall = time.monotonic() - self.wall
        now = cpu_jiffies()
        tick = os.sysconf("SC_CLK_TCK")
        capacity = wall * (os.cpu_count() or 1)
        busy_s = (now["busy"] - self.jiffies["busy"]) / tick
        others_s = max(busy_s - (self._our_cpu_s() - self.ours), 0.0)
        return {"wall_s": round(wall, 1), "load_average_before": self.load_before,
                "load_average_after": [round(v, 2) for v in os.getloadavg()],
                "others_cpu_share": round(others_s / capacity, 4),
                "steal_share": round((now["steal"] - self.jiffies["steal"]) / tick / capacity, 4)}
