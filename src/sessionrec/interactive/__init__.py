"""Measuring the interactive engine, above it in the layers: the requests protocol
(`requests`: cases of events, a typed request and targets, scored with and without the
request), simulated users who talk to it turn by turn (`simulate`) and the turn metrics of
their sessions (`turn_metrics`)."""
