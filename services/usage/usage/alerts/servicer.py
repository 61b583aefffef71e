"""The alert methods of aicosts.usage.v1.UsageService: protobuf in, AlertCommands, protobuf out.
UsageServicer inherits them (one gRPC service, one servicer)."""

from __future__ import annotations

from aicosts.usage.v1 import alerts_pb2 as pb
from svccommon.errors import Unavailable

from usage import limits
from usage.alerts import convert
from usage.alerts.commands import AlertCommands


class AlertMethods:
    alert_commands: AlertCommands | None = None

    @property
    def _alerts(self) -> AlertCommands:
        if self.alert_commands is None:
            raise Unavailable("alerts are not wired in this process")
        return self.alert_commands

    def _budget(self, account_id: str, doc) -> pb.BudgetResponse:  # noqa: ANN001
        return pb.BudgetResponse(budget=convert.budget(doc, self._alerts.status(account_id, doc)))

    def CreateBudget(self, request, context):  # noqa: N802 (gRPC method names)
        doc = self._alerts.create_budget(request.account_id, convert.budget_settings(request.budget))
        return self._budget(request.account_id, doc)

    def UpdateBudget(self, request, context):  # noqa: N802
        settings = convert.budget_settings(request.budget)
        return self._budget(
            request.account_id, self._alerts.update_budget(request.account_id, request.budget_id, settings)
        )

    def GetBudget(self, request, context):  # noqa: N802
        return self._budget(
            request.account_id, self._alerts.get_budget(request.account_id, request.budget_id)
        )

    def ListBudgets(self, request, context):  # noqa: N802
        docs = self._alerts.list_budgets(request.account_id)
        return pb.ListBudgetsResponse(
            budgets=[convert.budget(d, self._alerts.status(request.account_id, d)) for d in docs]
        )

    def DeleteBudget(self, request, context):  # noqa: N802
        self._alerts.delete_budget(request.account_id, request.budget_id)
        return pb.DeleteBudgetResponse()

    def CreateDestination(self, request, context):  # noqa: N802
        doc, secret = self._alerts.create_destination(
            request.account_id, request.kind, request.name, request.url
        )
        return pb.CreateDestinationResponse(destination=convert.destination(doc), signing_secret=secret)

    def ListDestinations(self, request, context):  # noqa: N802
        docs = self._alerts.list_destinations(request.account_id)
        return pb.ListDestinationsResponse(destinations=[convert.destination(d) for d in docs])

    def DeleteDestination(self, request, context):  # noqa: N802
        self._alerts.delete_destination(request.account_id, request.destination_id)
        return pb.DeleteDestinationResponse()

    def TestDestination(self, request, context):  # noqa: N802
        doc = self._alerts.test_destination(request.account_id, request.destination_id)
        return pb.TestDestinationResponse(delivery=convert.delivery(doc))

    def ListDeliveries(self, request, context):  # noqa: N802
        docs, cursor = self._alerts.list_deliveries(
            request.account_id, request.destination_id, request.limit, request.cursor
        )
        return pb.ListDeliveriesResponse(deliveries=[convert.delivery(d) for d in docs], next_cursor=cursor)

    def ListAlerts(self, request, context):  # noqa: N802
        docs, cursor = self._alerts.list_alerts(
            request.account_id, request.limit, request.cursor, request.unacknowledged_only
        )
        return pb.ListAlertsResponse(alerts=[convert.alert(d) for d in docs], next_cursor=cursor)

    def AcknowledgeAlert(self, request, context):  # noqa: N802
        return pb.AlertResponse(
            alert=convert.alert(self._alerts.acknowledge(request.account_id, request.alert_id))
        )

    def MuteAlert(self, request, context):  # noqa: N802
        doc, until = self._alerts.mute(request.account_id, request.alert_id, request.days)
        response = pb.AlertResponse(alert=convert.alert(doc))
        response.muted_until.FromDatetime(until)
        return response

    def GetAlertSettings(self, request, context):  # noqa: N802
        settings = self._alerts.get_settings(request.account_id)
        return pb.AlertSettingsResponse(settings=convert.settings_message(settings))

    def UpdateAlertSettings(self, request, context):  # noqa: N802
        settings = self._alerts.update_settings(request.account_id, convert.alert_settings(request.settings))
        return pb.AlertSettingsResponse(settings=convert.settings_message(settings))

    def GetForecast(self, request, context):  # noqa: N802
        as_of = limits.parse_day(request.as_of, "as_of") if request.as_of else None
        total, platforms = self._alerts.forecast(request.account_id, as_of)
        return pb.GetForecastResponse(
            period_start=total.period_start.isoformat(),
            period_end=total.period_end.isoformat(),
            as_of=total.as_of.isoformat(),
            total=convert.forecast_line("", total),
            platforms=[convert.forecast_line(p, f) for p, f in sorted(platforms.items())],
        )
