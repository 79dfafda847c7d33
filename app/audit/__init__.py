"""Audit: the chained history and its signed anchors, verification, exports, replay and timelines."""
