"""Voice notes and audio become text before the turn, behind one narrow Protocol (`Transcriber`).

- `LocalTranscriber` (the embedded default, `CLAWBUS_MEDIA__TRANSCRIBER=local`): pocketsphinx, offline;
  its en-US acoustic model, dictionary and language model ship inside the wheel, so nothing is
  downloaded at run time. The audio is decoded with soundfile (its wheel bundles libsndfile with
  OGG/Opus, so no ffmpeg), mixed to mono and resampled to 16 kHz with soxr. Recognition runs in a
  thread, one at a time (a pocketsphinx decoder is not thread-safe). Modest accuracy, but the words are
  the user's.
- `AmazonTranscriber` (`transcribe`, in AWS): a batch `StartTranscriptionJob` on the stored file
  (`s3://<state bucket>/<key>`), named after the bucket and the file's hash (a re-run turn finds the same
  job), polled
  every `poll_s` until done or `CLAWBUS_MEDIA__TRANSCRIBE_TIMEOUT_S`, its transcript written by Transcribe
  under `media/transcripts/` and read from where the job's `TranscriptFileUri` points.
- `none`: audio is named to the model, not transcribed.

A transcriber returns the words, or None when it heard none. `NotTranscribed` (a failed job, a job
still running at the timeout, no transcript where the job said, audio that cannot be decoded) says why
there are no words: the turn goes on and reads "could not transcribe", the audio still attached.
Anything else it raises is a classified error (AWS throttling and outages are retryable, as for any call).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from clawbus.bus.aws import map_aws_errors
from clawbus.bus.errors import PermanentError
from clawbus.storage.media import MediaStore


class NotTranscribed(PermanentError):
    """The audio has no transcript, for the reason in the message (a sentence fragment the user reads
    after "could not transcribe: "); permanent for this turn, the turn itself goes on."""


@dataclass(frozen=True)
class AudioClip:
    """One stored audio file: its bytes, sniffed type and key in the state bucket."""

    data: bytes
    media_type: str
    key: str


class Transcriber(Protocol):
    """Turns speech into text (see module)."""

    async def transcribe(self, clip: AudioClip) -> str | None:
        """The words spoken in `clip`, or None when none were heard; `NotTranscribed` says why not."""
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
            raise NotTranscribed("the audio could not be decoded")
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
        """The words pocketsphinx hears in the clip (None: silence; `NotTranscribed`: undecodable)."""
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
        # Job names are unique per account and region: the bucket's name keeps two deployments apart.
        name = f"{self._bucket}-{clip.key.rsplit('/', 1)[-1][:64]}"
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
        job = await self._finished(name)
        key = transcript_key(job, self._bucket) or output
        raw = await self._store.read(key)
        if raw is None:
            raise NotTranscribed("the transcription job left no transcript")
        return transcript_words(raw)

    async def _finished(self, name: str) -> Mapping[str, Any]:
        """The job once COMPLETED; `NotTranscribed` once FAILED or still running at the timeout."""
        try:
            async with asyncio.timeout(self._timeout_s):
                while True:
                    with map_aws_errors(f"GetTranscriptionJob {name}"):
                        answer = await self._client.get_transcription_job(TranscriptionJobName=name)
                    job: Mapping[str, Any] = answer["TranscriptionJob"]
                    status = job.get("TranscriptionJobStatus")
                    if status == "FAILED":
                        # FailureReason is Transcribe's own wording (unsupported format, too long…):
                        # about the file, never the words in it.
                        raise NotTranscribed(f"the transcription job failed ({job.get('FailureReason')})")
                    if status == "COMPLETED":
                        return job
                    await asyncio.sleep(self._poll_s)
        except TimeoutError as exc:
            raise NotTranscribed(f"the transcription took longer than {self._timeout_s:g} s") from exc


def transcript_key(job: Mapping[str, Any], bucket: str) -> str | None:
    """The key in `bucket` of a completed job's transcript, from its `TranscriptFileUri`
    (`https://s3.<region>.amazonaws.com/<bucket>/<key>`, path style); None when it names another place."""
    uri = (job.get("Transcript") or {}).get("TranscriptFileUri")
    if not isinstance(uri, str):
        return None
    path = unquote(urlsplit(uri).path).lstrip("/")
    named, _, key = path.partition("/")
    return key if named == bucket and key else None


def transcript_words(raw: bytes) -> str | None:
    """The words of a Transcribe transcript (`results.transcripts[].transcript`); None when empty.
    `NotTranscribed` when it is not a transcript at all."""
    try:
        body = json.loads(raw)
        transcripts = body["results"]["transcripts"]
        words = " ".join(str(t.get("transcript", "")) for t in transcripts).strip()
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise NotTranscribed("the transcription job's output is not a transcript") from exc
    return words or None
