"""The villages' five haves and five nones (五有五无); written by the reports helper."""


def village_statuses(node, year: int, user) -> list:
    return []
