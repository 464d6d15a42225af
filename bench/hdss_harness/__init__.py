"""The harness the tests and the benchmarks share: server subprocesses and waiting.

- ``hdss_harness.procs``: free ports on 127.0.0.1, starting a server with its output in a
  log file and waiting until it answers HTTP, stopping it, the end of a log.
- ``hdss_harness.wait``: ``wait_until``, the one polling loop.

Only the standard library and requests: the spawn benchmark runs it as a plain script,
without pytest. Installed with the project (``pip install -e .``), so neither the tests
nor ``bench/`` edit ``sys.path`` to import it.
"""
