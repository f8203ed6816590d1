"""Deterministic generators of the bundled, reconstructed data sets."""
