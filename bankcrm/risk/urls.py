"""Risk pages. Each feature of the app keeps its views in its own module and adds its routes here."""

from django.urls import path

from . import views

app_name = "risk"

urlpatterns: list = [
    path("risk/", views.dashboard, name="dashboard"),
    path("risk/alerts/", views.alert_list, name="alerts"),
    path("risk/alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("risk/alerts/<int:pk>/close/", views.alert_close, name="alert_close"),
    path("risk/cases/", views.case_list, name="cases"),
    path("risk/cases/open/", views.case_open, name="case_open"),
    path("risk/cases/<int:pk>/", views.case_detail, name="case"),
    path("risk/cases/<int:pk>/notes/", views.case_note, name="case_note"),
    path("risk/cases/<int:pk>/notes/<int:note_id>/attachment/", views.case_attachment, name="case_attachment"),
    path("risk/cases/<int:pk>/report/", views.case_report, name="case_report"),
    path("risk/cases/<int:pk>/<str:action>/", views.case_action, name="case_action"),
    path("risk/rules/", views.rule_list, name="rules"),
    path("risk/rules/<str:code>/", views.rule_detail, name="rule"),
    path("risk/reports/", views.report_list, name="reports"),
    path("risk/reports/<int:pk>/download/", views.report_download, name="report_download"),
    path("risk/reports/<int:pk>/submit/", views.report_submit, name="report_submit"),
]

from . import suitability_views as sv  # noqa: E402  (investor suitability)

urlpatterns += [
    path("risk/questionnaires/", sv.questionnaire_list, name="questionnaires"),
    path("risk/questionnaires/<int:pk>/", sv.questionnaire_detail, name="questionnaire"),
    path("risk/questionnaires/<int:pk>/publish/", sv.questionnaire_publish, name="questionnaire_publish"),
    path("risk/customers/<int:pk>/suitability/", sv.suitability_take, name="suitability_take"),
    path("risk/customers/<int:pk>/suitability/history/", sv.suitability_history, name="suitability_history"),
    path("risk/customers/<int:pk>/suitability/<int:assessment_id>/", sv.suitability_result, name="suitability_result"),
    path("risk/suitability/check/", sv.suitability_check, name="suitability_check"),
]

from . import rating_views  # noqa: E402

urlpatterns += [
    path("risk/customers/<int:pk>/rating/", rating_views.customer_rating, name="customer_rating"),
    path("risk/customers/<int:pk>/rating/rate/", rating_views.customer_rate, name="customer_rate"),
    path("risk/ratings/due/", rating_views.ratings_due, name="ratings_due"),
    path("risk/rating-model/", rating_views.rating_model, name="rating_model"),
    path("risk/rating-model/new/", rating_views.rating_model_new, name="rating_model_new"),
    path("risk/due-diligence/", rating_views.dd_list, name="dd_list"),
    path("risk/due-diligence/<int:pk>/", rating_views.dd_detail, name="dd_detail"),
]

from . import watchlist_views  # noqa: E402  (watch-list screening)

urlpatterns += [
    path("risk/watchlists/", watchlist_views.watchlist_list, name="watchlists"),
    path("risk/watchlists/<int:pk>/", watchlist_views.watchlist_detail, name="watchlist_detail"),
]
