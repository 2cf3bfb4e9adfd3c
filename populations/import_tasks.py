"""Registry import task: a thin wrapper that fetches by id and calls the service."""

from celery import shared_task

from populations.imports import people_import_run


@shared_task(name="populations.import_tasks.run_people_import")
def run_people_import(import_id: int) -> None:
    """Dry run or import of an uploaded registry file; progress goes to the cache for the page."""
    people_import_run(import_id)
