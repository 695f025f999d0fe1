"""``python -m kiosk_client`` is ``badge-kiosk``."""

from kiosk_client.cli import main

main()
