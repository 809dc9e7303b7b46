"""Launch Gate benchmarks: `python -m bench` (see docs/performance.md and shared/BENCHMARK.md).

Figures are printed and written as JSON; nothing here asserts a time."""
