#include <catch2/catch.hpp>

#include "agent/metrics.hpp"
#include "config/loader.hpp"
#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "slo/burn_rate.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;

namespace {

std::vector<config::ProbeConfig> probes(const std::string& yaml) {
  auto r =
      config::loadConfigFromString("sources:\n  db: {type: sqlite, path: w.db}\nprobes:\n" + yaml,
                                   "/t/c.yaml", "", datawatch::testing::envFrom({}));
  REQUIRE(r.ok());
  return r.config->probes;
}

bool hasLine(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

Alert firing(const char* kind, const char* subject, const char* severity) {
  Alert a;
  a.kind = kind;
  a.subject = subject;
  a.severity = severity;
  a.firing = true;
  return a;
}

}  // namespace

TEST_CASE("probe series exist at 0 from the start and follow results", "[metrics]") {
  Metrics m("1.2.3");
  m.setProbes(
      probes("  - {name: f, type: freshness, source: db, table: shop.orders, column: c, max_age: "
             "1h, owner: billing}\n"
             "  - {name: v, type: volume, source: db, table: t, min: 1}\n"));
  const std::string labels =
      R"({owner="billing",probe="f",probe_type="freshness",source="db",target="shop.orders"})";
  auto text = m.render();
  CHECK(hasLine(text, "datawatch_probe_runs_total" + labels + " 0"));
  CHECK(hasLine(text, "datawatch_probe_success" + labels + " 0"));
  CHECK(hasLine(text, "datawatch_freshness_age_seconds" + labels + " 0"));
  CHECK(hasLine(text, R"(datawatch_build_info{version="1.2.3"} 1)"));
  CHECK(text.find("datawatch_volume_rows{owner=\"\",probe=\"v\"") != std::string::npos);

  ProbeResult r = ProbeResult::pass(812, "seconds", "ok");
  r.probe = "f";
  r.type = "freshness";
  r.observed_at = *parseTimestamp("2026-11-26T10:00:00Z");
  r.duration_seconds = 0.004;
  r.details["newest_timestamp_seconds"] = 1795686388.0;
  m.observe(r);
  ProbeResult e = ProbeResult::error("boom");
  e.probe = "f";
  e.type = "freshness";
  e.observed_at = r.observed_at;
  m.observe(e);
  text = m.render();
  CHECK(hasLine(text, "datawatch_probe_runs_total" + labels + " 2"));
  CHECK(hasLine(text, "datawatch_probe_errors_total" + labels + " 1"));
  CHECK(hasLine(text, "datawatch_probe_failures_total" + labels + " 0"));
  CHECK(hasLine(text, "datawatch_probe_success" + labels + " 0"));
  CHECK(hasLine(text, "datawatch_probe_error" + labels + " 1"));
  CHECK(hasLine(text, "datawatch_freshness_age_seconds" + labels +
                          " 812"));  // kept from the last measurement
  CHECK(hasLine(text, "datawatch_freshness_newest_timestamp_seconds" + labels + " 1795686388"));
  CHECK(hasLine(text, "datawatch_probe_last_run_timestamp_seconds" + labels + " 1795687200"));
}

TEST_CASE("a reload drops the series of removed probes and keeps the others' counters",
          "[metrics]") {
  Metrics m("x");
  m.setProbes(
      probes("  - {name: a, type: volume, source: db, table: t, min: 1}\n"
             "  - {name: b, type: volume, source: db, table: t, min: 1}\n"));
  ProbeResult r = ProbeResult::pass(5, "rows", "");
  r.probe = "a";
  m.observe(r);
  m.setProbes(probes("  - {name: a, type: volume, source: db, table: t, min: 1}\n"));
  const auto text = m.render();
  CHECK(text.find("probe=\"b\"") == std::string::npos);
  CHECK(
      text.find(
          R"(datawatch_probe_runs_total{owner="",probe="a",probe_type="volume",source="db",target="t"} 1)") !=
      std::string::npos);
  m.setReload(false, *parseTimestamp("2026-11-26T10:00:00Z"));
  CHECK(hasLine(m.render(), "datawatch_config_last_reload_success 0"));
}

TEST_CASE("each probe type exports its own value gauge", "[metrics]") {
  Metrics m("x");
  m.setProbes(
      probes("  - {name: v, type: values, source: db, table: t, column: c, unique: true}\n"
             "  - {name: q, type: sql, source: db, query: \"select 1\", max: 1}\n"
             "  - {name: s, type: schema, source: db, table: t, columns: {id: bigint}}\n"));
  auto result = [](const char* probe, const char* type, double v) {
    ProbeResult r = ProbeResult::fail(v, "", "");
    r.probe = probe;
    r.type = type;
    return r;
  };
  m.observe(result("v", "values", 3));
  m.observe(result("q", "sql", 42.5));
  m.observe(result("s", "schema", 2));
  const auto text = m.render();
  CHECK(hasLine(
      text,
      R"(datawatch_values_violations{owner="",probe="v",probe_type="values",source="db",target="t"} 3)"));
  CHECK(hasLine(
      text,
      R"(datawatch_sql_value{owner="",probe="q",probe_type="sql",source="db",target=""} 42.5)"));
  CHECK(hasLine(
      text,
      R"(datawatch_schema_changes{owner="",probe="s",probe_type="schema",source="db",target="t"} 2)"));
}

TEST_CASE("notification series exist at 0 per notifier and follow deliveries", "[metrics]") {
  auto r = config::loadConfigFromString(
      "notifiers:\n  hook: {type: file, path: a.jsonl}\n  pd: {type: pagerduty, routing_key: k}\n",
      "/t/c.yaml", "", datawatch::testing::envFrom({}));
  REQUIRE(r.ok());
  Metrics m("1.2.3");
  m.setNotifiers(r.config->notifiers);
  auto text = m.render();
  for (const char* n : {"hook", "pd"}) {
    const std::string l = std::string("{notifier=\"") + n + "\"} 0";
    CHECK(hasLine(text, "datawatch_notifications_total" + l));
    CHECK(hasLine(text, "datawatch_notification_failures_total" + l));
    CHECK(hasLine(text, "datawatch_notifications_dropped_total" + l));
  }
  CHECK(hasLine(text, "datawatch_notification_queue_size 0"));
  m.notificationsAttempted("hook", 3);
  m.notificationsFailed("hook", 1);
  m.notificationsDropped("pd", 2);
  m.setNotificationQueue(7);
  text = m.render();
  CHECK(hasLine(text, R"(datawatch_notifications_total{notifier="hook"} 3)"));
  CHECK(hasLine(text, R"(datawatch_notification_failures_total{notifier="hook"} 1)"));
  CHECK(hasLine(text, R"(datawatch_notifications_dropped_total{notifier="pd"} 2)"));
  CHECK(hasLine(text, "datawatch_notification_queue_size 7"));
  // A reload without pd drops its series and keeps hook's counts.
  r.config->notifiers.pop_back();
  m.setNotifiers(r.config->notifiers);
  text = m.render();
  CHECK(text.find(R"(notifier="pd")") == std::string::npos);
  CHECK(hasLine(text, R"(datawatch_notifications_total{notifier="hook"} 3)"));
}

TEST_CASE("datawatch_alert_firing is labelled with the alert id that Alertmanager gets",
          "[metrics]") {
  auto r = config::loadConfigFromString(R"(sources:
  db: {type: sqlite, path: w.db}
probes:
  - {name: orders_fresh, type: freshness, source: db, table: t, column: c, max_age: 1h,
     alert: {after: 1, severity: critical}}
slos:
  - {name: orders-slo, objective: 99.5, window: 28d, probes: [orders_fresh]}
)",
                                        "/t/c.yaml", "", datawatch::testing::envFrom({}));
  REQUIRE(r.ok());
  Metrics m("x");
  m.setAlerts(*r.config);
  const Alert a = firing("probe", "orders_fresh", "critical");
  m.setAlertFiring(a);
  // The label PromQL joins on is the one the Alertmanager notifier sends.
  const std::string id = a.labels().at("alert");
  REQUIRE(id == "probe:orders_fresh:critical");
  auto text = m.render();
  CHECK(hasLine(text, R"(datawatch_alert_firing{alert=")" + id +
                          R"(",kind="probe",probe="orders_fresh",severity="critical"} 1)"));
  CHECK(hasLine(
      text,
      R"(datawatch_alert_firing{alert="slo:orders-slo:page",kind="slo",severity="page",slo="orders-slo"} 0)"));
  CHECK(text.find(R"(alert="orders_fresh")") == std::string::npos);
  CHECK(text.find(R"(alert="orders-slo")") == std::string::npos);
}

