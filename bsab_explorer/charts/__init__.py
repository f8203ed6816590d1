"""Pure functions returning Altair charts."""
