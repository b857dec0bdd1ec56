// `datawatch rules` against Prometheus itself: promtool checks the generated
// rules, and `promtool test rules` evaluates them over the same event series the
// engine sees; both must agree on which alerts fire and when.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "slo/prometheus_rules.hpp"
#include "slo/slo_engine.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

namespace {

const char* kConfig = R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: orders_fresh, type: freshness, source: shop, table: orders, column: ts, max_age: 30m, every: 1m}
slos:
  - name: orders-fresh
    objective: 99.5
    window: 28d
    probes: [orders_fresh]
  - name: orders-custom
    objective: 99
    window: 7d
    probes: [orders_fresh]
    alerting:
      min_bad_events: 3
      windows:
        - {severity: page, long: 2h, short: 10m, burn_rate: 5}
        - {severity: ticket, long: 12h, short: 1h, burn_rate: 2}
)";

config::Config loadRulesConfig() {
  auto r = config::loadConfigFromString(kConfig, "rules.yaml", "",
                                        [](const std::string&) { return std::nullopt; });
  for (const auto& d : r.diagnostics) UNSCOPED_INFO(d.str());
  REQUIRE(r.ok());
  return *r.config;
}

std::string promtool() {
  return datawatch::testing::requiredTool(DATAWATCH_PROMTOOL, "promtool");
}

}  // namespace

TEST_CASE("datawatch rules passes promtool check rules", "[rules][prometheus]") {
  datawatch::testing::TempDir dir;
  std::ofstream(dir / "datawatch.yaml") << kConfig;
  auto gen = datawatch::testing::runCommand(
      {DATAWATCH_BINARY, "rules", "-c", (dir / "datawatch.yaml").string()});
  INFO(gen.err);
  REQUIRE(gen.exit_code == 0);
  std::ofstream(dir / "rules.yaml") << gen.out;
  auto check =
      datawatch::testing::runCommand({promtool(), "check", "rules", (dir / "rules.yaml").string()});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
  // 2 SLOs: default table (7 ratio + 4 bad-event records + 2 alerts + 4 period records),
  // custom (4 + 2 + 2 + 4), and one not-reporting alert per probe.
  CHECK_THAT(check.out, Catch::Contains("SUCCESS: 30 rules found"));
  // A broken config is exit 2 with the error, not half a rules file.
  std::ofstream(dir / "bad.yaml") << "slos:\n  - name: x\n    objective: 120\n";
  auto bad = datawatch::testing::runCommand(
      {DATAWATCH_BINARY, "rules", "-c", (dir / "bad.yaml").string()});
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.empty());
}

