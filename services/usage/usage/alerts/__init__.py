"""Budgets, alert destinations, alerts and their delivery (docs/alerts.md).

Domain modules (budgets, destinations, evaluation, messages) import neither grpc nor pymongo;
the stores are the only code here that talks to MongoDB; the servicer maps protobuf."""
