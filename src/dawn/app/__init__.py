"""The app file (``dawn.toml``): one declaration from data to labels (and, later, a model)."""

from dawn.app.config import AppConfig, load_config

__all__ = ["AppConfig", "load_config"]
