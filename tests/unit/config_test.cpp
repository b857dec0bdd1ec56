#include <catch2/catch.hpp>

#include "config/loader.hpp"
#include "core/time_format.hpp"
#include "tests/support/test_support.hpp"
#include "tests/unit/config_test_support.hpp"

using namespace datawatch;
using namespace datawatch::config;
using namespace std::chrono_literals;
using datawatch::testing::allErrors;
using datawatch::testing::envFrom;
using datawatch::testing::kPrelude;
using datawatch::testing::loadTestYaml;

namespace {

// SPEC §2's example, whole.
const char* kFullExample = R"(agent:
  listen: 0.0.0.0:9464
  state: sqlite://./datawatch-state.db
  retention: 35d
  api_token: ${DATAWATCH_API_TOKEN}
  postmortems: {dir: ./postmortems, template: null, dashboard_url: null}
  default_notify: [oncall-slack]

sources:
  warehouse: {type: postgres, dsn: "${WAREHOUSE_DSN}", max_connections: 4, statement_timeout: 30s}
  local:     {type: sqlite, path: ./warehouse.db}
  events:    {type: kafka, brokers: "kafka:9092", properties: {security.protocol: SASL_SSL}}

probes:
  - name: orders_fresh
    type: freshness
    source: warehouse
    table: shop.orders
    column: updated_at
    max_age: 1h
    every: 5m
    owner: team-billing
    consumers: [finance-dashboard, churn-model]
    upstream: [raw_orders_fresh]
  - {name: raw_orders_fresh, type: freshness, source: local, table: raw_orders, column: loaded_at, max_age: 30m,
     alert: {after: 3, severity: warning, notify: [team-webhook]}}
  - {name: daily_revenue_fresh, type: freshness, source: warehouse, table: mart.daily_revenue,
     column: loaded_at, schedule: "0 6 * * *", grace: 2h}
  - {name: orders_volume, type: volume, source: warehouse, table: shop.orders,
     column: created_at, window: 1d, min: 1000,
     anomaly: {sensitivity: 3, training: 14d, seasonality: day_of_week}}
  - {name: orders_amount_drift, type: drift, source: warehouse, table: shop.orders,
     column: amount, time_column: created_at, window: 1d,
     method: psi, threshold: 0.2, bins: 20,
     baseline: {window: 7d, lag: 7d}, sample_rows: 100000}
  - {name: orders_contract, type: schema, source: warehouse, table: shop.orders,
     columns: {id: bigint, amount: numeric, status: text}, allow_extra_columns: true}
  - {name: orders_status, type: values, source: warehouse, table: shop.orders,
     column: status, accepted: [pending, paid, refunded], max_null_ratio: 0.01,
     time_column: created_at, window: 1d}
  - {name: negative_amounts, type: sql, source: warehouse,
     query: "select count(*) from shop.orders where amount < 0", max: 0}
  - {name: orders_topic_fresh, type: freshness, source: events, topic: orders.v1, max_age: 5m}
  - {name: loader_lag, type: consumer_lag, source: events, topic: orders.v1,
     group: billing-loader, max_lag_messages: 10000, max_lag_seconds: 600}

slos:
  - name: orders-fresh
    objective: 99.5
    window: 28d
    probes: [orders_fresh, orders_volume]
    budgeting: occurrences
    errors: bad
    alerting:
      page:   {notify: [oncall-slack, pagerduty]}
      ticket: {notify: [team-webhook]}

notifiers:
  oncall-slack: {type: slack, webhook_url: "${SLACK_WEBHOOK_URL}", mention: "<!subteam^S0123>"}
  team-webhook: {type: webhook, url: "https://hooks.example.com/dw", secret: "${WEBHOOK_SECRET}",
                 format: datawatch}
  pagerduty:    {type: pagerduty, routing_key: "${PD_ROUTING_KEY}"}
  alertmanager: {type: alertmanager, url: "http://alertmanager:9093"}
  local-log:    {type: file, path: ./alerts.jsonl}

silences:
  - {match: {slo: orders-fresh}, until: "2026-12-01T00:00:00Z", reason: "backfill"}

environments:
  staging: {sources: {warehouse: {dsn: "${STAGING_DSN}"}}, agent: {default_notify: [local-log]}}
)";

