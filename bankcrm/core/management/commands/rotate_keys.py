"""Re-encrypt every encrypted field under a new active key, in resumable chunks.

    manage.py rotate_keys --new-key      # add a key, make it active (old keys stay for decryption)
    manage.py rotate_keys                # re-encrypt rows still under an old key; safe to kill and rerun
    manage.py rotate_keys --retire k1    # drop an old key once no row uses it
"""

import json
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bankcrm.core import crypto
from bankcrm.core.fields import EncryptedTextField
from bankcrm.core.rotation import rotate_all, rows_on_key


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--new-key", action="store_true")
        parser.add_argument("--retire", default="")
        parser.add_argument("--chunk", type=int, default=1000)

    def handle(self, *args, **opts):
        path = Path(settings.BANKCRM_KEYS_FILE)
        data = json.loads(path.read_text())
        if opts["new_key"]:
            n = max(int(k[1:]) for k in data["field_keys"]) + 1
            kid = f"k{n}"
            import secrets

            data["field_keys"][kid] = crypto._b64(secrets.token_bytes(32))
            data["active"] = kid
            crypto.write_keys_file(path, data)
            self.stdout.write(f"new active key {kid}")
        if opts["retire"]:
            kid = opts["retire"]
            if kid == data["active"]:
                raise CommandError("cannot retire the active key")
            left = rows_on_key(kid)
            if left:
                raise CommandError(f"{left} values still use {kid}; run rotate_keys first")
            data["field_keys"].pop(kid, None)
            crypto.write_keys_file(path, data)
            self.stdout.write(f"retired {kid}")
            return
        total = rotate_all(chunk=opts["chunk"], progress=lambda label, n: self.stdout.write(f"{label}: {n} re-encrypted"))
        fields = [f.label for m in apps.get_models() for f in m._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        self.stdout.write(self.style.SUCCESS(f"done: {total} values re-encrypted under {crypto.keyring().active} ({len(fields)} fields)"))