TEST_CASE("Prometheus evaluating the generated rules agrees with the engine, minute by minute",
          "[rules][prometheus]") {
  const config::Config cfg = loadRulesConfig();
  const std::string rules = prometheusRules(cfg);
  datawatch::testing::TempDir dir;
  std::ofstream(dir / "rules.yaml") << rules;

  // The annotations promtool compares, as generated.
  std::map<std::pair<std::string, std::string>, YAML::Node> annotations;  // (slo, severity)
  for (const auto& g : YAML::Load(rules)["groups"]) {
    for (const auto& r : g["rules"]) {
      if (r["alert"] && r["alert"].as<std::string>() == kSloBurnAlert)
        annotations[{r["labels"]["slo"].as<std::string>(),
                     r["labels"]["severity"].as<std::string>()}] = r["annotations"];
    }
  }
  REQUIRE(annotations.size() == 4);

  // One event a minute for 32 hours: seven good hours; an 8-minute burst (with
  // the 6h window full of good events, only the 1h/5m page row fires); good; a
  // 20-minute burst; good; a leak (every 25th minute bad: the 6h/30m row); good.
  // Sample m of the counters holds events 0..m.
  const int minutes = 32 * 60;
  const std::function<bool(int)> bad = [](int m) {
    return (m >= 420 && m < 428) || (m >= 720 && m < 740) || (m >= 1000 && m < 1300 && m % 25 == 0);
  };
  const TimePoint t0{};  // promtool's clock starts at the Unix epoch
  std::vector<SloState> engines;
  for (const auto& s : cfg.slos) engines.emplace_back(s, std::vector<SloProbe>{});
  std::vector<std::map<int, std::set<std::string>>> breaching(engines.size());
  std::ostringstream events, bad_events;
  uint64_t total = 0, bad_total = 0;
  for (int m = 0; m < minutes; ++m) {
    const bool b = bad(m);
    ++total;
    bad_total += b;
    events << (m ? " " : "") << total;
    bad_events << (m ? " " : "") << bad_total;
    for (size_t i = 0; i < engines.size(); ++i) {
      engines[i].recordEvent(t0 + m * 1min, b);
      breaching[i][m] = engines[i].evaluate(t0 + m * 1min).breaching;
    }
  }
  // Each alert stream (SLO, severity) is compared at every minute after the first
  // hour, except within one evaluation interval (1 minute) of that stream's own
  // transitions in the engine.
  struct Stream {
    size_t slo;
    std::string severity;
    std::set<int> skip;
    int transitions = 0;
    int firing_minutes = 0;
  };
  std::vector<Stream> streams;
  for (size_t i = 0; i < engines.size(); ++i) {
    for (const char* sev : {"page", "ticket"}) {
      Stream st{i, sev, {}};
      for (int m = 1; m < minutes; ++m) {
        const bool on = breaching[i][m].count(sev) > 0;
        st.firing_minutes += on;
        if (on != (breaching[i][m - 1].count(sev) > 0)) {
          ++st.transitions;
          for (int d = -1; d <= 1; ++d) st.skip.insert(m + d);
        }
      }
      streams.push_back(st);
    }
  }
  // The scenario makes every stream fire and resolve.
  int transitions = 0;
  std::set<int> near_transition;  // of any stream
  for (const auto& st : streams) {
    INFO(cfg.slos[st.slo].name << "/" << st.severity);
    CHECK(st.transitions >= 2);
    CHECK(st.firing_minutes > 0);
    transitions += st.transitions;
    near_transition.insert(st.skip.begin(), st.skip.end());
  }

  YAML::Emitter y;
  y << YAML::BeginMap << YAML::Key << "rule_files" << YAML::Value << YAML::BeginSeq
    << (dir / "rules.yaml").string() << YAML::EndSeq;
  y << YAML::Key << "evaluation_interval" << YAML::Value << "1m";
  y << YAML::Key << "tests" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  y << YAML::Key << "interval" << YAML::Value << "1m";
  y << YAML::Key << "input_series" << YAML::Value << YAML::BeginSeq;
  for (const auto& s : cfg.slos) {
    y << YAML::BeginMap << YAML::Key << "series" << YAML::Value
      << "datawatch_slo_events_total{slo=\"" + s.name + "\"}" << YAML::Key << "values"
      << YAML::Value << events.str() << YAML::EndMap;
    y << YAML::BeginMap << YAML::Key << "series" << YAML::Value
      << "datawatch_slo_bad_events_total{slo=\"" + s.name + "\"}" << YAML::Key << "values"
      << YAML::Value << bad_events.str() << YAML::EndMap;
  }
  y << YAML::EndSeq;
  // Per stream: the ALERTS series Prometheus writes for firing alerts.
  y << YAML::Key << "promql_expr_test" << YAML::Value << YAML::BeginSeq;
  int compared = 0;
  for (const auto& st : streams) {
    const std::string labels = "alertname=\"" + std::string(kSloBurnAlert) + "\", slo=\"" +
                               cfg.slos[st.slo].name + "\", severity=\"" + st.severity + "\"";
    for (int m = 60; m < minutes; ++m) {
      if (st.skip.count(m)) continue;
      ++compared;
      y << YAML::BeginMap << YAML::Key << "expr" << YAML::Value << "ALERTS{" + labels + "}";
      y << YAML::Key << "eval_time" << YAML::Value << std::to_string(m) + "m";
      y << YAML::Key << "exp_samples" << YAML::Value << YAML::BeginSeq;
      if (breaching[st.slo][m].count(st.severity)) {
        y << YAML::BeginMap << YAML::Key << "labels" << YAML::Value
          << "ALERTS{" + labels + ", alertstate=\"firing\"}" << YAML::Key << "value" << YAML::Value
          << 1 << YAML::EndMap;
      }
      y << YAML::EndSeq << YAML::EndMap;
    }
  }
  y << YAML::EndSeq;
  // Whole alerts, with their labels and annotations, every 10 minutes away from
  // any transition.
  y << YAML::Key << "alert_rule_test" << YAML::Value << YAML::BeginSeq;
  for (int m = 60; m < minutes; m += 10) {
    if (near_transition.count(m)) continue;
    y << YAML::BeginMap << YAML::Key << "eval_time" << YAML::Value << std::to_string(m) + "m";
    y << YAML::Key << "alertname" << YAML::Value << kSloBurnAlert;
    y << YAML::Key << "exp_alerts" << YAML::Value << YAML::BeginSeq;
    for (size_t i = 0; i < engines.size(); ++i) {
      for (const auto& sev : breaching[i][m]) {
        y << YAML::BeginMap << YAML::Key << "exp_labels" << YAML::Value << YAML::BeginMap
          << YAML::Key << "slo" << YAML::Value << cfg.slos[i].name << YAML::Key << "severity"
          << YAML::Value << sev << YAML::EndMap;
        y << YAML::Key << "exp_annotations" << YAML::Value
          << annotations.at({cfg.slos[i].name, sev}) << YAML::EndMap;
      }
    }
    y << YAML::EndSeq << YAML::EndMap;
  }
  y << YAML::EndSeq << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
  std::ofstream(dir / "test.yaml") << y.c_str();
  CHECK(compared >= 4 * (minutes - 60) - 3 * transitions);

  auto r = datawatch::testing::runCommand(
      {promtool(), "test", "rules", (dir / "test.yaml").string()}, {}, std::chrono::minutes(5));
  // On a disagreement promtool names the eval time and both alert sets.
  INFO(r.out.substr(0, 4000) << r.err.substr(0, 4000));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("SUCCESS"));
}

