"""Definitions: deployments of process and decision files, and the decision definitions."""