std::map<std::string, std::string> fullEnv() {
  return {{"DATAWATCH_API_TOKEN", "tok-123456"},
          {"WAREHOUSE_DSN", "postgres://dw:hunter22@db:5432/shop"},
          {"SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T1/B2/abcdef"},
          {"WEBHOOK_SECRET", "whsec-987654"},
          {"PD_ROUTING_KEY", "pdkey-555555"},
          {"STAGING_DSN", "postgres://dw:stagingpw@staging-db/shop"}};
}

LoadResult load(const std::string& yaml, const std::string& env = "",
                std::map<std::string, std::string> vars = fullEnv()) {
  return loadTestYaml(yaml, env, std::move(vars));
}

}  // namespace

TEST_CASE("the full SPEC example parses into typed config", "[config]") {
  auto r = load(kFullExample);
  INFO(allErrors(r));
  REQUIRE(r.ok());
  const Config& c = *r.config;
  CHECK(c.agent.listen == "0.0.0.0:9464");
  CHECK(c.agent.state ==
        "sqlite:///etc/datawatch/datawatch-state.db");  // relative to the file's folder
  CHECK(c.agent.retention == 35 * 24h);
  CHECK(c.agent.api_token == "tok-123456");
  CHECK(c.agent.postmortems.dir == "/etc/datawatch/postmortems");
  CHECK_FALSE(c.agent.postmortems.template_path);
  CHECK(c.agent.default_notify == std::vector<std::string>{"oncall-slack"});

  REQUIRE(c.sources.size() == 3);
  const auto* wh = c.findSource("warehouse");
  REQUIRE(wh);
  CHECK(wh->type == SourceType::Postgres);
  CHECK(std::get<PostgresSourceConfig>(wh->spec).dsn == "postgres://dw:hunter22@db:5432/shop");
  CHECK(wh->max_connections == 4);
  CHECK(std::get<SqliteSourceConfig>(c.findSource("local")->spec).path ==
        "/etc/datawatch/warehouse.db");
  CHECK(std::get<KafkaSourceConfig>(c.findSource("events")->spec)
            .properties.at("security.protocol") == "SASL_SSL");

  REQUIRE(c.probes.size() == 10);
  const auto* f = c.findProbe("orders_fresh");
  REQUIRE(f);
  CHECK(f->type == ProbeType::Freshness);
  CHECK(f->table == "shop.orders");
  CHECK(f->every == 5min);
  CHECK(f->timeout == 30s);
  CHECK(f->owner == "team-billing");
  CHECK(f->consumers == std::vector<std::string>{"finance-dashboard", "churn-model"});
  CHECK(f->upstream == std::vector<std::string>{"raw_orders_fresh"});
  CHECK(std::get<FreshnessSpec>(f->spec).max_age == 1h);
  CHECK(f->loc.line == 15);

  const auto& raw = *c.findProbe("raw_orders_fresh");
  REQUIRE(raw.alert);
  CHECK(raw.alert->after == 3);
  CHECK(raw.alert->notify == std::vector<std::string>{"team-webhook"});

  const auto& daily = std::get<FreshnessSpec>(c.findProbe("daily_revenue_fresh")->spec);
  REQUIRE(daily.schedule);
  CHECK(daily.schedule->text() == "0 6 * * *");
  CHECK(daily.grace == 2h);

  const auto& vol = std::get<VolumeSpec>(c.findProbe("orders_volume")->spec);
  CHECK(vol.window == 24h);
  CHECK(vol.min == 1000);
  REQUIRE(vol.anomaly);
  CHECK(vol.anomaly->seasonality == Seasonality::DayOfWeek);
  CHECK(vol.anomaly->training == 14 * 24h);

  const auto& drift = std::get<DriftSpec>(c.findProbe("orders_amount_drift")->spec);
  CHECK(drift.method == DriftMethod::Psi);
  CHECK(drift.bins == 20);
  CHECK(drift.baseline.lag == 7 * 24h);
  CHECK_FALSE(drift.baseline.pinned);
  CHECK(drift.sample_rows == 100000);

  const auto& schema = std::get<SchemaSpec>(c.findProbe("orders_contract")->spec);
  REQUIRE(schema.columns.size() == 3);
  CHECK(schema.columns[1] == std::pair<std::string, std::string>{"amount", "numeric"});
  CHECK(schema.allow_extra_columns);

  const auto& values = std::get<ValuesSpec>(c.findProbe("orders_status")->spec);
  CHECK(values.accepted.size() == 3);
  CHECK(values.max_null_ratio == Approx(0.01));

  CHECK(std::get<SqlSpec>(c.findProbe("negative_amounts")->spec).max == 0);
  CHECK(c.findProbe("orders_topic_fresh")->topic == "orders.v1");
  const auto& lag = std::get<ConsumerLagSpec>(c.findProbe("loader_lag")->spec);
  CHECK(lag.group == "billing-loader");
  CHECK(lag.max_lag_messages == 10000);
  CHECK(lag.max_lag_seconds == 600s);

  REQUIRE(c.slos.size() == 1);
  CHECK(c.slos[0].objective == 99.5);
  CHECK(c.slos[0].window == 28 * 24h);
  CHECK(c.slos[0].alerting.page_notify == std::vector<std::string>{"oncall-slack", "pagerduty"});
  CHECK(c.slos[0].alerting.min_bad_events == 2);

  REQUIRE(c.notifiers.size() == 5);
  CHECK(std::get<SlackNotifierConfig>(c.findNotifier("oncall-slack")->spec).group_wait == 30s);
  CHECK(std::get<WebhookNotifierConfig>(c.findNotifier("team-webhook")->spec).secret ==
        "whsec-987654");
  CHECK(std::get<PagerdutyNotifierConfig>(c.findNotifier("pagerduty")->spec).url ==
        "https://events.pagerduty.com");
  CHECK(c.findNotifier("oncall-slack")->repeat_interval == 4h);

  REQUIRE(c.silences.size() == 1);
  CHECK(c.silences[0].match.at("slo") == "orders-fresh");
  CHECK(formatRfc3339(c.silences[0].until) == "2026-12-01T00:00:00Z");
  CHECK(c.environments == std::vector<std::string>{"staging"});

  // Secrets are known to the redactor: the DSN password, tokens, webhook URL.
  auto has = [&](const std::string& s) {
    return std::find(c.secrets.begin(), c.secrets.end(), s) != c.secrets.end();
  };
  CHECK(has("hunter22"));
  CHECK(has("tok-123456"));
  CHECK(has("whsec-987654"));
  CHECK(has("pdkey-555555"));
  CHECK(has("https://hooks.slack.com/services/T1/B2/abcdef"));
  CHECK_FALSE(has("kafka:9092"));
}

