"""One error shape for the whole API:

{"error": {"code": "...", "message": "...", "fields": {"field": ["..."]}}}
"""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kaili.exceptions import Conflict


def _django_validation_to_drf(error: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(error, "error_dict"):
        return exceptions.ValidationError(dict(error.message_dict))
    return exceptions.ValidationError({"non_field_errors": error.messages})


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, Conflict):
        return error_response(exc.code, exc.message, status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        exc = _django_validation_to_drf(exc)
    elif isinstance(exc, (Http404, ObjectDoesNotExist)):
        exc = exceptions.NotFound(_("记录不存在或不在您的管辖范围内。"))
    elif isinstance(exc, PermissionDenied):
        # A service's refusal says why; a bare PermissionDenied gets DRF's wording.
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        body = {"code": "invalid", "message": _first_message(fields) or _("提交的数据有误。"), "fields": fields}
    else:
        codes = exc.get_codes() if hasattr(exc, "get_codes") else "error"
        body = {"code": codes if isinstance(codes, str) else "error", "message": str(getattr(exc, "detail", exc))}
    response.data = {"error": body}
    return response


def error_response(code: str, message: str, http_status: int = status.HTTP_400_BAD_REQUEST, fields=None) -> Response:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return Response({"error": body}, status=http_status)
