"""The product version, reported by health checks and sync handshakes."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("mobile-clinic")
except PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0.0.0+source"