TEST_CASE("an environment overlay replaces what it names and keeps the rest", "[config][env]") {
  auto r = load(kFullExample, "staging");
  INFO(allErrors(r));
  REQUIRE(r.ok());
  const auto* wh = r.config->findSource("warehouse");
  CHECK(std::get<PostgresSourceConfig>(wh->spec).dsn == "postgres://dw:stagingpw@staging-db/shop");
  CHECK(wh->max_connections == 4);  // not overridden: kept
  CHECK(r.config->agent.default_notify == std::vector<std::string>{"local-log"});
  CHECK(r.config->environment == "staging");

  auto missing = load(kFullExample, "prod");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(allErrors(missing),
             Catch::Contains("environment \"prod\" is not defined (defined: staging)"));
}

TEST_CASE("environment variables expand, and a missing one is named", "[config][env]") {
  auto vars = fullEnv();
  vars.erase("PD_ROUTING_KEY");
  auto r = load(kFullExample, "", vars);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].message == "environment variable PD_ROUTING_KEY is not set");
  CHECK(r.diagnostics[0].loc.line == 62);

  auto defaults = load("agent: {listen: \"127.0.0.1:${PORT:-9999}\"}\n", "", {});
  REQUIRE(defaults.ok());
  CHECK(defaults.config->agent.listen == "127.0.0.1:9999");
  auto escaped = load("probes: []\nagent: {api_token: \"$${NOT_A_VAR}\"}\n", "", {});
  REQUIRE(escaped.ok());
  CHECK(escaped.config->agent.api_token == "${NOT_A_VAR}");
}

