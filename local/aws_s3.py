"""The loopback AWS API's S3: moto 5.2.5's object writes made atomic with each other (see
`serialise_object_writes`). Patched into moto before it serves."""

from __future__ import annotations

import threading

from clawbus.local.aws_fifo import under

# moto's `S3Response` handlers of a PUT (object, copy), a DELETE and a POST (multipart completion) of a key.
_WRITES = ("_key_response_put", "_key_response_delete", "_key_response_post")


def serialise_object_writes() -> None:
    """Run moto's object writes one at a time, so a conditional write is atomic as on S3.

    moto checks `If-Match` / `If-None-Match: *` in `S3Response.put_object` (and `delete_object`,
    `complete_multipart_upload`) by reading the current object, and stores the new one several steps
    later, with no lock: the loopback API serves each request on its own thread (64 of them), so two
    writers racing on one version could both pass the check and both be told they won, and one of
    their changes was lost (two appenders of one blob: one line gone). S3 lets exactly one win and
    answers 412 to the others. One reentrant lock around these handlers restores that; reads are not
    held up, and object writes are few and short in clawbus (claim checks, workspace files,
    transcript bodies).
    """
    from moto.s3.responses import S3Response

    lock = threading.RLock()
    for name in _WRITES:
        setattr(S3Response, name, under(lock, getattr(S3Response, name)))
