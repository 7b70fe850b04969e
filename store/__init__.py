"""Persistence of the service: settings, engines and sessions, models, Alembic migrations, the job queue, CRUD.

Below the job drivers (``jobs``) and the API (``api``); above ``searchspace``, ``workers`` and ``scaler``.
Database errors become domain errors here (``store.errors``), never reaching a route or a driver loop raw.
"""
