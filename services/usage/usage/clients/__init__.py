"""usage's clients of the other services it calls, one module per callee and job (keyvault:
credentials and sealing; auth: alert mail and plan changes). The rest of usage sees their
protocols and errors, never grpc."""
