"""The camera kiosk: camera -> local QR decode -> exchange -> welcome -> dashboard -> sign out."""

__version__ = "0.1.0"
