"""Benchmark of the morning run (issue 5): stage timings, physical COPY limit, daily-run scaling, RSS.

``python -m bench --help`` (or ``make bench``) runs it and writes ``bench/RESULTS.md``. Every
figure is a ratio against a baseline measured in the same run on the same machine; nothing here
asserts a timing (the smoke test in ``tests/bench`` only checks that all figures are printed).
"""
