"""The peer's REST server for bench/rest_benchmark.py: camunda-python 0.1.2 (a Camunda 7 engine in
Python, FastAPI + SQLAlchemy) on a database file or PostgreSQL, served by uvicorn on 127.0.0.1.

Run by the interpreter of the peer's own environment (Python >= 3.12, made by the benchmark in
bench/.peer/), never by the service's:

    bench/.peer/venv/bin/python bench/peer_server.py --database-url sqlite:///FILE --port 8181

SQLite gets the service's settings on every connection (WAL, synchronous=NORMAL, a busy timeout),
so that both engines pay the same for a commit.
"""
from __future__ import annotations

import argparse

import uvicorn
from camunda.api import create_app
from camunda.engine import ProcessEngine
from camunda.persistence.store import Store
from sqlalchemy import event


def _sqlite_settings(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="sqlite:///FILE or postgresql+psycopg://...")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    store = Store(args.database_url)
    # The store's SQLAlchemy engine is built (and its tables created) in its constructor; the pool's
    # connections opened so far are dropped so that every later one gets the settings.
    if store.url.startswith("sqlite"):
        event.listen(store._engine, "connect", _sqlite_settings)
        store._engine.dispose()
    app = create_app(engine=ProcessEngine(store=store))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
