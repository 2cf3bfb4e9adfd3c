"""Checks on uploaded photos and files, shared by every app that takes them.

A photo must really be an image (its first bytes, not its name or the browser's word
for it); nothing may exceed ``settings.KAILI_MAX_ATTACHMENT_BYTES``.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

IMAGE_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif"}
FILE_EXTENSIONS = {
    "jpg", "jpeg", "png", "gif", "bmp", "webp", "heic", "heif", "avif",
    "pdf", "txt", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "wps", "et",
    "mp3", "m4a", "amr", "wav", "mp4", "mov", "3gp",
}  # fmt: skip
FILE_TYPES = {
    "pdf": "application/pdf",
    "txt": "text/plain",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "amr": "audio/amr",
    "wav": "audio/wav",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "3gp": "video/3gpp",
}


def image_type(head: bytes) -> str | None:
    """The image MIME type the first bytes show, or None when they are not an image."""
    for signature, content_type in IMAGE_SIGNATURES:
        if head.startswith(signature):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "image/avif" if head[8:12] == b"avif" else "image/heic"
    return None


def _head(upload) -> bytes:
    upload.seek(0)
    head = upload.read(32)
    upload.seek(0)
    return head


def _too_large(upload) -> bool:
    return upload.size > settings.KAILI_MAX_ATTACHMENT_BYTES


def _limit_text() -> str:
    return f"{settings.KAILI_MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB"


def check_photo(upload, field: str = "photos") -> str:
    """The photo's content type; ValidationError naming ``field`` and the file otherwise."""
    name = upload.name or ""
    if _too_large(upload):
        raise ValidationError({field: _("照片“%(name)s”超过 %(limit)s。") % {"name": name, "limit": _limit_text()}})
    content_type = image_type(_head(upload))
    if content_type is None:
        raise ValidationError({field: _("“%(name)s”不是图片文件（支持 JPEG、PNG、GIF、WebP、HEIC）。") % {"name": name}})
    return content_type


def check_file(upload, field: str = "files") -> str:
    name = upload.name or ""
    if _too_large(upload):
        raise ValidationError({field: _("文件“%(name)s”超过 %(limit)s。") % {"name": name, "limit": _limit_text()}})
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in FILE_EXTENSIONS:
        raise ValidationError({field: _("不支持“%(name)s”这种文件类型。") % {"name": name}})
    return image_type(_head(upload)) or FILE_TYPES.get(extension, "application/octet-stream")
