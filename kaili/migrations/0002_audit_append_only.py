"""Make the audit table append-only in the database itself.

UPDATE and DELETE are always refused. TRUNCATE is refused unless the session has set
``kaili.allow_audit_truncate = 'on'``, which only the disposable test database does (its
flush between tests truncates every table).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION kaili_audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only: % refused on kaili_auditentry', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION kaili_audit_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('kaili.allow_audit_truncate', true), '') <> 'on' THEN
        RAISE EXCEPTION 'audit log is append-only: TRUNCATE refused on kaili_auditentry'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER kaili_auditentry_append_only
    BEFORE UPDATE OR DELETE ON kaili_auditentry
    FOR EACH ROW EXECUTE FUNCTION kaili_audit_refuse_change();

CREATE TRIGGER kaili_auditentry_no_truncate
    BEFORE TRUNCATE ON kaili_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION kaili_audit_refuse_truncate();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS kaili_auditentry_no_truncate ON kaili_auditentry;
DROP TRIGGER IF EXISTS kaili_auditentry_append_only ON kaili_auditentry;
DROP FUNCTION IF EXISTS kaili_audit_refuse_truncate();
DROP FUNCTION IF EXISTS kaili_audit_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("kaili", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
