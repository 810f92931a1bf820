"""Courier routes: vehicle routing with time windows and capacities."""