TEST_CASE("several files and directories merge, duplicates are errors", "[config][merge]") {
  datawatch::testing::TempDir dir;
  datawatch::testing::writeFile(
      dir / "conf.d/10-sources.yaml",
      "sources:\n  local: {type: sqlite, path: ./data/w.db}\nagent:\n  retention: 7d\n");
  datawatch::testing::writeFile(dir / "conf.d/20-probes.yml",
                                "probes:\n  - {name: a_fresh, type: freshness, source: local, "
                                "table: a, column: t, max_age: 1h}\n");
  datawatch::testing::writeFile(dir / "conf.d/notes.txt", "not yaml: [");
  datawatch::testing::writeFile(
      dir / "extra.yaml",
      "probes:\n  - {name: b_volume, type: volume, source: local, table: b, min: 1}\n");
  LoadOptions lo;
  lo.paths = {(dir / "conf.d").string(), (dir / "extra.yaml").string()};
  lo.env = envFrom({});
  auto r = loadConfig(lo);
  INFO(allErrors(r));
  REQUIRE(r.ok());
  CHECK(r.config->probes.size() == 2);
  CHECK(r.config->files.size() == 3);
  CHECK(r.config->agent.retention == 7 * 24h);
  // Relative paths resolve against the folder of the file that names them.
  CHECK(std::get<SqliteSourceConfig>(r.config->sources[0].spec).path ==
        (dir / "conf.d/data/w.db").lexically_normal());

  datawatch::testing::writeFile(
      dir / "dup.yaml",
      "sources:\n  local: {type: sqlite, path: x.db}\nprobes:\n"
      "  - {name: a_fresh, type: freshness, source: local, table: a, column: t, max_age: 1h}\n"
      "agent:\n  retention: 1d\n");
  lo.paths.push_back((dir / "dup.yaml").string());
  auto d = loadConfig(lo);
  REQUIRE_FALSE(d.ok());
  const std::string errs = allErrors(d);
  CHECK_THAT(errs, Catch::Contains("dup.yaml:2:3: duplicate source \"local\" (first defined at"));
  CHECK_THAT(errs, Catch::Contains("dup.yaml:4:5: duplicate probe name \"a_fresh\""));
  CHECK_THAT(errs, Catch::Contains("dup.yaml:6:3: agent.retention is set twice"));

  lo.paths = {(dir / "nope.yaml").string()};
  auto missing = loadConfig(lo);
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(allErrors(missing), Catch::Contains("nope.yaml: no such file or directory"));
}

TEST_CASE("GitHub annotations carry file, line and column", "[config]") {
  auto r = load("probes:\n  - {name: x, type: freshnes, source: s}\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.diagnostics[0].github() ==
        "::error file=/etc/datawatch/test.yaml,line=2,col=21::probe \"x\": unknown probe type "
        "\"freshnes\" (expected "
        "freshness, volume, drift, schema, values, sql, consumer_lag or job) (did you mean "
        "\"freshness\"?)");
}

