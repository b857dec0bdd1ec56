#pragma once
// The typed configuration: SPEC §2 parsed once into structs. Nothing past the
// loader reads YAML or strings-as-config; everything downstream takes these types.
// Every struct remembers where it was written (Location) for later diagnostics,
// and every name that refers to another item (a probe's source, a notify list,
// an SLO's probes, ...) keeps where that name was written in a `*_loc`/`*_locs`
// member beside it, so a bad reference is reported at the name itself. A `*_locs`
// vector is parallel to the name list it describes (same size and order) when
// the loader built it; a config built in code may leave it empty, and the checks
// then fall back to the item's `loc`.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "core/cron.hpp"
#include "core/timezone.hpp"

#include <memory>

namespace datawatch::config {

using namespace std::chrono_literals;

struct Location {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based
  std::string str() const;
};

// ---------------------------------------------------------------- agent
struct PostmortemsConfig {
  std::filesystem::path dir = "./postmortems";
  std::optional<std::filesystem::path> template_path;
  std::optional<std::string> dashboard_url;
};

struct AgentConfig {
  std::string listen = "0.0.0.0:9464";
  // "sqlite://<absolute path>" or "postgres://..." (relative sqlite paths are resolved).
  std::string state = "sqlite://./datawatch-state.db";
  Duration retention = std::chrono::hours(24 * 35);
  std::optional<std::string> api_token;  // secret
  PostmortemsConfig postmortems;
  std::vector<std::string> default_notify;
  std::vector<Location> default_notify_locs;  // parallel to default_notify
  int max_concurrent_probes = 8;              // the worker pool size
  // How long a finished probe run may wait before the state store's writer
  // commits it (store/batched_state_store.hpp): the most run history a crash
  // can lose. Unset: runFlushInterval()'s default for the store.
  std::optional<Duration> run_flush_interval;
  // HA (state on PostgreSQL): this replica's id in the fleet ("" = hostname-pid)
  // and the leader lease (failover takes at most about lease + lease/5).
  std::string replica_id;
  Duration leader_lease = 15s;
  // POST /api/v1/lineage needs `Authorization: Bearer <lineage_token>` when set
  // (OpenLineage's api_key auth); without it the endpoint is open. Secret.
  std::optional<std::string> lineage_token;
  Location loc;
};

// True for the state URLs a fleet of replicas shares (postgres://).
bool isSharedState(const std::string& state_url);

// agent.run_flush_interval, or its default: 1s with SQLite (a commit rewrites
// whole 4 KB pages in the WAL, the same few pages for 10 runs as for 100, so
// commits ten times a second were most of the agent's CPU at 100 probes/s:
// issue 19), 100ms with PostgreSQL (the replicas of a fleet read each other's
// runs from the store: the feed must stay prompt; the config allows at most
// 500ms there, agent_section.cpp says why).
Duration runFlushInterval(const AgentConfig& agent);

// ---------------------------------------------------------------- sources
enum class SourceType { Postgres, Sqlite, Kafka, Odbc };
const char* toString(SourceType t);

// The SQL a source speaks (probes/dialect.hpp builds it). `postgres` sources may
// say `redshift`; `sqlite` sources are `sqlite`; `odbc` sources name theirs.
enum class DialectId {
  Postgres,
  Mysql,  // MySQL and MariaDB
  Sqlite,
  SqlServer,
  Snowflake,
  BigQuery,
  Databricks,
  Redshift,
  Trino,
  ClickHouse
};
const char* toString(DialectId d);
std::optional<DialectId> dialectFromString(std::string_view s);
// Every dialect name, in the order the docs list them.
const std::vector<std::string>& dialectNames();

struct PostgresSourceConfig {
  std::string dsn;  // secret parts are registered with the Redactor
};
struct SqliteSourceConfig {
  std::filesystem::path path;  // resolved against the config file's folder
  Duration busy_timeout = 5s;
};
// Exactly one of `connection` (a full ODBC connection string) and `dsn` (a data
// source name from odbc.ini). Secret attributes (PWD=, Password=, tokens) are
// registered with the Redactor.
struct OdbcSourceConfig {
  std::string connection;
  std::string dsn;
};
struct KafkaSourceConfig {
  std::string brokers;
  std::map<std::string, std::string> properties;  // passed to librdkafka as-is
};

struct SourceConfig {
  std::string name;
  SourceType type = SourceType::Sqlite;
  int max_connections = 4;  // per-source concurrency limit for probe runs
  Duration statement_timeout = 30s;
  DialectId dialect = DialectId::Sqlite;  // SQL sources; Kafka ignores it
  Location dialect_loc;                   // where `dialect:` was written (else the source)
  // The OpenLineage namespace of this source's datasets ("postgres://db:5432"):
  // its table probes then watch the datasets of that namespace named like
  // their table (lineage/links.hpp); "" = not mapped. `lineage_database`, when
  // set, must prefix the dataset name ("shop" -> "shop.public.orders").
  std::string lineage_namespace;
  std::string lineage_database;
  std::variant<PostgresSourceConfig, SqliteSourceConfig, KafkaSourceConfig, OdbcSourceConfig> spec;
  Location loc;
  bool isSql() const { return type != SourceType::Kafka; }
};

// ---------------------------------------------------------------- bounds
// A condition a measured number must satisfy: the operators of ODCS quality
// rules (mustBe, mustNotBe, mustBeGreaterThan, ..., mustNotBeBetween) and of
// dbt's warn_if/error_if. Written in config as a short string: "= 0", "!= 0",
// "> 5", ">= 5", "< 1%", "<= 10", "between 1 and 5", "not between 1 and 5"
// (between is inclusive at both ends). `percent`: the number is a percentage
// of the rows (0-100), not a count of rows.
struct Bound {
  enum class Op { Eq, Ne, Gt, Ge, Lt, Le, Between, NotBetween };
  Op op = Op::Eq;
  double a = 0;  // the value (the lower end for Between / NotBetween)
  double b = 0;  // the upper end for Between / NotBetween
  bool percent = false;
  bool holds(double v) const;
  std::string str() const;  // the config spelling, parseBound(str()) == *this
  bool operator==(const Bound& o) const {
    return op == o.op && a == o.a && b == o.b && percent == o.percent;
  }
};
// The bound, or nullopt with *error set ("expected an operator ...").
std::optional<Bound> parseBound(std::string_view text, std::string* error);

// ---------------------------------------------------------------- probes
struct ProbeConfig;
struct SourceConfig;
// What `dialect` cannot do for probe `p` ("method: estimate: trino keeps no row
// count ..."), or nullopt. validate reports it at the probe's line. `source`
// (optional, added for values' pattern) tells the driver's limits apart from
// the dialect's: sqlite over ODBC (sqliteodbc) has no REGEXP function.
std::optional<std::string> dialectLimitation(const ProbeConfig& p, DialectId dialect,
                                             const SourceConfig* source = nullptr);

enum class ProbeType { Freshness, Volume, Drift, Schema, Values, Sql, ConsumerLag, Job };
const char* toString(ProbeType t);
std::optional<ProbeType> probeTypeFromString(std::string_view s);

struct ProbeAlertConfig {
  int after = 1;  // consecutive failing runs before it fires
  std::string severity = "warning";
  std::vector<std::string> notify;
  std::vector<Location> notify_locs;  // parallel to notify
};

struct FreshnessSpec {
  std::string column;                // tables only
  std::optional<Duration> max_age;   // at least one of max_age / schedule
  std::optional<CronExpr> schedule;  // batch tables: expected loads
  Duration grace = 0s;
  std::string timezone = "UTC";
  // Loaded from `timezone`; shared by copies of the config.
  std::shared_ptr<const TimeZone> tz = std::make_shared<TimeZone>(TimeZone::fixed(0s, "UTC"));
  std::optional<std::string> filter;  // an extra SQL predicate (from dbt); trusted config
  // Judge the OLDEST row instead of the newest: its age must stay within
  // max_age (a retention promise: nothing older than max_age is kept).
  bool oldest = false;
};

enum class Seasonality { None, HourOfDay, DayOfWeek, HourOfWeek };
struct AnomalyConfig {
  double sensitivity = 3.0;  // robust z-score threshold
  Duration training = std::chrono::hours(24 * 14);
  Seasonality seasonality = Seasonality::None;
  double min_change_absolute = 0;
  double min_change_relative = 0;
};

enum class VolumeMethod { Count, Estimate };
struct VolumeSpec {
  VolumeMethod method = VolumeMethod::Count;  // estimate: catalog statistics, no scan (PostgreSQL)
  std::string column;                         // optional: count rows with column >= now - window
  std::optional<Duration> window;
  std::optional<double> min;
  std::optional<double> max;
  std::optional<double> max_change;  // relative to the previous run: 0.5 = 50%
  std::optional<AnomalyConfig> anomaly;
  std::optional<std::string> filter;
  std::optional<Bound> must;  // the row count must satisfy it (rows only, never percent)
};

enum class DriftMethod { Psi, Ks, Js, Wasserstein, Chi2 };
const char* toString(DriftMethod m);  // "psi", ... as in the config
enum class ColumnKind { Auto, Numeric, Categorical };
struct DriftBaseline {
  bool pinned = false;
  Duration window = std::chrono::hours(24 * 7);
  Duration lag = std::chrono::hours(24 * 7);
};
struct DriftSpec {
  std::string column;
  std::string time_column;
  std::optional<Duration> window;
  DriftMethod method = DriftMethod::Psi;
  std::optional<double> threshold;  // default by method: probes/drift.hpp
  int bins = 20;
  DriftBaseline baseline;
  int64_t sample_rows = 100000;
  ColumnKind kind = ColumnKind::Auto;
};

struct SchemaSpec {
  std::vector<std::pair<std::string, std::string>> columns;  // declared order; type "" = any
  bool allow_extra_columns = false;
  // Optional per column (keyed by the name in `columns`): a logical type family
  // (ODCS logicalType: string, integer, number, boolean, date, timestamp, time,
  // object, array) the catalog type must belong to, and whether the column
  // must be declared NOT NULL.
  std::map<std::string, std::string> logical_types;
  std::map<std::string, bool> required;
};

// What a values probe counts per row; `must` may bound each (ValuesSpec).
enum class ValuesMetric {
  Nulls,       // NULL
  Missing,     // NULL or one of `missing` ('' or 'N/A', ...)
  Invalid,     // non-null and not accepted, out of [min, max], not matching
               // `pattern`, or outside [min_length, max_length]; a row counts once
  Duplicates,  // non-null rows beyond the first of each value (of each key for `columns`)
};
const char* toString(ValuesMetric m);  // "nulls", "missing", "invalid", "duplicates"
std::optional<ValuesMetric> valuesMetricFromString(std::string_view s);

struct ValuesSpec {
  std::string column;
  // A composite key (2+ columns) whose combination must be unique, instead of
  // `column` (then only `unique` and `must.duplicates` apply).
  std::vector<std::string> columns;
  std::vector<std::string> accepted;
  std::vector<std::string> missing;    // values that count as missing besides NULL
  std::optional<std::string> pattern;  // a regular expression non-null values must match
  std::optional<int64_t> min_length;   // characters, of non-null values
  std::optional<int64_t> max_length;
  // Tolerances. Without an entry a metric fails on its first row: invalid and
  // duplicates (when unique) always, missing when `missing` is given, nulls
  // only through max_null_ratio or an entry here.
  std::map<ValuesMetric, Bound> must;
  std::optional<double> max_null_ratio;
  bool unique = false;
  std::optional<double> min;
  std::optional<double> max;
  std::string time_column;
  std::optional<Duration> window;
  std::optional<std::string> filter;
};

// In `query`, {table} is replaced by the probe's `table` and {column} by
// `column`, each quoted for the source's dialect (so a generated rule never
// splices a bare name); without `table:` the query is run as written.
struct SqlSpec {
  std::string query;
  std::string column;
  std::optional<double> min;
  std::optional<double> max;
  std::optional<double> equals;
  std::optional<Bound> must;
};

struct ConsumerLagSpec {
  std::string group;
  std::optional<int64_t> max_lag_messages;
  std::optional<Duration> max_lag_seconds;
};

// `type: job` (docs/lineage.md): judged from the OpenLineage runs of `job`
// ("namespace/name"), on the agent's clock. At least one of max_age, schedule
// and max_duration.
struct JobSpec {
  std::string job;
  std::optional<Duration> max_age;   // a COMPLETE run within it
  std::optional<CronExpr> schedule;  // a COMPLETE run since the last scheduled one + grace
  Duration grace = 0s;
  std::string timezone = "UTC";
  std::shared_ptr<const TimeZone> tz = std::make_shared<TimeZone>(TimeZone::fixed(0s, "UTC"));
  std::optional<Duration> max_duration;  // a run started and not ended for longer fails
};

using ProbeSpec = std::variant<FreshnessSpec, VolumeSpec, DriftSpec, SchemaSpec, ValuesSpec,
                               SqlSpec, ConsumerLagSpec, JobSpec>;

struct ProbeConfig {
  std::string name;
  ProbeType type = ProbeType::Freshness;
  std::string source;
  Location source_loc;  // where `source:`'s value was written
  std::string table;    // "schema.table" or "table" (SQL sources)
  std::string topic;    // kafka sources
  // freshness/volume: an OpenLineage dataset key ("namespace/name") judged from
  // the runs that wrote it, with no query and no `source` (docs/lineage.md).
  std::string dataset;
  Duration every = 5min;
  Duration timeout = 30s;
  std::string owner;
  std::string description;
  std::vector<std::string> consumers;
  std::vector<std::string> upstream;
  std::vector<Location> upstream_locs;  // parallel to upstream
  std::optional<ProbeAlertConfig> alert;
  ProbeSpec spec;
  std::string contract;  // the id of the contract this probe was expanded from, or ""
  Location loc;          // for a contract's probe: the rule's line in the contract file
  // The table, topic, dataset or job; "" for sql probes.
  const std::string& target() const;
  // Fed by OpenLineage events (a job probe, a `dataset:` probe): no source.
  bool fromLineage() const { return type == ProbeType::Job || !dataset.empty(); }
};

// ---------------------------------------------------------------- SLOs
enum class Budgeting { Occurrences, Timeslices };
enum class ErrorPolicy { Bad, Ignore };

struct BurnWindow {
  std::string severity;  // page | ticket
  Duration long_window;
  Duration short_window;
  double burn_rate;
};

struct SloAlerting {
  std::optional<std::vector<std::string>> page_notify;    // nullopt: agent.default_notify
  std::optional<std::vector<std::string>> ticket_notify;  // nullopt: agent.default_notify
  std::vector<Location> page_notify_locs;                 // parallel to *page_notify
  std::vector<Location> ticket_notify_locs;               // parallel to *ticket_notify
  std::vector<BurnWindow> windows;                        // empty: the default table of SPEC §4
  int min_bad_events = 2;
  // While the SLO's page alert fires, its ticket alert is inhibited (SPEC §5).
  bool inhibit_lower_severity = true;
};

struct SloConfig {
  std::string name;
  std::string description;
  double objective = 99.0;  // percent, 0 < objective < 100
  Duration window = std::chrono::hours(24 * 28);
  std::vector<std::string> probes;
  std::vector<Location> probe_locs;  // parallel to probes
  Budgeting budgeting = Budgeting::Occurrences;
  ErrorPolicy errors = ErrorPolicy::Bad;
  SloAlerting alerting;
  Location loc;
};

// ---------------------------------------------------------------- notifiers
enum class NotifierType { Slack, Webhook, Pagerduty, Alertmanager, File };
const char* toString(NotifierType t);

// Slack: an incoming webhook (`webhook_url`), or the Web API with a bot
// `token` (chat.postMessage, then chat.update on resolve); exactly one is set.
struct SlackNotifierConfig {
  std::string webhook_url;  // secret
  std::string token;        // secret; needs `channel`
  std::string api_url = "https://slack.com/api";
  std::string mention;
  std::string channel;
  Duration group_wait = 30s;
  bool webApi() const { return !token.empty(); }
};
enum class WebhookFormat { Datawatch, Alertmanager };
struct WebhookNotifierConfig {
  std::string url;  // secret (may carry a token)
  std::optional<std::string> secret;
  WebhookFormat format = WebhookFormat::Datawatch;
  std::map<std::string, std::string> headers;
};
struct PagerdutyNotifierConfig {
  std::string routing_key;  // secret
  std::string url = "https://events.pagerduty.com";
};
struct BasicAuth {
  std::string username;
  std::string password;  // secret
};
// Every alert goes to each URL (an HA pair), as Prometheus sends.
struct AlertmanagerNotifierConfig {
  std::vector<std::string> urls;
  std::optional<BasicAuth> basic_auth;
  std::optional<std::string> bearer_token;  // secret
  std::string generator_url;  // the alerts' generatorURL; "" -> agent.postmortems.dashboard_url
};
struct FileNotifierConfig {
  std::filesystem::path path;
};

struct NotifierConfig {
  std::string name;
  NotifierType type = NotifierType::File;
  Duration repeat_interval = 4h;
  Duration timeout = 10s;
  std::variant<SlackNotifierConfig, WebhookNotifierConfig, PagerdutyNotifierConfig,
               AlertmanagerNotifierConfig, FileNotifierConfig>
      spec;
  Location loc;
};

// ---------------------------------------------------------------- silences
struct SilenceConfig {
  std::map<std::string, std::string> match;    // alert label -> value, all must match
  std::map<std::string, Location> match_locs;  // label -> where its value was written
  std::optional<TimePoint> starts;
  TimePoint until;
  std::string reason;
  Location loc;
};

// ---------------------------------------------------------------- contracts
// `contracts:` (docs/contracts.md): an ODCS v3 contract file watched as
// probes. The loader expands each into ordinary ProbeConfigs named
// `<contract-id>__<rule>` (ProbeConfig::contract = id) and, with `slo`, one
// SloConfig over all of them; nothing downstream knows contracts exist.
struct ContractConfig {
  std::filesystem::path path;  // resolved against the config file's folder
  std::string id;              // the contract's `id` (filled when the file is read)
  std::string source;
  Location source_loc;
  Duration every = 15min;
  std::string owner;
  std::optional<ProbeAlertConfig> alert;  // for every expanded probe
  std::optional<SloConfig> slo;           // named after the contract id
  Location loc;
};

// ---------------------------------------------------------------- the whole
struct Config {
  AgentConfig agent;
  std::vector<SourceConfig> sources;
  std::vector<ProbeConfig> probes;
  std::vector<SloConfig> slos;
  std::vector<NotifierConfig> notifiers;
  std::vector<SilenceConfig> silences;
  std::vector<ContractConfig> contracts;
  std::vector<std::string> environments;  // names defined (informational)
  std::string environment;                // the one applied, or ""
  std::vector<std::string> files;         // the files read, in order
  std::vector<std::string> secrets;       // values to redact (expanded secrets)

  const SourceConfig* findSource(std::string_view name) const;
  const ProbeConfig* findProbe(std::string_view name) const;
  const SloConfig* findSlo(std::string_view name) const;
  const NotifierConfig* findNotifier(std::string_view name) const;
};

}  // namespace datawatch::config
