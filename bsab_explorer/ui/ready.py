"""Imported first by app.py and every page: the import itself waits for the server's warm-up.

While the warm-up (`bsab_explorer.ui.warmup`) is importing the libraries, a script that imported
them too could meet a module another thread is halfway through (Python may then hand it a
partially initialised module, or stop one thread on a detected import deadlock). Waiting here,
before any other import of the package, rules that out: the warm-up never imports this module,
and every script thread waits on it. Without a warm-up it returns at once.
"""

from bsab_explorer.ui import warmup

warmup.wait()
