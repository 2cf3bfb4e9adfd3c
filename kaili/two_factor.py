"""TOTP second factor (django-otp) for the privileged roles."""

import base64

import segno
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "authenticator"


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def token_matches(device: TOTPDevice, code: str) -> bool:
    """Whether ``code`` is the device's current token (django-otp throttles failures)."""
    code = code.strip()
    return code.isdigit() and device.verify_token(code)


def verify_totp(user, code: str) -> TOTPDevice | None:
    """The user's confirmed device if ``code`` is valid now."""
    device = confirmed_device(user)
    return device if device is not None and token_matches(device, code) else None


def pending_device(user) -> TOTPDevice:
    """The device being enrolled: created once, confirmed by the first valid code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def device_secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode()


def device_qr_svg(device: TOTPDevice) -> str:
    """The otpauth URI as an inline SVG QR code, drawn locally (no outside service)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4)
