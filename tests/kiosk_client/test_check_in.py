"""A kiosk tells the server it is on every few minutes, signed in to or not: the server's "kiosks
seen" metric and IT's silent-kiosk alert rest on it. Against the real server on loopback, and
through the transport seam for a server that cannot be reached."""

from __future__ import annotations

from datetime import datetime, timedelta

import requests
from pytestqt.qtbot import QtBot

from badge_server import clock
from badge_server.store.db import read_only_transaction
from badge_server.store.models import Device
from kiosk_client.api import BadgeServerClient
from kiosk_client.workers import NetworkWorker
from tests.support.district import District
from tests.support.servers import LoopbackServer


def last_seen(district: District) -> object:
    with read_only_transaction(district.runtime.factory) as db:
        device = db.get(Device, district.device_id)
        assert device is not None
        return device.last_seen_at


def test_a_check_in_is_the_kiosks_last_seen_on_the_server(server: LoopbackServer, district: District) -> None:
    worker = NetworkWorker(BadgeServerClient(server.url, device_token=district.device_token))
    worker.check_in()
    first = last_seen(district)
    assert isinstance(first, datetime)
    clock.advance(timedelta(minutes=3))
    worker.check_in()
    later = last_seen(district)
    assert isinstance(later, datetime) and later - first >= timedelta(minutes=3)


class Unreachable(requests.adapters.BaseAdapter):
    def send(self, request: requests.PreparedRequest, *args: object, **kwargs: object) -> requests.Response:
        raise requests.ConnectionError("no route to host")

    def close(self) -> None:
        pass


def test_a_check_in_that_cannot_reach_the_server_changes_nothing(qtbot: QtBot) -> None:
    session = requests.Session()
    session.mount("https://", Unreachable())
    worker = NetworkWorker(BadgeServerClient("https://badges.example", session=session, device_token="t"))
    with qtbot.assertNotEmitted(worker.failed), qtbot.assertNotEmitted(worker.unreachable):
        worker.check_in()
