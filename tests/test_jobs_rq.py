"""The scale-out job path: the same task code through the Redis/RQ backend, run by an RQ worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings


def _redis_up() -> bool:
    try:
        import redis

        return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        return False


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running (the CI script starts it)")
@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                    reason="the queue is not a database matter: run once, with the SQLite suite")
def test_periodic_task_runs_through_rq_worker(tmp_path):
    """Enqueue `run_periodic` on RQ from a child process and let `rqworker --burst` execute it."""
    root = Path(settings.BASE_DIR)
    env = {**os.environ, "BANKCRM_TASKS_BACKEND": "rq", "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    marker = tmp_path / "ran.txt"
    script = f"""
import django, os
django.setup()
from django.conf import settings
settings.TASKS['default']['QUEUES'] = ['default']
from bankcrm.core import scheduling
from bankcrm.core.tasks import run_periodic
scheduling.every('test.rq', __import__('datetime').timedelta(seconds=1), lambda: open({str(marker)!r}, 'w').write('ok'))
result = run_periodic.enqueue('test.rq')
print(result.id)
"""
    subprocess.run([sys.executable, "-c", script], cwd=root, env=env, check=True, capture_output=True, text=True)
    assert not marker.exists(), "enqueue ran the task in-process: the RQ backend is not in use"
    # The worker process imports the same registry; the job itself is registered there through the same code path.
    worker_script = f"""
import django
django.setup()
from datetime import timedelta
from bankcrm.core import scheduling
scheduling.every('test.rq', timedelta(seconds=1), lambda: open({str(marker)!r}, 'w').write('ok'))
from django.core.management import call_command
call_command('rqworker', 'default', '--burst', '--job-class', 'django_tasks_rq.Job')
"""
    t = time.time()
    subprocess.run([sys.executable, "-c", worker_script], cwd=root, env=env, check=True, capture_output=True, text=True,
                   timeout=60)
    assert marker.read_text() == "ok", "the RQ worker did not run the task"
    assert time.time() - t < 60
