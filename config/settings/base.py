"""Settings shared by every environment. Environment files (dev, test, prod) only override."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("BANKCRM_VAR_DIR", BASE_DIR / "var"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS: list[str] = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "bankcrm.core",
    "bankcrm.org",
    "bankcrm.approvals",
    "bankcrm.customers",
    "bankcrm.ledger",
    "bankcrm.risk",
    "bankcrm.service",
    "bankcrm.surveys",
    "bankcrm.wealth",
    "bankcrm.engagement",
    "bankcrm.people",
    "bankcrm.supervision",
    "bankcrm.partners",
    "bankcrm.reports",
]

MIDDLEWARE = [
    "bankcrm.core.metrics.MetricsMiddleware",  # first: every request counted and timed by view (/metrics)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "bankcrm.core.middleware.RequestContextMiddleware",
    "bankcrm.partners.middleware.PartnerCallLogMiddleware",  # every partner-key call, answered or refused
    "django.contrib.sessions.middleware.SessionMiddleware",
    "bankcrm.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",  # before the session guard, which leaves a message
    "bankcrm.org.middleware.SessionGuardMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "bankcrm.core.middleware.SecurityHeadersMiddleware",
    "bankcrm.core.middleware.InboxBadgeMiddleware",  # a person's own changes show in their to-do badge at once
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bankcrm.core.context_processors.navigation_context",
            ],
        },
    }
]


def database_config() -> dict:
    """PostgreSQL when DATABASE_URL is set (production, CI); otherwise SQLite under var/ in WAL mode.

    SQLite uses IMMEDIATE transactions so that two writers queue on the lock instead of failing with
    "database is locked" half-way through a transaction (reference/stack.md §3).
    """
    url = os.environ.get("DATABASE_URL")
    if url:
        cfg = dj_database_url.parse(url, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")))
        cfg.setdefault("OPTIONS", {})
        return cfg
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "bankcrm.sqlite3")),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        },
    }


DATABASES = {"default": database_config()}
if os.environ.get("DATABASE_REPLICA_URL"):
    # A streaming replica for reports and dashboards; only code inside bankcrm.core.dbrouter.reading_from_replica()
    # reads from it (docs/operations.md "Read replica"). Tests point it at the default test database.
    DATABASES["replica"] = dj_database_url.parse(os.environ["DATABASE_REPLICA_URL"],
                                                 conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")))
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["bankcrm.core.dbrouter.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "org.Staff"
AUTHENTICATION_BACKENDS = ["bankcrm.org.auth.StaffBackend"]
LOGIN_URL = "org:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "org:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sessions: idle and absolute limits are enforced by SessionGuardMiddleware against the live-session registry.
SESSION_ENGINE = os.environ.get("SESSION_ENGINE", "django.contrib.sessions.backends.db")
SESSION_COOKIE_AGE = 12 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
BANKCRM_SESSION_IDLE = timedelta(minutes=int(os.environ.get("BANKCRM_SESSION_IDLE_MINUTES", "30")))
BANKCRM_SESSION_ABSOLUTE = timedelta(hours=int(os.environ.get("BANKCRM_SESSION_ABSOLUTE_HOURS", "12")))
# Login throttling (per user name and per client IP, counted separately).
# The to-do badge in the menu is cached per person for this many seconds (core.inbox.badge_count; 0: always counted)
BANKCRM_INBOX_BADGE_SECONDS = int(os.environ.get("BANKCRM_INBOX_BADGE_SECONDS", "30"))
BANKCRM_LOCKOUT_FAILURES = int(os.environ.get("BANKCRM_LOCKOUT_FAILURES", "5"))
BANKCRM_LOCKOUT_IP_FAILURES = int(os.environ.get("BANKCRM_LOCKOUT_IP_FAILURES", "20"))
BANKCRM_LOCKOUT_WINDOW = timedelta(minutes=int(os.environ.get("BANKCRM_LOCKOUT_WINDOW_MINUTES", "15")))
BANKCRM_LOCKOUT_DURATION = timedelta(minutes=int(os.environ.get("BANKCRM_LOCKOUT_MINUTES", "15")))
BANKCRM_REQUIRE_TOTP = os.environ.get("BANKCRM_REQUIRE_TOTP", "1") == "1"
OTP_TOTP_ISSUER = "bankcrm"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules" / "bootstrap-icons" / "font"),
    ("vendor/echarts", BASE_DIR / "node_modules" / "echarts" / "dist"),
    BASE_DIR / "static",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

# Keys kept apart from SECRET_KEY and from the database: generated by `manage.py init_keys` into var/keys.json
# (or given as the BANKCRM_KEYS_FILE path in production). See docs/operations.md.
BANKCRM_KEYS_FILE = Path(os.environ.get("BANKCRM_KEYS_FILE", VAR_DIR / "keys.json"))
BANKCRM_AUDIT_HEAD_DIR = Path(os.environ.get("BANKCRM_AUDIT_HEAD_DIR", VAR_DIR / "audit-heads"))
# Scheduled report files (管理报表 → 定时报表); empty: VAR_DIR / "reports", resolved when a file is written.
BANKCRM_REPORTS_DIR = os.environ.get("BANKCRM_REPORTS_DIR", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "bankcrm.core.api.authentication.BearerTokenAuthentication",
        "bankcrm.core.api.authentication.GuardedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "bankcrm.core.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "bankcrm.core.api.errors.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "bankcrm API",
    "DESCRIPTION": "银行员工客户关系管理平台 REST API。所有错误使用统一格式 {error: {code, message, fields}, request_id}。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The API description is for staff and partners with an account, not for anonymous visitors.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the installed sidecar package, never from a CDN (no network in a bank; CSP 'self').
    "SWAGGER_UI_DIST": "SIDECAR",
    # Every operation documents the one error format for 401/403/404 (and 400/415 where it takes input): R11.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "bankcrm.core.api.schema.document_error_responses"],
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "BranchKindEnum": "bankcrm.org.models.Branch.Kind",
        "CalendarDayKindEnum": "bankcrm.core.models.CalendarDay.Kind",
        "CustomerKindEnum": "bankcrm.customers.models.Customer.Kind",
        "RelationshipKindEnum": "bankcrm.customers.models.Relationship.Kind",
        "SubjectRequestKindEnum": "bankcrm.customers.models.DataSubjectRequest.Kind",
        "SecurityEventKindEnum": "bankcrm.core.models.SecurityEvent.Kind",
        "ConsentChannelEnum": "bankcrm.customers.models.Consent.Channel",
        "LedgerChannelEnum": "bankcrm.ledger.models.LimitRule.Channel",
        "CurrencyEnum": "bankcrm.ledger.models.CURRENCIES",
        "AmlLevelEnum": "bankcrm.risk.models.AmlLevel",
        "InvestorLevelEnum": "bankcrm.risk.models.LEVELS",
        "MonitoringRuleKindEnum": "bankcrm.risk.models.MonitoringRule.Kind",
        "RegulatoryReportKindEnum": "bankcrm.risk.models.RegulatoryReport.Kind",
        "RegulatoryReportStatusEnum": "bankcrm.risk.models.RegulatoryReport.Status",
        "AlertStatusEnum": "bankcrm.risk.models.Alert.Status",
        "CaseStatusEnum": "bankcrm.risk.models.Case.Status",
        "QuestionnaireStatusEnum": "bankcrm.risk.models.Questionnaire.Status",
        "AssessmentStatusEnum": "bankcrm.risk.models.SuitabilityAssessment.Status",
        "RiskRatingStatusEnum": "bankcrm.risk.models.RiskRating.Status",
        "RiskRatingTriggerEnum": "bankcrm.risk.models.RiskRating.Trigger",
        "DueDiligenceStatusEnum": "bankcrm.risk.models.DueDiligence.Status",
        "DueDiligenceTriggerEnum": "bankcrm.risk.models.DueDiligence.Trigger",
        "DueDiligenceResultEnum": "bankcrm.risk.models.DueDiligence.Result",
        "WatchListKindEnum": "bankcrm.risk.models.WatchList.Kind",
        "EmploymentTypeEnum": [("employee", "employee"), ("consultant", "consultant"), ("intern", "intern"), ("temporary", "temporary")],
        "SurveyTriggerEnum": "bankcrm.surveys.models.Campaign.Trigger",
        "SurveyFrequencyEnum": "bankcrm.surveys.models.Campaign.Frequency",
        "SurveyChannelEnum": "bankcrm.surveys.models.Campaign.Channel",
        "SurveySentimentEnum": "bankcrm.surveys.models.Response.Sentiment",
        "SurveyQuestionKindEnum": "bankcrm.surveys.models.QuestionKind",
        "ServiceChannelEnum": "bankcrm.service.models.Channel",
        "ServiceIntakeChannelEnum": "bankcrm.service.api.views.CHANNELS",
        "ServiceProductLineEnum": "bankcrm.service.models.ProductLine",
        "ServiceRequestKindEnum": "bankcrm.service.models.ServiceRequest.Kind",
        "ServiceRequestPriorityEnum": "bankcrm.service.models.ServiceRequest.Priority",
        "ServiceRequestStatusEnum": "bankcrm.service.models.ServiceRequest.Status",
        "ComplaintKindEnum": "bankcrm.service.models.Complaint.Kind",
        "ComplaintStatusEnum": "bankcrm.service.models.Complaint.Status",
        "ComplaintDecisionEnum": "bankcrm.service.models.Complaint.Decision",
        "ComplaintNoticeKindEnum": "bankcrm.service.models.Notice.Kind",
        "RectificationStatusEnum": "bankcrm.service.models.Rectification.Status",
        "WealthProductKindEnum": "bankcrm.wealth.models.WealthProduct.Kind",
        "WealthProductStatusEnum": "bankcrm.wealth.models.WealthProduct.Status",
        "WealthSaleStatusEnum": "bankcrm.wealth.models.Sale.Status",
        "WealthHoldingStatusEnum": "bankcrm.wealth.models.Holding.Status",
        "WealthReturnVisitStatusEnum": "bankcrm.wealth.models.ReturnVisit.Status",
        "WealthReturnVisitOutcomeEnum": "bankcrm.wealth.models.ReturnVisit.Outcome",
        "WealthQualifiedBasisEnum": "bankcrm.wealth.models.QualifiedInvestor.Basis",
        "WealthPayoutKindEnum": "bankcrm.wealth.models.Payout.Kind",
        "EgInteractionKindEnum": "bankcrm.engagement.models.Interaction.Kind",
        "EgInteractionStatusEnum": "bankcrm.engagement.models.Interaction.Status",
        "EgInteractionModeEnum": "bankcrm.engagement.api.serializers.MODES",
        "ModeEnum": "bankcrm.customers.models.CustomerImport.Mode",  # keeps its name beside EgInteractionModeEnum
        # supervision: coverage, controls, findings (issue #10, section A)
        "SvFindingStatusEnum": "bankcrm.supervision.models.Finding.Status",
        "SvFindingStatusFilterEnum": "bankcrm.supervision.api.finding_serializers.FILTER_STATUS",
        "SvFindingSourceEnum": "bankcrm.supervision.models.Finding.Source",
        "SvActionStatusEnum": "bankcrm.supervision.models.FindingAction.Status",
        "SvSeverityEnum": "bankcrm.supervision.models.Severity",
        "SvAccountabilityMeasureEnum": "bankcrm.supervision.models.Accountability.Measure",
        # supervision: inspections and access reviews (issue #10, section B)
        "SvSampleKindEnum": "bankcrm.supervision.models.SampleKind",
        "SvInspectionStatusEnum": "bankcrm.supervision.models.Inspection.Status",
        "SvSampleResultEnum": "bankcrm.supervision.models.SampleItem.Result",
        "SvAccessReviewStatusEnum": "bankcrm.supervision.models.AccessReview.Status",
        "SvReviewDecisionEnum": "bankcrm.supervision.models.AccessReviewItem.Decision",
        "SvDecideEnum": "bankcrm.supervision.api.inspection_serializers.DECIDE_CHOICES",
        # supervision: conduct, audit explorer, cycle times, retention (issue #10, section C)
        "SvLeaveKindEnum": "bankcrm.supervision.models.LeaveRecord.Kind",
        "SvConductSignalStatusEnum": "bankcrm.core.models.ConductSignal.Status",
        "EgTaskStatusEnum": "bankcrm.engagement.models.Task.Status",
        "EgTaskSourceEnum": "bankcrm.engagement.models.Task.Source",
        "EgPlanStatusEnum": "bankcrm.engagement.models.ActionPlan.Status",
        "EgReferralStatusEnum": "bankcrm.engagement.models.Referral.Status",
        "EgOpportunityStageEnum": "bankcrm.engagement.models.Opportunity.Stage",
        "EgNeedsHorizonEnum": "bankcrm.engagement.models.NeedsProfile.Horizon",
        "EgNeedsLiquidityEnum": "bankcrm.engagement.models.NeedsProfile.Liquidity",
        "EgGoalEnum": "bankcrm.engagement.rules.GOALS",
        "EgRecommendationStatusEnum": "bankcrm.engagement.models.Recommendation.Status",
        "EgRecommendationKindEnum": "bankcrm.engagement.models.Recommendation.Kind",
        "EgRecommendationSourceEnum": "bankcrm.engagement.models.Recommendation.Source",
        "EgSegmentKindEnum": "bankcrm.engagement.models.Segment.Kind",
        "EgRecommendationDecisionEnum": "bankcrm.engagement.api.nba_views.DECISION_CHOICES",
        "EgInsightSourceEnum": "bankcrm.engagement.models.Insight.Source",
        "EgInsightSentimentEnum": "bankcrm.engagement.models.Insight.Sentiment",
        "EgLifeEventKindEnum": "bankcrm.engagement.models.LifeEvent.Kind",
        # people — incentives
        "PpIncentiveMethodEnum": "bankcrm.people.models.IncentiveScheme.Method",
        "PpPoolStatusEnum": "bankcrm.people.models.IncentivePool.Status",
        "PpClawbackStatusEnum": "bankcrm.people.models.Clawback.Status",
        "PpClawbackSourceEnum": "bankcrm.people.models.Clawback.Source",
        # people — training
        "PpCourseStatusEnum": "bankcrm.people.models.Course.Status",
        "PpCourseCategoryEnum": "bankcrm.people.models.CourseCategory",
        "PpAssignmentStatusEnum": "bankcrm.people.models.Assignment.Status",
        "PpAssignmentReasonEnum": "bankcrm.people.models.Assignment.Reason",
        "PpRequirementTriggerEnum": "bankcrm.people.models.Requirement.Trigger",
        "PpCertificateMethodEnum": "bankcrm.people.models.Certificate.Method",
        # people — appraisal
        "PpScorecardStatusEnum": "bankcrm.people.models.Scorecard.Status",
        # partners (issue #11)
        "PartnerKindEnum": "bankcrm.partners.models.Partner.Kind",
        "PartnerStatusEnum": "bankcrm.partners.models.Partner.Status",
        "PartnerDeliveryStatusEnum": "bankcrm.partners.models.WebhookDelivery.Status",
        "PartnerEventEnum": "bankcrm.partners.api.serializers.EVENT_CHOICES",
        "PartnerEventTypeEnum": "bankcrm.partners.api.serializers.EVENT_TYPE_CHOICES",
        "PartnerScopeEnum": "bankcrm.partners.api.serializers.SCOPE_CHOICES",
        "PartnerKeyStateEnum": "bankcrm.partners.api.serializers.KEY_STATES",
        "PartnerCallResultEnum": "bankcrm.partners.api.serializers.CALL_RESULTS",
        # management reports (issue #11)
        "ReportCodeEnum": "bankcrm.reports.api.serializers.REPORT_CHOICES",
        "ReportFrequencyEnum": "bankcrm.reports.models.ReportSchedule.Frequency",
        "ReportFileFormatEnum": "bankcrm.reports.models.ReportSchedule.Format",
        "ReportRunStatusEnum": "bankcrm.reports.models.ReportRun.Status",
    },
}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
if os.environ.get("BANKCRM_TASKS_BACKEND") == "rq":
    # Scale-out: the same @task code on Redis/RQ. Workers: manage.py rqworker default --job-class django_tasks_rq.Job
    INSTALLED_APPS.append("django_rq")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "bankcrm.core.logging.RequestContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "bankcrm.core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_context"],
            "formatter": os.environ.get("BANKCRM_LOG_FORMAT", "plain"),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("BANKCRM_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "bankcrm.core.views.csrf_failure"
FORMAT_MODULE_PATH = ["config.formats"]
