"""Run the real scripts/backup.sh and scripts/restore.sh from tests (R16 drill, tests/test_prod_backup.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
TOOLS = ("pg_dump", "pg_restore", "psql", "sha256sum")


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def pg_url(settings_dict: dict, name: str | None = None) -> str:
    """postgres://user:password@host:port/name for a Django database settings dict (another database name allowed)."""
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    password = settings_dict.get("PASSWORD")
    auth = f"{user}:{quote(str(password), safe='')}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{name or settings_dict['NAME']}"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BANKCRM_", "DATABASE_"))}
    env["PYTHON"] = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else "python"
    env.update(extra)
    return env


def backup(database_url: str, keys_file: str | Path, head_dir: str | Path, out_dir: Path, keys_out: Path,
           stamp: str = "drill") -> tuple[subprocess.CompletedProcess, Path]:
    """scripts/backup.sh; returns the process and the backup folder it wrote."""
    done = subprocess.run(["bash", str(ROOT / "scripts" / "backup.sh"), str(out_dir), str(keys_out)], cwd=ROOT,
                          env=_env(DATABASE_URL=database_url, BANKCRM_KEYS_FILE=str(keys_file),
                                   BANKCRM_AUDIT_HEAD_DIR=str(head_dir), BACKUP_STAMP=stamp),
                          capture_output=True, text=True, timeout=300)
    return done, out_dir / stamp


def restore(folder: Path, keys_file: Path, target_url: str) -> subprocess.CompletedProcess:
    """scripts/restore.sh into a new database (created by the script) with the production settings' checks."""
    return subprocess.run(["bash", str(ROOT / "scripts" / "restore.sh"), str(folder), str(keys_file), target_url],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)


def drop(database_url: str, name: str) -> None:
    maintenance = database_url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", maintenance, "-Xqc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                   capture_output=True, timeout=60)
