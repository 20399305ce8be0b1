"""emwatch's library, in groups whose names tell a check's path and which may import which.

- ``core``: the pure core that the service imports too: probe packs, SAE encoders, the wire
  format, scoring, detection, canary sets, names. It imports nothing else of emwatch.
- ``trainer``: what runs inside the user's training process: the callback, the monitor for any
  loop, capture, the HTTP client, sender, spool, recording, distributed agreement. Imports
  the core only.
- ``probe_building``: makes probe packs for a model (directions, SAE training, calibration).
- ``evals``: behavioural evals (sampling, judges, intervals).
- ``organism``: the synthetic persona world and its tiny model, the embedded default.
- ``earlywarning``: the organism's monitored runs, demo and benchmark.
- ``fixtures``: a tiny random Llama and a local service, for tests, demos and benchmarks.
- ``cli``: ``emwatch ...``, on top of everything.

``tests/test_architecture.py`` enforces these rules (and no import cycles).
"""

__version__ = "0.1.0"