namespace {

config::Config sloConfig(const std::string& slos) {
  auto r = config::loadConfigFromString(
      "sources:\n  db: {type: sqlite, path: w.db}\nprobes:\n"
      "  - {name: v, type: volume, source: db, table: t, min: 1}\nslos:\n" +
          slos,
      "/t/c.yaml", "", datawatch::testing::envFrom({}));
  for (const auto& d : r.diagnostics) UNSCOPED_INFO(d.str());
  REQUIRE(r.ok());
  return *r.config;
}

SloStatus sloStatus(const std::string& name, uint64_t events, uint64_t bad) {
  SloStatus st;
  st.name = name;
  st.events_total = events;
  st.bad_events_total = bad;
  st.error_budget_remaining = 0.25;
  st.windows = {{std::chrono::hours(1), {}, 0.5, 100}, {std::chrono::hours(24 * 28), {}, 0.01, 2}};
  return st;
}

}  // namespace

TEST_CASE("SLO series exist per window from the start and follow evaluations across reloads",
          "[metrics]") {
  Metrics m("x");
  const auto cfg = sloConfig(
      "  - {name: s, objective: 99.5, window: 28d, probes: [v]}\n"
      "  - {name: gone, objective: 99, window: 7d, probes: [v]}\n");
  m.setSlos(cfg);
  auto text = m.render();
  CHECK(hasLine(text, R"(datawatch_slo_objective_ratio{slo="s"} 0.995)"));
  CHECK(hasLine(text, R"(datawatch_slo_events_total{slo="s"} 0)"));
  CHECK(hasLine(text, R"(datawatch_slo_error_budget_remaining_ratio{slo="s"} 1)"));
  // Every window the burn-rate table names, and the SLO window.
  for (const auto& r : burnRows(cfg, cfg.slos[0])) {
    CHECK(hasLine(text, R"(datawatch_slo_burn_rate{slo="s",window=")" +
                            formatDuration(r.long_window) + R"("} 0)"));
    CHECK(hasLine(text, R"(datawatch_slo_error_ratio{slo="s",window=")" +
                            formatDuration(r.short_window) + R"("} 0)"));
  }
  CHECK(hasLine(text, R"(datawatch_slo_burn_rate{slo="s",window="28d"} 0)"));

  m.observeSlo(sloStatus("s", 10, 3));
  m.observeSlo(sloStatus("s", 15, 4));  // the counters follow the engine's totals
  m.observeSlo(sloStatus("unknown", 1, 1));
  text = m.render();
  CHECK(hasLine(text, R"(datawatch_slo_events_total{slo="s"} 15)"));
  CHECK(hasLine(text, R"(datawatch_slo_bad_events_total{slo="s"} 4)"));
  CHECK(hasLine(text, R"(datawatch_slo_burn_rate{slo="s",window="1h"} 100)"));
  CHECK(hasLine(text, R"(datawatch_slo_error_ratio{slo="s",window="28d"} 0.01)"));
  CHECK(hasLine(text, R"(datawatch_slo_error_budget_remaining_ratio{slo="s"} 0.25)"));
  CHECK(text.find("unknown") == std::string::npos);

  // A reload with the same windows keeps the counters; a rebuilt engine state
  // (totals from 0 again) counts on from there.
  m.setSlos(sloConfig("  - {name: s, objective: 99, window: 28d, probes: [v]}\n"));
  m.observeSlo(sloStatus("s", 2, 1));
  text = m.render();
  CHECK(hasLine(text, R"(datawatch_slo_objective_ratio{slo="s"} 0.99)"));
  CHECK(hasLine(text, R"(datawatch_slo_events_total{slo="s"} 17)"));
  CHECK(hasLine(text, R"(datawatch_slo_bad_events_total{slo="s"} 5)"));
  CHECK(text.find(R"(slo="gone")") == std::string::npos);
  // Other windows: new series, counters from 0.
  m.setSlos(sloConfig("  - {name: s, objective: 99, window: 7d, probes: [v]}\n"));
  text = m.render();
  CHECK(hasLine(text, R"(datawatch_slo_events_total{slo="s"} 0)"));
  CHECK(hasLine(text, R"(datawatch_slo_burn_rate{slo="s",window="7d"} 0)"));
  CHECK(text.find(R"(window="28d")") == std::string::npos);
}

