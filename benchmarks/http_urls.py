"""URL conf of config.settings.prod_bench: the project's URLs plus the reference view of P5 (QUALITY.md)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from config.urls import handler404, handler500  # noqa: F401  (the same error pages)


def hello(request: HttpRequest) -> HttpResponse:
    """Django's "hello": every middleware of the project, no template, no query of its own."""
    return HttpResponse("hello", content_type="text/plain")


urlpatterns = [
    path("bench/hello", hello, name="bench_hello"),
    path("bench/hello-signed-in", login_required(hello), name="bench_hello_signed_in"),
    path("", include("config.urls")),
]
