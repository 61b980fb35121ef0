"""The course's benchmarks (not part of the shipped package): run from the repository root, e.g.
``python -m benchmarks.bench extract`` or ``python -m benchmarks.bench pairs``; figures in benchmarks/README.md."""


def record_header(load: float | None = None) -> dict:
    """When and where a benchmark ran, as its JSON record starts: the date (to the minute), the machine
    (``train.machine``: CPU model, cores, bf16 support) and the load average, ``load`` if taken earlier (the run's
    start), else now."""
    import os
    import time

    from deepfake_utils.train import machine

    return {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(),
            "load": os.getloadavg()[0] if load is None else load}