TEST_CASE("the probe-not-reporting alert fires when runs stop (evaluated by Prometheus)",
          "[rules][prometheus]") {
  const config::Config cfg = loadRulesConfig();
  datawatch::testing::TempDir dir;
  std::ofstream(dir / "rules.yaml") << prometheusRules(cfg);
  // orders_fresh runs every minute until minute 10 (its last-run gauge then stays at
  // 600 s); the limit is max(3 × 1m, 5m) = 5m, held for 5m: true after 900 s
  // (minute 16 on), firing from minute 21. Before the first run the gauge is 0 —
  // like an agent that has just started — which only the `for: 5m` keeps quiet.
  std::string values;
  for (int m = 0; m <= 30; ++m) values += (m ? " " : "") + std::to_string(std::min(m, 10) * 60);
  std::ostringstream y;
  y << "rule_files: ['" << (dir / "rules.yaml").string() << "']\n"
    << "evaluation_interval: 1m\n"
    << "tests:\n"
    << "  - interval: 1m\n"
    << "    input_series:\n"
    << "      - series: 'datawatch_probe_last_run_timestamp_seconds{probe=\"orders_fresh\"}'\n"
    << "        values: '" << values << "'\n"
    << "    alert_rule_test:\n";
  const std::string annotation =
      "Probe orders_fresh has not reported for more than 5m (it runs every 1m)";
  for (int m : {3, 15, 20}) {
    y << "      - {eval_time: " << m << "m, alertname: " << kProbeNotReportingAlert
      << ", exp_alerts: []}\n";
  }
  for (int m : {21, 30}) {
    y << "      - eval_time: " << m << "m\n"
      << "        alertname: " << kProbeNotReportingAlert << "\n"
      << "        exp_alerts:\n"
      << "          - exp_labels: {probe: orders_fresh, severity: ticket}\n"
      << "            exp_annotations: {summary: '" << annotation << "'}\n";
  }
  std::ofstream(dir / "test.yaml") << y.str();
  auto r =
      datawatch::testing::runCommand({promtool(), "test", "rules", (dir / "test.yaml").string()});
  INFO(y.str() << r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("SUCCESS"));
}

TEST_CASE("the generated rules hold through a continuous outage at a 5-minute cadence",
          "[rules][prometheus][flap]") {
  // Issue 15: `increase` over a range with no counter step is 0 / 0 — no sample —
  // and the burn-rate alert resolved in the middle of an outage. A probe every 5
  // minutes whose runs land up to 25 s either side of second 40 (run time varies),
  // scraped every minute: two steps can be 6 scrapes apart, which a 5m range misses.
  // Two hours good, then four hours of failures: once firing, the page alert of
  // both SLOs fires at every evaluation until the end.
  const char* config = R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: fresh, type: freshness, source: shop, table: orders, column: ts, max_age: 30m, every: 5m}
