"""A record logged in a grid node, the way incidents, households and disputes will be.

Installed only by ``tests/settings.py`` (its migration depends on the grids app's).
"""

from django.db import models

from grids.models import Grid
from kaili.scope import ScopedQuerySet


class FieldNote(models.Model):
    grid = models.ForeignKey(Grid, on_delete=models.PROTECT, related_name="+")
    text = models.CharField(max_length=100)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "巡查记录"

    def __str__(self):
        return self.text
