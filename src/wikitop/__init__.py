"""wikitop: the 25 most viewed pages of every Wikipedia domain code, hour by hour."""

__version__ = "0.1.0"
