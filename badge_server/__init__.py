"""Badge server: roster, badges, devices, badge exchange, sessions and the app dashboard."""

__version__ = "0.1.0"
