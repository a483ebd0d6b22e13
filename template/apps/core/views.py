"""Error views: JSON for API paths, the HTML pages everywhere else."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import bad_request as html_bad_request
from django.views.defaults import page_not_found
from django.views.defaults import server_error as html_server_error

from apps.core.exceptions import error_body


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Requests Django refuses before any view: a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a bad Host."""
    if _is_api(request):
        return JsonResponse(error_body("bad_request", "The request could not be read."), status=400)
    return html_bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("server_error", "Internal server error."), status=500)
    return html_server_error(request)
