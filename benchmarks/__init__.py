"""The course's benchmarks (not part of the shipped package): run from the repository root, e.g.
``python -m benchmarks.bench extract`` or ``python -m benchmarks.bench pairs``; figures in benchmarks/README.md."""
