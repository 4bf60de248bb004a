"""Model selection: Amazon Bedrock by default, the offline scripted model on request."""

from __future__ import annotations

from strands.models import Model

from settings import Settings


def load_model(settings: Settings) -> Model:
    """Build the model named by MODEL_PROVIDER (called lazily, never at import time)."""
    if settings.model_provider == "offline":
        from model.offline import OfflineModel

        return OfflineModel(chunk_delay_seconds=settings.offline_chunk_delay_seconds)
    from strands.models.bedrock import BedrockModel

    return BedrockModel(model_id=settings.model_id, region_name=settings.region)