namespace {

struct BrokenCase {
  const char* name;
  const char* yaml;
  int line;
  const char* message;
};

// Every case is a complete config that is wrong in one way; the loader must name
// the problem and its line. (Sources used by the probes are declared in kPrelude.)

const BrokenCase kBroken[] = {
    {"yaml syntax", "probes: [ {name: a\n", 7, "YAML syntax error"},
    {"top-level typo", "probs: []\n", 6,
     "unknown top-level key \"probs\" (did you mean \"probes\"?)"},
    {"agent typo", "agent: {retension: 7d}\n", 6,
     "unknown key \"retension\" in agent (did you mean \"retention\"?)"},
    {"bad listen", "agent: {listen: \"localhost\"}\n", 6, "agent.listen must be HOST:PORT"},
    {"bad state url", "agent: {state: \"mysql://x\"}\n", 6,
     "agent.state must start with sqlite:// or postgres://"},
    {"retention too short", "agent: {retention: 5m}\n", 6, "retention must be at least 1h"},
    {"default_notify unknown", "agent: {default_notify: [opz]}\n", 6,
     "notifies \"opz\", which is not a defined notifier (did you mean \"ops\"?)"},
    {"probe missing name",
     "probes:\n  - {type: freshness, source: db, table: t, column: c, max_age: 1h}\n", 7,
     "missing required key \"name\""},
    {"probe bad name",
     "probes:\n  - {name: Orders-Fresh, type: freshness, source: db, table: t, column: c, max_age: "
     "1h}\n",
     7, "must match [a-z0-9_]+"},
    {"probe unknown type", "probes:\n  - {name: p, type: freshnes, source: db, table: t}\n", 7,
     "unknown probe type \"freshnes\""},
    {"probe unknown source",
     "probes:\n  - {name: p, type: freshness, source: dbb, table: t, column: c, max_age: 1h}\n", 7,
     "source \"dbb\" is not defined (did you mean \"db\"?)"},
    {"freshness without column",
     "probes:\n  - {name: p, type: freshness, source: db, table: t, max_age: 1h}\n", 7,
     "missing required key \"column\""},
    {"freshness without threshold",
     "probes:\n  - {name: p, type: freshness, source: db, table: t, column: c}\n", 7,
     "freshness needs max_age, schedule"},
    {"bad duration",
     "probes:\n  - {name: p, type: freshness, source: db, table: t, column: c, max_age: 1hour}\n",
     7, "max_age: invalid duration \"1hour\""},
    {"bad cron",
     "probes:\n  - {name: p, type: freshness, source: db, table: t, column: c, schedule: \"0 25 * "
     "* *\"}\n",
     7, "hour \"25\" out of range"},
    {"grace without schedule",
     "probes:\n  - {name: p, type: freshness, source: db, table: t, column: c, max_age: 1h, grace: "
     "1h}\n",
     7, "grace applies only with a schedule"},
    {"key of another type",
     "probes:\n  - {name: p, type: volume, source: db, table: t, min: 1, max_age: 1h}\n", 7,
     "\"max_age\" is not valid in probe \"p\" (it belongs to freshness probes)"},
    {"unknown probe key",
     "probes:\n  - {name: p, type: volume, source: db, table: t, mni: 1, min: 2}\n", 7,
     "unknown key \"mni\" in probe \"p\" (did you mean \"min\"?)"},
    {"volume checks nothing", "probes:\n  - {name: p, type: volume, source: db, table: t}\n", 7,
     "checks nothing: set at least one of min, max, max_change, anomaly"},
    {"min above max",
     "probes:\n  - {name: p, type: volume, source: db, table: t, min: 10, max: 5}\n", 7,
     "min is greater than max"},
    {"number expected", "probes:\n  - {name: p, type: volume, source: db, table: t, min: lots}\n",
     7, "min must be a number, got \"lots\""},
    {"table on kafka",
     "probes:\n  - {name: p, type: freshness, source: events, table: t, column: c, max_age: 1h}\n",
     7, "table needs a SQL source (postgres, sqlite or odbc); source \"events\" is kafka"},
    {"topic on sql", "probes:\n  - {name: p, type: freshness, source: db, topic: t, max_age: 1h}\n",
     7, "topic needs a kafka source; source \"db\" is sqlite"},
    {"consumer_lag on sql",
     "probes:\n  - {name: p, type: consumer_lag, source: db, topic: t, group: g, max_lag_messages: "
     "5}\n",
     7, "topic needs a kafka source"},
    {"sql two statements",
     "probes:\n  - {name: p, type: sql, source: db, query: \"select 1; drop table t\", max: 1}\n",
     7, "query must be a single statement"},
    {"drift bad method",
     "probes:\n  - {name: p, type: drift, source: db, table: t, column: c, method: kl}\n", 7,
     "method must be psi, ks, js, wasserstein or chi2"},
    {"drift chi2 threshold is a p-value",
     "probes:\n  - {name: p, type: drift, source: db, table: t, column: c, method: chi2, "
     "threshold: 5}\n",
     7, "a chi2 threshold is a significance level on the p-value, in (0, 1)"},
    {"drift bins range",
     "probes:\n  - {name: p, type: drift, source: db, table: t, column: c, bins: 1}\n", 7,
     "bins must be between 2 and 1000"},
    {"values ratio range",
     "probes:\n  - {name: p, type: values, source: db, table: t, column: c, max_null_ratio: 1.5}\n",
     7, "max_null_ratio must be between 0 and 1"},
    {"values window needs time column",
     "probes:\n  - {name: p, type: values, source: db, table: t, column: c, unique: true, window: "
     "1d}\n",
     7, "window needs time_column"},
    {"schema columns empty",
     "probes:\n  - {name: p, type: schema, source: db, table: t, columns: {}}\n", 7,
     "columns must be a non-empty map"},
    {"every too short",
     "probes:\n  - {name: p, type: volume, source: db, table: t, min: 1, every: 10ms}\n", 7,
     "every must be at least 1s"},
    {"upstream unknown",
     "probes:\n  - {name: p, type: volume, source: db, table: t, min: 1, upstream: [q]}\n", 7,
     "upstream probe \"q\" is not defined"},
    {"upstream cycle",
     "probes:\n  - {name: p, type: volume, source: db, table: t, min: 1, upstream: [q]}\n  - "
     "{name: q, type: volume, source: db, table: t, min: 1, upstream: [p]}\n",
     7, "upstream lineage forms a cycle"},
    {"alert severity",
     "probes:\n  - {name: p, type: volume, source: db, table: t, min: 1, alert: {severity: "
     "urgent}}\n",
     7, "alert severity \"urgent\" must be one of"},
    {"slo objective 100",
     "probes:\n  - {name: p, type: volume, source: db, table: t, min: 1}\nslos:\n  - {name: s, "
     "objective: 100, probes: [p]}\n",
     9, "objective is a percentage strictly between 0 and 100"},
    {"slo unknown probe",
     "probes:\n  - {name: p, type: volume, source: db, table: t, min: 1}\nslos:\n  - {name: s, "
     "objective: 99, probes: [pp]}\n",
     9, "probe \"pp\" is not defined (did you mean \"p\"?)"},
    {"slo budgeting",
     "probes:\n  - {name: p, type: volume, source: db, table: t, min: 1}\nslos:\n  - {name: s, "
     "objective: 99, probes: [p], budgeting: slices}\n",
     9, "budgeting must be occurrences or timeslices"},
    {"slo window order",
     "probes:\n  - {name: p, type: volume, source: db, table: t, min: 1}\nslos:\n  - {name: s, "
     "objective: 99, probes: [p], alerting: {windows: [{severity: page, long: 5m, short: 1h, "
     "burn_rate: 10}]}}\n",
     9, "the short window must be shorter than the long window"},
    {"silence bad until", "silences:\n  - {match: {slo: x}, until: \"next tuesday\"}\n", 7,
     "until must be an RFC 3339 time"},
    {"silence without match", "silences:\n  - {until: \"2026-12-01T00:00:00Z\"}\n", 7,
     "missing required key \"match\""},
    {"list expected", "probes: {name: p}\n", 6, "probes must be a list"},
    {"map expected", "probes:\n  - just-a-string\n", 7, "probe must be a map, got a scalar"},
    {"estimate on sqlite",
     "probes:\n  - {name: p, type: volume, source: db, table: t, method: estimate, min: 1}\n", 7,
     "method estimate needs catalog statistics, which sqlite does not keep"},
    {"estimate with column",
     "probes:\n  - {name: p, type: volume, source: db, table: t, method: estimate, column: c, "
     "window: 1h, min: 1}\n",
     7, "it takes no column, window or filter"},
    {"timezone by name",
     "probes:\n  - {name: p, type: freshness, source: db, table: t, column: c, schedule: \"0 6 * * "
     "*\", timezone: Mars/Olympus}\n",
     7, "unknown time zone \"Mars/Olympus\""},
};

}  // namespace

