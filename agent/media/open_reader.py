"""Building the agent's `MediaReader` from settings: the state bucket's media and the transcriber
`CLAWBUS_MEDIA__TRANSCRIBER` names (issue 20)."""

from __future__ import annotations

import importlib.util
import logging
from contextlib import AsyncExitStack

from aiobotocore.config import AioConfig

from clawbus.agent.media.attach import MediaReader
from clawbus.agent.media.transcribe import AmazonTranscriber, LocalTranscriber, Transcriber
from clawbus.bus.clients import AgentStoreClients, aws_session, open_stage_clients
from clawbus.bus.logging import log_event
from clawbus.bus.settings import Settings
from clawbus.storage.backends import media_store
from clawbus.storage.media import MediaStore

logger = logging.getLogger(__name__)


async def _transcriber(settings: Settings, stack: AsyncExitStack, store: MediaStore) -> Transcriber | None:
    media = settings.media
    if media.transcriber == "local":
        if importlib.util.find_spec("pocketsphinx") is None or importlib.util.find_spec("soundfile") is None:
            log_event(
                logger,
                "agent.media.no_transcriber",
                logging.WARNING,
                reason="pocketsphinx/soundfile not installed: pip install 'clawbus[voice]'",
            )
            return None
        return LocalTranscriber()
    if media.transcriber == "transcribe":
        config = AioConfig(
            connect_timeout=settings.aws.connect_timeout_s, read_timeout=settings.aws.read_timeout_s
        )
        client = await stack.enter_async_context(
            aws_session().create_client(
                "transcribe",
                region_name=settings.aws.region,
                endpoint_url=settings.aws.endpoint_url,
                config=config,
            )
        )
        return AmazonTranscriber(
            client,
            store,
            settings.bus.bucket_name(),
            media.transcribe_language,
            timeout_s=media.transcribe_timeout_s,
        )
    return None


async def open_media_reader(settings: Settings, stack: AsyncExitStack) -> MediaReader:
    """The reader of the files users send, open for the life of `stack`."""
    clients = await stack.enter_async_context(open_stage_clients(settings, AgentStoreClients))
    store = media_store(settings, clients)
    return MediaReader(store, await _transcriber(settings, stack, store), settings.media.document_text_chars)
