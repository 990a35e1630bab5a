"""Background tasks (Django's tasks API; the database backend by default, Redis/RQ for scale-out)."""

from django_tasks import task

from . import scheduling


@task()
def run_periodic(name: str) -> str:
    job = scheduling.JOBS[name]
    job.func()
    return name
