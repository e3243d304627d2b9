"""s2sad's version (one place: the package, its files and the cache keys read it here)."""
__version__ = "0.1.0"