TEST_CASE("a reload that changes a drift probe's method moves its score to the new label",
          "[metrics]") {
  Metrics m("x");
  m.setProbes(probes("  - {name: d, type: drift, source: db, table: t, column: c, method: psi}\n"));
  ProbeResult r = ProbeResult::pass(0.12, "", "");
  r.probe = "d";
  r.type = "drift";
  m.observe(r);
  CHECK(m.render().find(R"(datawatch_drift_score{method="psi",owner="",probe="d",)") !=
        std::string::npos);
  m.setProbes(probes("  - {name: d, type: drift, source: db, table: t, column: c, method: ks}\n"));
  const auto text = m.render();
  CHECK(text.find(R"(method="psi")") == std::string::npos);
  CHECK(text.find(R"(datawatch_drift_score{method="ks",owner="",probe="d",probe_type="drift",)"
                  R"(source="db",target="t"} 0)") != std::string::npos);
}

TEST_CASE(
    "the HA series appear with the first fleet report and families without series are left out",
    "[metrics]") {
  Metrics m("x");
  auto text = m.render();
  CHECK(text.find("datawatch_ha_") == std::string::npos);
  CHECK(text.find("datawatch_probe_claims_total") == std::string::npos);
  CHECK(text.find("datawatch_probe_success") == std::string::npos);  // no probes: no family
  CHECK(text.find("# TYPE datawatch_alert_firing") == std::string::npos);
  CHECK(hasLine(text, "datawatch_state_store_errors_total 0"));
  m.probeClaims(4);
  m.setHa(false, 2, 9, true);
  m.setHaLeader(true);
  m.stateStoreError();
  m.lineageEventStored("COMPLETE");
  m.lineageEventStored("NOT_A_TYPE");
  text = m.render();
  CHECK(hasLine(text, "datawatch_ha_leader 1"));
  CHECK(hasLine(text, "datawatch_ha_replicas 2"));
  CHECK(hasLine(text, "datawatch_ha_epoch 9"));
  CHECK(hasLine(text, "datawatch_ha_config_mismatch 1"));
  CHECK(hasLine(text, "datawatch_probe_claims_total 4"));
  CHECK(hasLine(text, "datawatch_state_store_errors_total 1"));
  CHECK(hasLine(text, R"(datawatch_lineage_events_total{event_type="COMPLETE"} 1)"));
  CHECK(hasLine(text, R"(datawatch_lineage_events_total{event_type="OTHER"} 0)"));
}

