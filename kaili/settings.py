"""Settings for Kaili grid governance.

Everything a deployment changes comes from the environment (see README, "Production").
``KAILI_ENV=production`` turns on the hardened settings that ``check --deploy`` expects.
"""

import os
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from kaili.database import database_config

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _derive_key(secret: str, purpose: str) -> str:
    """A Fernet-shaped key derived from a secret (development only; production sets its own)."""
    import base64
    import hashlib

    return base64.urlsafe_b64encode(hashlib.sha256(f"{purpose}:{secret}".encode()).digest()).decode()


PRODUCTION = os.environ.get("KAILI_ENV", "development") == "production"
DEBUG = env_bool("DJANGO_DEBUG", default=not PRODUCTION)

if PRODUCTION:
    SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
else:
    SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-kaili-grid-governance-change-me-in-production")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "mptt",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "kaili",
    "grids",
    "populations",
    "cases",
    "disputes",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "kaili.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "kaili.middleware.IdleSessionTimeoutMiddleware",
    "kaili.middleware.RequireTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Axes last, as its documentation asks, so it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kaili.urls"
WSGI_APPLICATION = "kaili.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "kaili.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "kaili.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Security baseline (DOMAIN.md): length 8+, three character classes.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "kaili.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
]

# Lock an account or an address for 15 minutes after 5 failures.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "kaili.views.lockout_response"
# One notion of "the client's address" for lockouts and the audit trail. Behind the
# intranet proxy every request comes from the proxy: trust its X-Forwarded-For then,
# or the address lockout would lock everyone out together.
KAILI_TRUST_X_FORWARDED_FOR = env_bool("KAILI_TRUST_X_FORWARDED_FOR")
AXES_CLIENT_IP_CALLABLE = "kaili.audit.client_ip"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False

# Idle timeout: 30 minutes without a request ends the session.
SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
OTP_TOTP_ISSUER = "凯里网格化治理"

# Guardian: no anonymous user row; grants live in grids' direct-foreign-key tables.
ANONYMOUS_USER_NAME = None
GUARDIAN_MONKEY_PATCH_USER = False

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("KAILI_MEDIA_ROOT", BASE_DIR / "var" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "kaili.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "kaili.api.errors.exception_handler",
    "NON_FIELD_ERRORS_KEY": "non_field_errors",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "凯里市网格化社会治理平台 API",
    "DESCRIPTION": "Kaili grid governance: grid tree, incidents, disputes, populations, dashboard.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "kind" field; name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "GridKindEnum": "grids.models.GridKind",
        "GridEventKindEnum": "grids.models.GridEvent.Kind",
        "VisitKindEnum": "populations.models.VisitKind",
        "VisitModeEnum": "populations.models.VisitMode",
        "FacilityKindEnum": "populations.models.FacilityKind",
        "EnrollmentStatusEnum": "populations.models.EnrollmentStatus",
        "IncidentStatusEnum": "cases.models.Status",
        "IncidentSourceEnum": "cases.models.Source",
        "IncidentUrgencyEnum": "cases.models.Urgency",
        "IncidentPersonRoleEnum": "cases.models.PersonRole",
        "IncidentAttachmentKindEnum": "cases.models.IncidentAttachment.Kind",
        "CategoryKindEnum": "cases.models.CategoryKind",
        "DisputeStatusEnum": "disputes.models.Status",
        "DisputeSourceEnum": "disputes.models.Source",
        "DisputeRiskEnum": "disputes.models.Risk",
        "DisputePartyRoleEnum": "disputes.models.PartyRole",
        "DisputePartyKindEnum": "disputes.models.PartyKind",
        "MediationMethodEnum": "disputes.models.Method",
        "SessionOutcomeEnum": "disputes.models.Outcome",
        "AgreementFormEnum": "disputes.models.AgreementForm",
        "PerformanceEnum": "disputes.models.Performance",
        "RulingEnum": "disputes.models.Ruling",
        "ReferralEnum": "disputes.models.Referral",
        "ProcedureEnum": "disputes.models.Procedure",
        "EntrustedResultEnum": "disputes.models.EntrustedResult",
        "LineKindEnum": "disputes.models.LineKind",
        "BodyKindEnum": "disputes.models.BodyKind",
    },
}

