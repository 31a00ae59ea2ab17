"""The Serverless AI lab, one module per step: train, app, image, registry, function, gateway, latency, cleanup."""
