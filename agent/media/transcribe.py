"""Voice notes and audio become text before the turn, behind one narrow Protocol (`Transcriber`).

- `LocalTranscriber` (the embedded default, `CLAWBUS_MEDIA__TRANSCRIBER=local`): pocketsphinx, offline;
  its en-US acoustic model, dictionary and language model ship inside the wheel, so nothing is
  downloaded at run time. The audio is decoded with soundfile (its wheel bundles libsndfile with
  OGG/Opus, so no ffmpeg), mixed to mono and resampled to 16 kHz with soxr. Recognition runs in a
  thread, one at a time (a pocketsphinx decoder is not thread-safe). Modest accuracy, but the words are
  the user's.
- `AmazonTranscriber` (`transcribe`, in AWS): a batch `StartTranscriptionJob` on the stored file
  (`s3://<state bucket>/<key>`), polled until done, its transcript written back under
  `media/transcripts/`. Not exercised offline.
- `none`: audio is named to the model, not transcribed.

A transcriber returns None when the audio cannot be read (the file is still named); it raises only
classified errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from clawbus.bus.aws import map_aws_errors
from clawbus.bus.errors import DeadlineExceeded
from clawbus.storage.media import MediaStore


@dataclass(frozen=True)
class AudioClip:
    """One stored audio file: its bytes, sniffed type and key in the state bucket."""

    data: bytes
    media_type: str
    key: str


class Transcriber(Protocol):
    """Turns speech into text (see module)."""

    async def transcribe(self, clip: AudioClip) -> str | None:
        """The words spoken in `clip`, or None when it cannot be read."""
        ...


RATE = 16_000


def _pcm16(data: bytes) -> bytes | None:
    import numpy as np
    import soundfile
    import soxr

    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32")
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    if rate != RATE:
        samples = soxr.resample(samples, rate, RATE)
    return bytes((np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes())


class LocalTranscriber:
    """pocketsphinx, offline, its model from its own wheel (see module)."""

    def __init__(self) -> None:
        self._decoder: Any = None
        self._lock = threading.Lock()

    def _recognise(self, data: bytes) -> str | None:
        pcm = _pcm16(data)
        if pcm is None:
            return None
        with self._lock:
            if self._decoder is None:
                from pocketsphinx import Decoder

                self._decoder = Decoder(samprate=RATE, loglevel="FATAL")
            decoder = self._decoder
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            hypothesis = decoder.hyp()
        words = str(hypothesis.hypstr).strip() if hypothesis is not None else ""
        return words or None

    async def transcribe(self, clip: AudioClip) -> str | None:
        """The words pocketsphinx hears in the clip (None: unreadable or silent)."""
        return await asyncio.to_thread(self._recognise, clip.data)


class AmazonTranscriber:
    """Amazon Transcribe batch jobs on the stored file (see module); `client` is a `transcribe` client
    (aiobotocore), `store` reads the transcript back from the state bucket."""

    def __init__(
        self,
        client: Any,
        store: MediaStore,
        bucket: str,
        language: str,
        *,
        poll_s: float = 2.0,
        timeout_s: float = 120.0,
    ) -> None:
        self._client = client
        self._store = store
        self._bucket = bucket
        self._language = language
        self._poll_s = poll_s
        self._timeout_s = timeout_s

    async def transcribe(self, clip: AudioClip) -> str | None:
        """Start (or find) the job named after the file's hash, wait for it, read the transcript."""
        name = "clawbus-" + clip.key.rsplit("/", 1)[-1][:64]
        output = f"media/transcripts/{name}.json"
        conflict = self._client.exceptions.ConflictException  # the same file was sent before: its job exists
        with map_aws_errors(f"StartTranscriptionJob {name}"), contextlib.suppress(conflict):
            await self._client.start_transcription_job(
                TranscriptionJobName=name,
                LanguageCode=self._language,
                Media={"MediaFileUri": f"s3://{self._bucket}/{clip.key}"},
                OutputBucketName=self._bucket,
                OutputKey=output,
            )
        try:
            async with asyncio.timeout(self._timeout_s):
                while True:
                    with map_aws_errors(f"GetTranscriptionJob {name}"):
                        job = await self._client.get_transcription_job(TranscriptionJobName=name)
                    status = job["TranscriptionJob"]["TranscriptionJobStatus"]
                    if status == "FAILED":
                        return None
                    if status == "COMPLETED":
                        break
                    await asyncio.sleep(self._poll_s)
        except TimeoutError as exc:
            raise DeadlineExceeded(
                f"transcription job {name} still running after {self._timeout_s}s"
            ) from exc
        raw = await self._store.read(output)
        body = json.loads(raw) if raw else {}
        transcripts = body.get("results", {}).get("transcripts", [])
        words = " ".join(str(t.get("transcript", "")) for t in transcripts).strip()
        return words or None
