"""Short sounds: a rising chime for "welcome", a soft low tone for "try again". Generated, so
nothing has to be shipped; played by the system's player when there is one."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

RATE = 22050


def _tone(notes: list[tuple[float, float]]) -> np.ndarray:
    parts = []
    for frequency, seconds in notes:
        t = np.arange(int(RATE * seconds)) / RATE
        envelope = np.minimum(1, t * 40) * np.exp(-t * 5)
        parts.append(0.35 * envelope * np.sin(2 * np.pi * frequency * t))
    return np.concatenate(parts)


SOUNDS = {"welcome": [(659.3, 0.12), (784.0, 0.12), (1046.5, 0.35)], "error": [(330.0, 0.18), (262.0, 0.3)]}


class SoundPlayer:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.player = next((p for p in ("pw-play", "paplay", "aplay") if shutil.which(p)), None)
        self.folder = Path(tempfile.mkdtemp(prefix="badge-kiosk-sounds-"))
        self.files: dict[str, Path] = {}
        for name, notes in SOUNDS.items():
            path = self.folder / f"{name}.wav"
            with wave.open(str(path), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(RATE)
                out.writeframes((_tone(notes) * 32767).astype("<i2").tobytes())
            self.files[name] = path
        self.played: list[str] = []
        self._playing: list[subprocess.Popen[bytes]] = []

    def play(self, name: str) -> None:
        self.played.append(name)
        if not self.enabled:
            return
        self._playing = [p for p in self._playing if p.poll() is None]  # reap finished players
        if self.player:
            self._playing.append(
                subprocess.Popen(  # noqa: S603 - a player found on PATH, playing our own file
                    [self.player, str(self.files[name])],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        else:
            from PySide6.QtWidgets import QApplication

            QApplication.beep()

    def close(self) -> None:
        for player in self._playing:
            if player.poll() is None:
                player.kill()
            player.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
