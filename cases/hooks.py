"""Where an incident turned into a dispute goes.

The disputes app registers its receiver here; until one is registered an incident cannot
be turned into a dispute. A receiver takes ``(actor, incident)`` inside the incident's
transaction and returns the new dispute's number.
"""

_receivers = []


def register_dispute_receiver(receiver) -> None:
    if receiver not in _receivers:
        _receivers.append(receiver)


def unregister_dispute_receiver(receiver) -> None:
    if receiver in _receivers:
        _receivers.remove(receiver)


def dispute_receiver():
    return _receivers[-1] if _receivers else None
