from pathlib import Path

from kiosk_client.decoder import ZxingDecoder
from tests.badge_server.test_letters import cli_env
from tests.support.cli import badge_server
from tests.support.district import District
from tests.support.pdf import rasterise


def test_many(district: District, tmp_path: Path) -> None:
    bad = []
    for attempt in range(12):
        output = tmp_path / f"kg{attempt}.pdf"
        done = badge_server(["print-letters", "--class", "k-maple-kg", "-o", str(output), "--json"], cli_env(district))
        assert done.returncode == 0, done.stderr
        pdf = output.read_bytes()
        for page in range(10):
            codes = ZxingDecoder().decode(rasterise(pdf, page, 150))
            if len(codes) != 1:
                bad.append((attempt, page, [(c.text, c.corners) for c in codes]))
                (tmp_path / "bad.pdf").write_bytes(pdf)
                Path("/tmp/bad-letter.pdf").write_bytes(pdf)
    assert bad == []
