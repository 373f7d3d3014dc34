"""``dawn demo``: the one-command tour, on generated data, with no network and no server."""

from dawn.demo.data import CLASSES, generate_comments
from dawn.demo.run import run_demo, write_demo_project

__all__ = ["CLASSES", "generate_comments", "run_demo", "write_demo_project"]
