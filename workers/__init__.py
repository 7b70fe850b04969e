"""Workers: everything that runs a network on data, in sub-packages by concern, imported bottom up.

- ``workers.data``: datasets (built-in digits and shapes, ImageFolder, CIFAR-10), safe reading, Ray shipment.
- ``workers.latency.measure``: latency measurement, device profiling, prediction from a profile.
- ``workers.training``: the proxy-training budget and loop, and one trial's evaluation.
- ``workers.screening.screen``: zero-cost proxies and screening of candidates.
- ``workers.runtime``: Ray ownership, the executor, the job engine, the Optuna ledger, outcomes.
- ``workers.search``: the search configuration, driver, rungs, baselines and results.

Each sub-package lists its public names in ``__all__``; code outside it imports only those.
"""