TEST_CASE("broken configs are reported with file, line and message", "[config][broken]") {
  int checked = 0;
  for (const auto& bc : kBroken) {
    if (std::string(bc.message).empty()) continue;
    DYNAMIC_SECTION(bc.name) {
      auto r = load(std::string(kPrelude) + bc.yaml);
      INFO(allErrors(r));
      REQUIRE_FALSE(r.ok());
      bool found = false;
      for (const auto& d : r.diagnostics) {
        found = found || (d.message.find(bc.message) != std::string::npos &&
                          d.loc.line == bc.line && d.loc.file == "/etc/datawatch/test.yaml");
      }
      CHECK(found);
    }
    ++checked;
  }
  CHECK(checked >= 30);
}

TEST_CASE("source and notifier errors name the entry and the fix", "[config][broken]") {
  auto r = load(
      "sources:\n"
      "  a: {type: mysql}\n"
      "  b: {type: sqlite}\n"
      "  c: {type: postgres, dsn: \"postgres://x\", path: ./y.db}\n"
      "notifiers:\n"
      "  s: {type: slack}\n"
      "  w: {type: webhook, url: \"ftp://x\", format: prometheus}\n"
      "  p: {type: pagerduty}\n"
      "  x: {type: sms}\n");
  REQUIRE_FALSE(r.ok());
  const auto e = allErrors(r);
  CHECK_THAT(e,
             Catch::Contains(
                 "test.yaml:2:13: unknown source type \"mysql\": mysql is reached over ODBC: type: "
                 "odbc, dialect: mysql"));
  CHECK_THAT(e, Catch::Contains("test.yaml:3:6: source \"b\": missing required key \"path\""));
  CHECK_THAT(e, Catch::Contains(
                    "test.yaml:4:44: \"path\" is not valid in source \"c\" (sqlite sources only)"));
  CHECK_THAT(e,
             Catch::Contains(
                 "test.yaml:6:6: notifier \"s\": set webhook_url (an incoming webhook) or token"));
  CHECK_THAT(
      e, Catch::Contains("test.yaml:7:27: notifier \"w\": url must be an http:// or https:// URL"));
  CHECK_THAT(e, Catch::Contains("format must be datawatch or alertmanager"));
  CHECK_THAT(
      e, Catch::Contains("test.yaml:8:6: notifier \"p\": missing required key \"routing_key\""));
  CHECK_THAT(e, Catch::Contains("test.yaml:9:13: notifier \"x\": unknown notifier type \"sms\""));
}

