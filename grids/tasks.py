"""Grid tree tasks: thin wrappers that fetch by id and call the service."""

from celery import shared_task

from grids.imports import grid_import_run


@shared_task
def run_grid_import(import_id: int) -> None:
    """Dry run or import of an uploaded grid file; progress goes to the cache for the page."""
    grid_import_run(import_id)