TEST_CASE("every probe series follows its run and a label change restarts the counters",
          "[metrics]") {
  auto r = config::loadConfigFromString(R"(sources:
  db: {type: sqlite, path: w.db}
  events: {type: kafka, brokers: "k:9092"}
probes:
  - {name: lag, type: consumer_lag, source: events, topic: orders.v1, group: loader, max_lag_messages: 100}
  - {name: q, type: sql, source: db, query: "select 1", min: 0, max: 10, owner: a}
)",
                                        "/t/c.yaml", "", datawatch::testing::envFrom({}));
  for (const auto& d : r.diagnostics) UNSCOPED_INFO(d.str());
  REQUIRE(r.ok());
  Metrics m("x");
  m.setProbes(r.config->probes);
  const std::string lag = R"({owner="",probe="lag",probe_type="consumer_lag",source="events",)"
                          R"(target="orders.v1"})";
  ProbeResult l = ProbeResult::fail(250, "messages", "");
  l.probe = "lag";
  l.type = "consumer_lag";
  l.duration_seconds = 0.125;
  l.observed_at = *parseTimestamp("2026-11-26T10:00:00Z");
  l.details["lag_seconds"] = 42.5;
  m.observe(l);
  m.observe(l, false);  // another replica's run: last values, not this replica's counters
  m.addMissedRuns("lag", 3);
  m.addMissedRuns("nobody", 3);
  m.setReload(true, *parseTimestamp("2026-11-26T10:00:00Z"));
  auto text = m.render();
  CHECK(hasLine(text, "datawatch_consumer_lag_messages" + lag + " 250"));
  CHECK(hasLine(text, "datawatch_consumer_lag_seconds" + lag + " 42.5"));
  CHECK(hasLine(text, "datawatch_probe_duration_seconds" + lag + " 0.125"));
  CHECK(hasLine(text, "datawatch_probe_runs_total" + lag + " 1"));
  CHECK(hasLine(text, "datawatch_probe_failures_total" + lag + " 1"));
  CHECK(hasLine(text, "datawatch_probe_missed_runs_total" + lag + " 3"));
  CHECK(hasLine(text, "datawatch_config_last_reload_timestamp_seconds 1795687200"));

  const std::string q = R"({owner="a",probe="q",probe_type="sql",source="db",target=""})";
  ProbeResult v = ProbeResult::pass(5, "", "");
  v.probe = "q";
  v.type = "sql";
  v.threshold = {{"min", 0.0}, {"max", 10.0}};
  m.observe(v);
  ProbeResult e = ProbeResult::error("boom");  // measured nothing: values and bounds stay
  e.probe = "q";
  e.type = "sql";
  m.observe(e);
  text = m.render();
  CHECK(hasLine(text, "datawatch_sql_value" + q + " 5"));
  CHECK(hasLine(
      text,
      R"(datawatch_probe_threshold{bound="min",owner="a",probe="q",probe_type="sql",source="db",target=""} 0)"));
  v.threshold = {{"max", 20.0}};  // the min bound left the config
  m.observe(v);
  text = m.render();
  CHECK(hasLine(
      text,
      R"(datawatch_probe_threshold{bound="max",owner="a",probe="q",probe_type="sql",source="db",target=""} 20)"));
  CHECK(text.find(R"(bound="min")") == std::string::npos);
  CHECK(hasLine(text, "datawatch_probe_runs_total" + q + " 3"));

  // A new owner is a new series: its counters start again.
  auto moved = r.config->probes;
  moved[1].owner = "b";
  m.setProbes(moved);
  text = m.render();
  CHECK(text.find(R"(owner="a")") == std::string::npos);
  CHECK(hasLine(
      text,
      R"(datawatch_probe_runs_total{owner="b",probe="q",probe_type="sql",source="db",target=""} 0)"));
  CHECK(hasLine(text, "datawatch_probe_runs_total" + lag + " 1"));  // unchanged: kept
}

TEST_CASE("alert series keep their state across a reload and leave with their alert", "[metrics]") {
  auto cfg = sloConfig(
      "  - {name: s, objective: 99.5, window: 28d, probes: [v]}\n"
      "  - {name: t, objective: 99.5, window: 28d, probes: [v]}\n");
  Metrics m("x");
  m.setAlerts(cfg);
  m.setAlertFiring(firing("slo", "s", "page"));
  const std::string page =
      R"(datawatch_alert_firing{alert="slo:s:page",kind="slo",severity="page",slo="s"})";
  CHECK(hasLine(m.render(), page + " 1"));
  CHECK(m.render().find(R"(alert="slo:t:page")") != std::string::npos);
  cfg.slos.pop_back();  // t goes
  m.setAlerts(cfg);
  const auto text = m.render();
  CHECK(hasLine(text, page + " 1"));
  CHECK(text.find(R"(slo="t")") == std::string::npos);
}
