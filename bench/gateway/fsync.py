"""What one WAL-style fsync costs on this disk: N appends of SIZE bytes, each followed
by fdatasync, to a file that grows (plain) and to one written full of zeros and synced
beforehand (prepared, as the store's WAL files are). Prints latency percentiles.

Usage: python3 bench/gateway/fsync.py [DIR, default target] [N, default 3000] [SIZE, default 700]
"""
import os
import sys
import time


def run(path, prepared, n, size):
    if os.path.exists(path):
        os.remove(path)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY)
    try:
        if prepared:
            os.write(fd, b"\0" * (n * size + 4096))
            os.fsync(fd)
            os.lseek(fd, 0, os.SEEK_SET)
        buf = b"x" * size
        lat = []
        for _ in range(n):
            os.write(fd, buf)
            t = time.perf_counter()
            os.fdatasync(fd)
            lat.append((time.perf_counter() - t) * 1000)
    finally:
        os.close(fd)
        os.remove(path)
    lat.sort()
    name = "prepared" if prepared else "plain   "
    print(f"{name} p50 {lat[n // 2]:.3f} p90 {lat[n * 9 // 10]:.3f} "
          f"p99 {lat[n * 99 // 100]:.3f} max {lat[-1]:.3f} ms")


if __name__ == "__main__":
    d = sys.argv[1] if len(sys.argv) > 1 else "target"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 700
    path = os.path.join(d, "fsync-probe.bin")
    for _ in range(2):
        run(path, False, n, size)
        run(path, True, n, size)
