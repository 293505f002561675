"""Incidents: correlation of alerts into incidents, lifecycle, NIS2 clock and reports."""
