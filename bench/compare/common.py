"""Shared helpers of the comparison scripts: thread limits, timing, the JSON summary."""
import json
import os
import statistics
import time


def limit_threads(n: int) -> None:
    """Limit BLAS/OpenMP/FFT thread pools to n (call before importing numpy's users)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:
        pass


def median_time(f, rounds: int) -> float:
    """Median wall time of `rounds` calls of f (after one warm-up call), seconds."""
    f()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def summary(**fields) -> None:
    """Print the run's figures as one JSON line (the last line of output)."""
    fields.setdefault("cpu", cpu_model())
    print(json.dumps(fields))
