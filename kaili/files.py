"""Serving stored private files (attachments, exports): only through a view that has
checked the reader's access, never cached by the browser or a proxy."""

from django.http import FileResponse, Http404


def private_file_response(field_file, *, filename: str, content_type: str | None = None, inline: bool = False):
    """The stored file as a response; 404 when it is gone (purged, or never written)."""
    if not field_file:
        raise Http404
    try:
        handle = field_file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    kwargs = {"content_type": content_type} if content_type else {}
    response = FileResponse(handle, as_attachment=not inline, filename=filename, **kwargs)
    response["Cache-Control"] = "no-store"
    return response
