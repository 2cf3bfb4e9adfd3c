"""The project's settings plus a stand-in record model for the grid-tree tests."""

from kaili.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.records"]  # noqa: F405
