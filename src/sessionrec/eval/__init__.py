"""Offline evaluation: the peers' protocols, runs and reports (metrics: `sessionrec.metrics`)."""