slos:
  - {name: hour, objective: 90, window: 1h, probes: [fresh]}
  - {name: month, objective: 99.5, window: 28d, probes: [fresh]}
)";
  auto loaded = config::loadConfigFromString(config, "rules.yaml", "",
                                             [](const std::string&) { return std::nullopt; });
  REQUIRE(loaded.ok());
  datawatch::testing::TempDir dir;
  const std::string rules = prometheusRules(*loaded.config);
  std::ofstream(dir / "rules.yaml") << rules;

  const int minutes = 6 * 60, outage = 120;
  std::vector<int> run_s;  // run times, seconds
  for (int k = 0; k * 300 < minutes * 60; ++k) run_s.push_back(k * 300 + 40 + (k * 37 % 51) - 25);
  std::ostringstream events, bad_events;
  int gaps_of_6 = 0, last_step = -1;
  for (int m = 0; m < minutes; ++m) {
    int total = 0, bad = 0;
    for (int s : run_s) {
      if (s > m * 60) break;
      ++total;
      bad += s >= outage * 60;
    }
    events << (m ? " " : "") << total;
    bad_events << (m ? " " : "") << bad;
    if (m > 0 && total != std::count_if(run_s.begin(), run_s.end(),
                                        [&](int s) { return s <= (m - 1) * 60; })) {
      gaps_of_6 += last_step >= 0 && m - last_step == 6;
      last_step = m;
    }
  }
  REQUIRE(gaps_of_6 > 5);  // the scenario has scrapes 6 minutes apart between steps

  std::ostringstream y;
  y << "rule_files: ['" << (dir / "rules.yaml").string() << "']\n"
    << "evaluation_interval: 1m\n"
    << "tests:\n"
    << "  - interval: 1m\n"
    << "    input_series:\n";
  for (const char* slo : {"hour", "month"}) {
    y << "      - {series: 'datawatch_slo_events_total{slo=\"" << slo << "\"}', values: '"
      << events.str() << "'}\n"
      << "      - {series: 'datawatch_slo_bad_events_total{slo=\"" << slo << "\"}', values: '"
      << bad_events.str() << "'}\n";
  }
  y << "    promql_expr_test:\n";
  int compared = 0;
  for (const char* slo : {"hour", "month"}) {
    const std::string labels =
        std::string("alertname=\"") + kSloBurnAlert + "\", slo=\"" + slo + "\", severity=\"page\"";
    for (int m = outage + 20; m < minutes; ++m) {
      y << "      - expr: 'ALERTS{" << labels << "}'\n"
        << "        eval_time: " << m << "m\n"
        << "        exp_samples:\n"
        << "          - {labels: 'ALERTS{" << labels << ", alertstate=\"firing\"}', value: 1}\n";
      ++compared;
    }
  }
  std::ofstream(dir / "test.yaml") << y.str();
  CHECK(compared == 2 * (minutes - outage - 20));
  auto r = datawatch::testing::runCommand(
      {promtool(), "test", "rules", (dir / "test.yaml").string()}, {}, std::chrono::minutes(5));
  INFO(rules << r.out.substr(0, 3000) << r.err.substr(0, 3000));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("SUCCESS"));
  // The short window of the 1h/5m row is two probe intervals.
  CHECK(rules.find("slo:sli_error:ratio_rate10m") != std::string::npos);
  CHECK(rules.find("slo:sli_error:ratio_rate5m") == std::string::npos);
}

