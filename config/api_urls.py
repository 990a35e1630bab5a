from django.urls import include, path

from bankcrm.approvals.api import views as approvals
from bankcrm.core.api import views as core
from bankcrm.customers.api import views as customers
from bankcrm.customers.api import workflow_views as cflow
from bankcrm.org.api import views as org

urlpatterns = [
    path("me/", org.MeView.as_view(), name="api-me"),
    path("inbox/", core.InboxView.as_view(), name="api-inbox"),
    path("branches/", org.BranchListCreate.as_view(), name="api-branches"),
    path("branches/<int:pk>/", org.BranchDetail.as_view(), name="api-branch"),
    path("staff/", org.StaffListCreate.as_view(), name="api-staff"),
    path("staff/<int:pk>/", org.StaffDetail.as_view(), name="api-staff-detail"),
    path("staff/<int:pk>/roles/", org.StaffRoles.as_view(), name="api-staff-roles"),
    path("staff/<int:pk>/deactivate/", org.StaffDeactivate.as_view(), name="api-staff-deactivate"),
    path("staff/<int:pk>/reactivate/", org.StaffReactivate.as_view(), name="api-staff-reactivate"),
    path("approvals/", approvals.ApprovalList.as_view(), name="api-approvals"),
    path("approvals/<int:pk>/", approvals.ApprovalDetail.as_view(), name="api-approval"),
    path("approvals/<int:pk>/approve/", approvals.ApprovalApprove.as_view(), name="api-approval-approve"),
    path("approvals/<int:pk>/reject/", approvals.ApprovalReject.as_view(), name="api-approval-reject"),
    path("approvals/<int:pk>/cancel/", approvals.ApprovalCancel.as_view(), name="api-approval-cancel"),
    path("audit/events/", core.AuditEventList.as_view(), name="api-audit"),
    path("audit/verify/", core.AuditVerifyView.as_view(), name="api-audit-verify"),
    path("security-events/", core.SecurityEventList.as_view(), name="api-security-events"),
    path("parameters/", core.ParameterList.as_view(), name="api-parameters"),
    path("parameters/<str:code>/versions/", core.ParameterVersions.as_view(), name="api-parameter-versions"),
    path("calendar/", core.CalendarList.as_view(), name="api-calendar"),
    path("calendar/<str:day>/", core.CalendarDayView.as_view(), name="api-calendar-day"),
    path("customers/", customers.CustomerListCreate.as_view(), name="api-customers"),
    path("customers/<int:pk>/", customers.CustomerDetail.as_view(), name="api-customer"),
    path("customers/<int:pk>/reveal/", customers.CustomerReveal.as_view(), name="api-customer-reveal"),
    path("customers/<int:pk>/consents/", customers.CustomerConsents.as_view(), name="api-customer-consents"),
    path("customers/<int:pk>/consents/<int:consent_id>/withdraw/", customers.CustomerConsentWithdraw.as_view(),
         name="api-customer-consent-withdraw"),
    path("customers/<int:pk>/managers/", customers.CustomerManagers.as_view(), name="api-customer-managers"),
    path("customers/<int:pk>/relationships/", cflow.CustomerRelationships.as_view(), name="api-customer-relationships"),
    path("customers/<int:pk>/subject-requests/", cflow.SubjectRequests.as_view(), name="api-subject-requests"),
    path("customers/<int:pk>/subject-requests/<int:request_id>/complete/", cflow.SubjectRequestComplete.as_view(),
         name="api-subject-request-complete"),
    path("customers/<int:pk>/subject-requests/<int:request_id>/erase/", cflow.SubjectRequestErase.as_view(),
         name="api-subject-request-erase"),
    path("customers/<int:pk>/subject-requests/<int:request_id>/copy/", cflow.SubjectRequestCopy.as_view(),
         name="api-subject-request-copy"),
    path("customer-handovers/", cflow.Handovers.as_view(), name="api-handovers"),
    path("customer-handovers/<int:pk>/", cflow.HandoverDetail.as_view(), name="api-handover"),
    path("customer-handovers/<int:pk>/successor/", cflow.HandoverSuccessor.as_view(), name="api-handover-successor"),
    path("customer-handovers/<int:pk>/submit/", cflow.HandoverSubmit.as_view(), name="api-handover-submit"),
    path("customer-exports/", cflow.Exports.as_view(), name="api-customer-exports"),
    path("customer-exports/<int:pk>/download/", cflow.ExportDownload.as_view(), name="api-customer-export-download"),
]

from bankcrm.customers.api import import_views as customer_imports  # noqa: E402  (customer imports, ADR 0008)

urlpatterns += [
    path("customers/imports/", customer_imports.CustomerImportListCreate.as_view(), name="api-customer-imports"),
    path("customers/imports/<int:pk>/", customer_imports.CustomerImportDetail.as_view(), name="api-customer-import"),
]

urlpatterns += [path("", include("bankcrm.ledger.api.urls")), path("", include("bankcrm.risk.api.urls")),
                path("", include("bankcrm.service.api.urls")), path("", include("bankcrm.surveys.api.urls")),
                path("", include("bankcrm.wealth.api.urls")), path("", include("bankcrm.engagement.api.urls")),
                path("", include("bankcrm.people.api.urls")),
                path("", include("bankcrm.supervision.api.urls")),
                path("", include("bankcrm.partners.api.urls")),
                path("", include("bankcrm.reports.api.urls"))]
