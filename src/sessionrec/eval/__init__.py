"""Offline evaluation: metrics, the peers' protocols, reports."""
