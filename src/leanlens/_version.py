"""The package version, in a module every layer may import (leanlens/__init__ re-exports it)."""

__version__ = "0.1.0"
