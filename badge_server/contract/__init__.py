"""The contract the kiosk shares with the server: the badge payload and the words and looks a child sees.

Dependency-free: this is the only part of the server that ``kiosk_client`` imports."""
