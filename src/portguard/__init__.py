"""PortGuard: security operations for a seaport and its port community."""

__version__ = "0.1.0"
__all__ = ["__version__"]
