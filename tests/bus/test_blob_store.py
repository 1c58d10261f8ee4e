

async def test_claim_checks_sit_on_whichever_blob_store_is_chosen(bus: Bus, tmp_path: Path) -> None:
    storage = StorageSettings(blobs="local", local_dir=tmp_path)
    settings = Settings(aws=bus.aws, bus=BusSettings(prefix=bus.prefix), storage=storage)
    async with open_clients(settings, "s3") as clients:
        assert clients.s3
        checks = ClaimChecks(clients.s3, settings.bus.bucket_name(), 1024, blobs=blob_store(settings, clients))
        body = "ü" * 5000
        pointer = await checks.offload(body)
        assert pointer != body
        assert await checks.resolve(pointer) == body
        on_disk = LocalBlobStore(tmp_path / "blobs")
        (key,) = await on_disk.list("claim-check/")
        assert "Contents" not in bus.client("s3").list_objects_v2(Bucket=settings.bus.bucket_name())
        await on_disk.delete(key)
        with pytest.raises(InvalidEnvelope, match="is gone"):
            await checks.resolve(pointer)
