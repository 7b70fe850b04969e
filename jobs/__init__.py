"""The job drivers: claim queued jobs of every kind from the service database and run them on Ray.

A job kind is a plug-in (``jobs.kind.JobKind``: its table, config, studies, run, record, cancel, delete); the
search (``jobs.search``) and the scaling search (``jobs.scaling_search``) are listed in ``jobs.registry``, the
one place the driver, the API's routes and the UI read the kinds from.

Above ``workers`` and ``scaler`` (what a job runs) and ``store`` (where jobs and their results live); only
``api`` sits above it (``python -m api --with-driver`` embeds a driver).
"""
