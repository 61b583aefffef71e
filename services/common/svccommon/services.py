"""The fixed set of AICosts services and their default local ports."""

GRPC_SERVICES = ("auth", "keyvault", "usage", "parser")
ALL_IDENTITIES = (*GRPC_SERVICES, "gateway")

DEFAULT_PORTS = {
    "auth": 50051,
    "keyvault": 50052,
    "usage": 50053,
    "parser": 50054,
    "gateway": 8080,
}
