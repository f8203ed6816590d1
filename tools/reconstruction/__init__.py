"""The searches that reconstructed the bundled studies from their published figures."""
