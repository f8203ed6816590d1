"""What the browser tests wait for on a Streamlit page."""

from __future__ import annotations


def wait_idle(page) -> None:  # type: ignore[no-untyped-def]
    """Until the page's script run has ended (Streamlit marks the app `notRunning`)."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'"
    )
