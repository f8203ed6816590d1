"""Reading, normalising, validating and storing contract tables."""
