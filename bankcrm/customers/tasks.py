"""Background tasks of the customers app (Django's tasks API: database backend by default, RQ for scale-out)."""

from django_tasks import task

from bankcrm.core.transactions import run_as_task


@task()
def validate_import(import_id: int) -> int:
    """Validate every row of an uploaded customer file (writes counts and the error report only)."""
    from .imports import validate_body

    run_as_task(validate_body, import_id=import_id)
    return import_id


@task()
def run_import(import_id: int) -> int:
    """Import a validated customer file; safe to run twice (a finished import is left alone, a broken one resumes)."""
    from .imports import run_body

    run_as_task(run_body, import_id=import_id)
    return import_id
