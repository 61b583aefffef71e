// Alerts: budgets with their status and forecast, the history of alerts that fired, the webhook
// and Slack destinations they go to, and anomaly detection settings. Each section is its own
// module (alerts-*.js); this page loads what they share (platforms, keys, destinations).

import { anomaliesSection } from "../alerts-anomalies.js";
import { budgetsSection } from "../alerts-budgets.js";
import { destinationsSection } from "../alerts-destinations.js";
import { historySection } from "../alerts-history.js";
import { api } from "../api.js";
import { h, pageHead } from "../ui.js";

export const title = "Alerts";

function section(id) {
  return h("section", { class: "card alerts-section", id, "aria-labelledby": `${id}-title` });
}

export async function render(main, ctx) {
  const [platforms, credentials] = await Promise.all([
    api.get("/v1/platforms").then((r) => r.items || []).catch(() => []),
    api.get("/v1/credentials").then((r) => r.items || []).catch(() => []),
  ]);
  let destinations = [];
  let anomalies = null;
  const view = {
    account: () => ctx.account,
    platforms: () => platforms,
    platformNames: new Map(platforms.map((p) => [p.id, p.name])),
    credentials: () => credentials,
    destinations: () => destinations,
    setDestinations: (items) => { destinations = items; anomalies?.redraw(); },
  };

  const parts = {
    budgets: section("budgets"),
    history: section("history"),
    destinations: section("destinations"),
    anomalies: section("anomalies"),
  };
  main.append(
    pageHead("Alerts"),
    h("p", { class: "page-intro" },
      "Budgets warn before spend runs over; anomaly detection flags unusual days. Alerts go by email, and on Professional to webhooks and Slack. ",
      "Budget periods and alert days are UTC days."),
    parts.budgets, parts.history, parts.destinations, parts.anomalies,
  );
  // Destinations first: the budget form and the anomaly settings offer them as choices.
  const destinationsLoaded = destinationsSection(parts.destinations, view);
  await Promise.allSettled([
    budgetsSection(parts.budgets, view),
    historySection(parts.history),
    destinationsLoaded.then(() => {
      anomalies = anomaliesSection(parts.anomalies, view);
      return anomalies.load;
    }),
  ]);
}