# Celery: a real broker when configured, otherwise tasks run eagerly in-process.
# Without a broker the in-memory transport stands in, so a worker started in-process (the
# tests do) has something to consume from.
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    "audit-verify-nightly": {"task": "kaili.tasks.audit_verify_task", "schedule": crontab(hour=2, minute=30)},
    "populations-due-visits-daily": {"task": "populations.tasks.refresh_due_visits", "schedule": crontab(hour=1, minute=0)},
    "exports-purge-daily": {"task": "kaili.tasks.purge_old_exports_task", "schedule": crontab(hour=3, minute=15)},
    # After the visit schedules are refreshed (01:00): they move follow-ups due.
    "dashboard-rebuild-nightly": {"task": "dashboard.tasks.rollup_full", "schedule": crontab(hour=1, minute=30)},
    "dashboard-check-nightly": {"task": "dashboard.tasks.rollup_check", "schedule": crontab(hour=4, minute=0)},
    "dashboard-purge-runs-daily": {"task": "dashboard.tasks.purge_old_runs", "schedule": crontab(hour=4, minute=30)},
}

# The dashboard's statistics follow every save (an incremental roll-up queued on commit);
# off, they wait for the nightly rebuild (the benchmark compares the two).
KAILI_STATS_ON_SAVE = os.environ.get("KAILI_STATS_ON_SAVE", "1") != "0"
# Seconds the queued run waits for more saves to join it (ignored when tasks run eagerly).
KAILI_STATS_DELAY_SECONDS = float(os.environ.get("KAILI_STATS_DELAY_SECONDS", "2.5"))

# Audit chain key: keyed hashes, so a row cannot be re-forged without the key.
AUDIT_CHAIN_KEY = os.environ.get("KAILI_AUDIT_KEY", SECRET_KEY)

# Sensitive personal fields (kaili/crypto.py): Fernet keys, newest first (rotation), and
# the key of the exact-match search hashes. Development derives both from SECRET_KEY.
KAILI_FIELD_KEYS = env_list("KAILI_FIELD_KEYS") or [_derive_key(SECRET_KEY, "field-encryption")]
KAILI_LOOKUP_KEY = os.environ.get("KAILI_LOOKUP_KEY") or _derive_key(SECRET_KEY, "field-lookup")

# Long tasks report progress through the cache, so web and worker processes must share it:
# Redis when the broker is Redis (or KAILI_CACHE_URL says where), in-process memory otherwise.
CACHE_URL = os.environ.get("KAILI_CACHE_URL") or (CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL, "KEY_PREFIX": "kaili"}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KAILI_LOG_LEVEL", "WARNING")},
}

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 60 * 60)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

# Working hours of the governance centres (DOMAIN.md, "Incident loop": limits are counted
# on a working-hours calendar). Holidays and make-up working days are cases.CalendarDay rows.
KAILI_WORKING_HOURS = (("08:30", "12:00"), ("13:30", "18:00"))  # eight hours: 480 minutes a day
# Photos and files attached to an incident or a dispute.
KAILI_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# An export of more rows than this runs as a Celery task with a progress bar.
KAILI_EXPORT_INLINE_ROWS = 5000
# Disputes: days the centre has to triage a registered dispute, and after an agreement's
# performance deadline (or its taking effect) to pay the follow-up visit 回访.
KAILI_DISPUTE_TRIAGE_DAYS = int(os.environ.get("KAILI_DISPUTE_TRIAGE_DAYS", "3"))
KAILI_DISPUTE_FOLLOW_UP_DAYS = int(os.environ.get("KAILI_DISPUTE_FOLLOW_UP_DAYS", "15"))