TEST_CASE("the generated rules count each event once with two replicas scraped",
          "[rules][prometheus][ha]") {
  // With agent.state on PostgreSQL every replica follows the shared run feed, so
  // each replica's datawatch_slo_*events_total counts every event of the fleet
  // from its start. Replicas a and b run from minute 0; b is replaced by c at
  // minute 30 (a rolling update: c counts from 0). SLO `single` sees one bad event
  // at minute 60, `double` two (60 and 65); min_bad_events is 2. Summed over the
  // replicas, `single` would hold 2 bad events and page: it must not.
  const char* config = R"(
sources:
  shop: {type: sqlite, path: /nonexistent.db}
probes:
  - {name: fresh, type: freshness, source: shop, table: orders, column: ts, max_age: 30m, every: 5m}
slos:
  - {name: single, objective: 90, window: 1h, probes: [fresh]}
  - {name: double, objective: 90, window: 1h, probes: [fresh]}
)";
  auto loaded = config::loadConfigFromString(config, "rules.yaml", "",
                                             [](const std::string&) { return std::nullopt; });
  REQUIRE(loaded.ok());
  datawatch::testing::TempDir dir;
  const std::string rules = prometheusRules(*loaded.config);
  std::ofstream(dir / "rules.yaml") << rules;

  const int minutes = 120;
  const auto events = [](int m) { return m / 5 + 1; };
  const std::map<std::string, std::function<int(int)>> bad = {
      {"single", [](int m) { return m >= 60 ? 1 : 0; }},
      {"double", [](int m) { return (m >= 60 ? 1 : 0) + (m >= 65 ? 1 : 0); }}};
  // One replica's samples: from `from` (counting from 0 there) until `to` (then stale).
  const auto series = [&](const std::function<int(int)>& f, int from, int to) {
    std::string v;
    for (int m = 0; m < minutes; ++m) {
      v += m ? " " : "";
      if (m < from)
        v += "_";
      else if (m == to)
        v += "stale";
      else if (m > to)
        v += "_";
      else
        v += std::to_string(f(m) - (from ? f(from - 1) : 0));
    }
    return v;
  };
  std::ostringstream y;
  y << "rule_files: ['" << (dir / "rules.yaml").string() << "']\n"
    << "evaluation_interval: 1m\n"
    << "tests:\n"
    << "  - interval: 1m\n"
    << "    input_series:\n";
  for (const auto& [slo, f] : bad) {
    for (const auto& [inst, from, to] : std::vector<std::tuple<std::string, int, int>>{
             {"a", 0, minutes}, {"b", 0, 30}, {"c", 30, minutes}}) {
      const std::string labels = "{slo=\"" + slo + "\", instance=\"" + inst + "\"}";
      y << "      - {series: 'datawatch_slo_events_total" << labels << "', values: '"
        << series(events, from, to) << "'}\n"
        << "      - {series: 'datawatch_slo_bad_events_total" << labels << "', values: '"
        << series(f, from, to) << "'}\n";
    }
  }
  y << "    promql_expr_test:\n";
  for (int m = 61; m < minutes; m += 3) {
    y << "      - {expr: 'ALERTS{slo=\"single\"}', eval_time: " << m << "m, exp_samples: []}\n";
  }
  for (int m : {70, 80, 100}) {
    // One bad event, not two (nor the sum over a, b and c).
    y << "      - expr: 'round(slo:sli_bad_events:increase1h{slo=\"single\"})'\n"
      << "        eval_time: " << m << "m\n"
      << "        exp_samples: [{labels: '{slo=\"single\"}', value: 1}]\n";
  }
  // Two bad events page while the short window (10m) holds one of them.
  for (int m : {66, 68, 70}) {
    y << "      - expr: 'ALERTS{slo=\"double\", severity=\"page\"}'\n"
      << "        eval_time: " << m << "m\n"
      << "        exp_samples: [{labels: 'ALERTS{alertname=\"" << kSloBurnAlert
      << "\", alertstate=\"firing\", slo=\"double\", severity=\"page\"}', value: 1}]\n";
  }
  // Events of the fleet over an hour: 12 (one every 5 minutes), not 24.
  for (int m : {90, 110}) {
    y << "      - expr: 'round(sum(increase(datawatch_slo_events_total{slo=\"single\"}[1h])) / "
         "count(datawatch_slo_events_total{slo=\"single\"}))'\n"
      << "        eval_time: " << m << "m\n"
      << "        exp_samples: [{labels: '{}', value: 12}]\n";
  }
  std::ofstream(dir / "test.yaml") << y.str();
  auto r =
      datawatch::testing::runCommand({promtool(), "test", "rules", (dir / "test.yaml").string()});
  INFO(r.out.substr(0, 4000) << r.err.substr(0, 4000));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("SUCCESS"));
}
