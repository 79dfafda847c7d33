"""Deadlines: the official calendar as the service keeps it, open deadlines with their warning
levels, and provisional deadlines recomputed when a year's calendar is confirmed."""
