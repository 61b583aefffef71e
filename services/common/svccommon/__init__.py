"""What every AICosts service needs: config, logging, identity, gRPC lifecycle, channels, Mongo."""
