"""The service driven by real Camunda 7 client libraries, each through its own API, over one process
(tests/support/clients.py)."""
