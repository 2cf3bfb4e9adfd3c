from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from kaili import crypto
from kaili.audit import audit_record
from kaili.models import AuditAction
from kaili.progress import ProgressBar, no_progress

BATCH = 2000


class Command(BaseCommand):
    help = (
        "用 KAILI_FIELD_KEYS 的第一个密钥重新加密全部敏感字段，并用当前 KAILI_LOOKUP_KEY 重算检索哈希。"
        "更换密钥时：把新密钥放在最前、保留旧密钥，运行本命令，再删去旧密钥。"
    )

    def handle(self, *args, verbosity, **options):
        progress = ProgressBar(self.stdout) if verbosity > 0 else no_progress
        total = 0
        for label, columns in crypto.ENCRYPTED_COLUMNS.items():
            model = apps.get_model(label)
            fields = [name for pair in columns for name in pair if name]
            count = model._default_manager.count()
            with transaction.atomic():
                done, batch = 0, []
                for row in model._default_manager.only("pk", *fields).order_by("pk").iterator(chunk_size=BATCH):
                    for encrypted, hashed in columns:
                        token = getattr(row, encrypted)
                        if hashed:
                            setattr(row, hashed, crypto.lookup_hash(crypto.decrypt(token)))
                        setattr(row, encrypted, crypto.reencrypt(token))
                    batch.append(row)
                    if len(batch) >= BATCH:
                        model._default_manager.bulk_update(batch, fields)
                        done += len(batch)
                        batch = []
                        progress(label, done, count)
                if batch:
                    model._default_manager.bulk_update(batch, fields)
                    done += len(batch)
                    progress(label, done, count)
                audit_record(actor=None, action=AuditAction.UPDATE, object_type=label, changes={"rotated_rows": done})
            total += done
        cipher = crypto.field_cipher()
        for label, columns in crypto.ENCRYPTED_BLOBS.items():
            model = apps.get_model(label)
            with transaction.atomic():
                for row in model._default_manager.only("pk", *columns).select_for_update():
                    for column in columns:
                        token = bytes(getattr(row, column))
                        setattr(row, column, cipher.rotate(token) if token else b"")
                    row.save(update_fields=list(columns))
                    total += 1
        if verbosity > 0:
            self.stdout.write(self.style.SUCCESS(f"已重新加密 {total:,} 行。"))
