"""Helpers shared by the test modules (paths, the running service, HTTP calls, process texts,
the rolled-back database of the use-case tests). Fixtures stay in the conftest files; test modules
import their helpers from here, never from conftest or from another test module."""
