"""Offline tools that made the bundled data; the app never imports them."""
