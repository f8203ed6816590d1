"""bsab-explorer: response, survival and CRS views of bispecific-antibody therapy in myeloma."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bsab-explorer")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
