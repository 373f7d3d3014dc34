"""Act on what dawn finds: events (drift, low performance, predictions) trigger actions
(webhook POST, command, log line, retrain) delivered at least once through the project's
durable outbox.

>>> from dawn.act import Action, actions_from_config, deliver, emit
"""

from __future__ import annotations

# ``emit`` and ``deliver`` are both submodules and functions: import the functions eagerly
# so the package attributes are the functions (a later submodule import would not rebind).
from dawn.act.actions import Action as Action
from dawn.act.actions import actions_from_config as actions_from_config
from dawn.act.deliver import DeliveryStats as DeliveryStats
from dawn.act.deliver import deliver as deliver
from dawn.act.emit import Emitted as Emitted
from dawn.act.emit import emit as emit

__all__ = ["Action", "DeliveryStats", "Emitted", "actions_from_config", "deliver", "emit"]