TEST_CASE("every problem is reported in one run", "[config][broken]") {
  auto r = load(std::string(kPrelude) +
                "agent: {retension: 1d}\n"
                "probes:\n"
                "  - {name: p, type: volume, source: nope, table: t, min: x}\n"
                "  - {name: q, type: freshness, source: db, table: t, column: c}\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.diagnostics.size() >= 4);
  // Sorted by position.
  for (size_t i = 1; i < r.diagnostics.size(); ++i)
    CHECK(r.diagnostics[i - 1].loc.line <= r.diagnostics[i].loc.line);
}

TEST_CASE("environment overlay errors are reported", "[config][env]") {
  auto r = load(
      std::string(kPrelude) + "environments:\n  e: {sources: {dbx: {path: y.db}}, agnet: {}}\n",
      "e");
  REQUIRE_FALSE(r.ok());
  const auto errs = allErrors(r);
  CHECK_THAT(errs, Catch::Contains("overrides source \"dbx\", which is not defined"));
  CHECK_THAT(errs, Catch::Contains("unknown key \"agnet\" (did you mean \"agent\"?)"));
}

TEST_CASE("an empty config is valid and has defaults", "[config]") {
  auto r = load("");
  REQUIRE(r.ok());
  CHECK(r.config->agent.listen == "0.0.0.0:9464");
  CHECK(r.config->agent.max_concurrent_probes == 8);
  CHECK(r.config->probes.empty());
}

TEST_CASE("agent.run_flush_interval: a default for each store, bounds", "[config]") {
  using std::chrono::milliseconds;
  auto sqlite = load("agent: {state: \"sqlite:///tmp/x.db\"}\n");
  REQUIRE(sqlite.ok());
  CHECK_FALSE(sqlite.config->agent.run_flush_interval);
  CHECK(runFlushInterval(sqlite.config->agent) == milliseconds(1000));
  auto pg = load("agent: {state: \"postgresql://u@h/db\"}\n");
  REQUIRE(pg.ok());
  CHECK(runFlushInterval(pg.config->agent) == milliseconds(100));
  auto set = load("agent: {state: \"postgres://u@h/db\", run_flush_interval: 250ms}\n");
  REQUIRE(set.ok());
  CHECK(runFlushInterval(set.config->agent) == milliseconds(250));
  auto low = load("agent: {run_flush_interval: 5ms}\n");
  REQUIRE_FALSE(low.ok());
  CHECK_THAT(allErrors(low), Catch::Contains("run_flush_interval"));
  auto edges = load("agent: {run_flush_interval: 10ms}\n");
  REQUIRE(edges.ok());
  CHECK(runFlushInterval(edges.config->agent) == milliseconds(10));
  CHECK(load("agent: {run_flush_interval: 10s}\n").ok());
  // A fleet follows its runs in commit order: at most a probe interval late.
  CHECK(load("agent: {state: \"postgres://u@h/db\", run_flush_interval: 500ms}\n").ok());
  auto fleet = load("agent: {state: \"postgres://u@h/db\", run_flush_interval: 600ms}\n");
  REQUIRE_FALSE(fleet.ok());
  CHECK_THAT(allErrors(fleet), Catch::Contains("at most 500ms with a PostgreSQL state store"));
  auto high = load("agent: {run_flush_interval: 11s}\n");
  REQUIRE_FALSE(high.ok());
  CHECK_THAT(allErrors(high), Catch::Contains("agent.run_flush_interval must be at most 10s"));
}

TEST_CASE("odbc sources name a dialect and exactly one of connection and dsn", "[config][odbc]") {
  auto ok = load(
      "sources:\n"
      "  snow: {type: odbc, dialect: snowflake, connection: \"Driver=SnowflakeDSIIDriver;"
      "Server=acct.snowflakecomputing.com;UID=mon;PWD={p;w}}d9};Auth_AccessToken=tok-777777\"}\n"
      "  app: {type: odbc, dialect: mariadb, dsn: app_replica}\n"
      "  rs: {type: postgres, dialect: redshift, dsn: \"postgres://u:rspass99@h/db\"}\n"
      "  pg: {type: postgres, dsn: \"postgres://h/db\"}\n"
      "probes:\n"
      "  - {name: v, type: volume, source: snow, table: db.public.orders, method: estimate, min: "
      "1}\n");
  INFO(allErrors(ok));
  REQUIRE(ok.ok());
  const auto& c = *ok.config;
  CHECK(c.findSource("snow")->type == SourceType::Odbc);
  CHECK(c.findSource("snow")->dialect == DialectId::Snowflake);
  CHECK(c.findSource("app")->dialect == DialectId::Mysql);
  CHECK(std::get<OdbcSourceConfig>(c.findSource("app")->spec).dsn == "app_replica");
  CHECK(c.findSource("rs")->dialect == DialectId::Redshift);
  CHECK(c.findSource("pg")->dialect == DialectId::Postgres);
  auto has = [&](const std::string& s) {
    return std::find(c.secrets.begin(), c.secrets.end(), s) != c.secrets.end();
  };
  CHECK(has("p;w}d9"));  // braced value, "}}" an escaped brace
  CHECK(has("tok-777777"));
  CHECK_FALSE(has("mon"));

  CHECK(dialectFromString("MySQL") == DialectId::Mysql);
  CHECK(dialectFromString("mssql") == DialectId::SqlServer);
  CHECK(dialectFromString("Starburst") == DialectId::Trino);
  CHECK_FALSE(dialectFromString("oracle"));
  auto bad = load(
      "sources:\n"
      "  a: {type: odbc, dialect: snowflak, dsn: x}\n"
      "  b: {type: odbc, dialect: mysql}\n"
      "  c: {type: odbc, dialect: mysql, dsn: x, connection: \"Driver=y\"}\n"
      "  d: {type: odbc, dsn: x}\n"
      "  e: {type: postgres, dsn: \"postgres://h/db\", dialect: snowflake}\n"
      "  f: {type: odbc, dialect: trino, dsn: t}\n"
      "probes:\n"
      "  - {name: est, type: volume, source: f, table: t, method: estimate}\n");
  REQUIRE_FALSE(bad.ok());
  const auto e = allErrors(bad);
  CHECK_THAT(e, Catch::Contains("unknown dialect \"snowflak\"") &&
                    Catch::Contains("did you mean \"snowflake\"?"));
  CHECK_THAT(e, Catch::Contains("test.yaml:3:6: odbc source needs exactly one of connection"));
  CHECK_THAT(e, Catch::Contains("test.yaml:4:6: odbc source needs exactly one of connection"));
  CHECK_THAT(e, Catch::Contains("source \"d\": missing required key \"dialect\""));
  CHECK_THAT(e, Catch::Contains("a postgres source speaks postgres or redshift; use type: odbc "
                                "for snowflake"));
  // An unreadable connection value is reported once, not also as a missing one.
  auto unset =
      load("sources:\n  u: {type: odbc, dialect: mysql, connection: \"PWD=${DW_UNSET_X}\"}\n");
  REQUIRE_FALSE(unset.ok());
  CHECK_THAT(allErrors(unset), Catch::Contains("DW_UNSET_X"));
  CHECK_THAT(allErrors(unset), !Catch::Contains("needs exactly one of"));
  CHECK_THAT(e, Catch::Contains("test.yaml:9:5: probe \"est\": method estimate is not available "
                                "on trino"));
}
