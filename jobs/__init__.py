"""The job drivers: claim queued searches and scaling searches from the service database and run them on Ray.

Above ``workers`` and ``scaler`` (what a job runs) and ``store`` (where jobs and their results live); only
``api`` sits above it (``python -m api --with-driver`` embeds a driver).
"""
