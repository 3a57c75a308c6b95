"""Whole jobs behind CLI commands, above the service: train into an artifact, the demo.

The CLI parses options and prints; these modules do the work, so they run the same from
Python. `defaults` holds their default values and imports nothing heavy, for `--help`.
"""
