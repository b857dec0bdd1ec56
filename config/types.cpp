// The small functions of the typed configuration (types.hpp): names of enums,
// lookups by name, positions.
#include "config/types.hpp"

namespace datawatch::config {

std::string Location::str() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

bool isSharedState(const std::string& state_url) {
  return state_url.rfind("postgres://", 0) == 0 || state_url.rfind("postgresql://", 0) == 0;
}

Duration runFlushInterval(const AgentConfig& agent) {
  if (agent.run_flush_interval) return *agent.run_flush_interval;
  return isSharedState(agent.state) ? Duration(std::chrono::milliseconds(100))
                                    : Duration(std::chrono::seconds(1));
}

const char* toString(SourceType t) {
  switch (t) {
    case SourceType::Postgres: return "postgres";
    case SourceType::Sqlite: return "sqlite";
    case SourceType::Kafka: return "kafka";
    case SourceType::Odbc: return "odbc";
  }
  return "?";
}

const char* toString(DialectId d) {
  switch (d) {
    case DialectId::Postgres: return "postgres";
    case DialectId::Mysql: return "mysql";
    case DialectId::Sqlite: return "sqlite";
    case DialectId::SqlServer: return "sqlserver";
    case DialectId::Snowflake: return "snowflake";
    case DialectId::BigQuery: return "bigquery";
    case DialectId::Databricks: return "databricks";
    case DialectId::Redshift: return "redshift";
    case DialectId::Trino: return "trino";
    case DialectId::ClickHouse: return "clickhouse";
  }
  return "?";
}

const std::vector<std::string>& dialectNames() {
  static const std::vector<std::string> kNames{"postgres",  "mysql",     "sqlite",     "sqlserver",
                                               "snowflake", "bigquery",  "databricks", "redshift",
                                               "trino",     "clickhouse"};
  return kNames;
}

namespace {

// values: `pattern` needs a regular-expression function (Dialect::regexMatch).
std::optional<std::string> valuesLimitation(const ValuesSpec& v, DialectId dialect,
                                            const SourceConfig* source) {
  if (!v.pattern) return std::nullopt;
  if (dialect == DialectId::SqlServer)
    return std::string(
        "pattern needs regular expressions, which T-SQL does not have (before SQL Server "
        "2025); check the values with accepted, min_length/max_length or a sql probe");
  if (dialect == DialectId::Sqlite && source && source->type == SourceType::Odbc) {
    const auto* odbc = std::get_if<OdbcSourceConfig>(&source->spec);
    std::string conn = odbc ? odbc->connection : "";
    for (auto& c : conn) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (conn.find("loadext=") == std::string::npos)
      return std::string(
          "pattern needs a REGEXP function, which sqliteodbc does not define (use a source of "
          "type sqlite, or load an extension that defines regexp() with LoadExt= in the "
          "connection string)");
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> dialectLimitation(const ProbeConfig& p, DialectId dialect,
                                             const SourceConfig* source) {
  if (p.fromLineage()) return std::nullopt;  // no query: no dialect to fall short
  if (p.type == ProbeType::Values)
    return valuesLimitation(std::get<ValuesSpec>(p.spec), dialect, source);
  if (p.type != ProbeType::Volume) return std::nullopt;
  const auto& v = std::get<VolumeSpec>(p.spec);
  if (v.method != VolumeMethod::Estimate) return std::nullopt;
  switch (dialect) {
    case DialectId::Sqlite:
      return std::string(
          "method estimate needs catalog statistics, which sqlite does not keep "
          "(use method: count)");
    case DialectId::Trino:
      return std::string(
          "method estimate is not available on trino (its row counts come from "
          "SHOW STATS, which connectors fill unevenly); use method: count");
    default: return std::nullopt;
  }
}

std::optional<DialectId> dialectFromString(std::string_view s) {
  std::string k(s);
  for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Product names users write for a dialect's databases.
  static const std::map<std::string, DialectId> kAliases{
      {"mariadb", DialectId::Mysql},      {"postgresql", DialectId::Postgres},
      {"mssql", DialectId::SqlServer},    {"tsql", DialectId::SqlServer},
      {"azuresql", DialectId::SqlServer}, {"synapse", DialectId::SqlServer},
      {"fabric", DialectId::SqlServer},   {"starburst", DialectId::Trino},
      {"presto", DialectId::Trino},       {"spark", DialectId::Databricks}};
  if (auto it = kAliases.find(k); it != kAliases.end()) return it->second;
  for (int i = 0; i <= static_cast<int>(DialectId::ClickHouse); ++i) {
    const auto d = static_cast<DialectId>(i);
    if (k == toString(d)) return d;
  }
  return std::nullopt;
}

const char* toString(ProbeType t) {
  switch (t) {
    case ProbeType::Freshness: return "freshness";
    case ProbeType::Volume: return "volume";
    case ProbeType::Drift: return "drift";
    case ProbeType::Schema: return "schema";
    case ProbeType::Values: return "values";
    case ProbeType::Sql: return "sql";
    case ProbeType::ConsumerLag: return "consumer_lag";
    case ProbeType::Job: return "job";
  }
  return "?";
}

const char* toString(DriftMethod m) {
  switch (m) {
    case DriftMethod::Psi: return "psi";
    case DriftMethod::Ks: return "ks";
    case DriftMethod::Js: return "js";
    case DriftMethod::Wasserstein: return "wasserstein";
    case DriftMethod::Chi2: return "chi2";
  }
  return "?";
}

std::optional<ProbeType> probeTypeFromString(std::string_view s) {
  for (auto t : {ProbeType::Freshness, ProbeType::Volume, ProbeType::Drift, ProbeType::Schema,
                 ProbeType::Values, ProbeType::Sql, ProbeType::ConsumerLag, ProbeType::Job}) {
    if (s == toString(t)) return t;
  }
  return std::nullopt;
}

const char* toString(NotifierType t) {
  switch (t) {
    case NotifierType::Slack: return "slack";
    case NotifierType::Webhook: return "webhook";
    case NotifierType::Pagerduty: return "pagerduty";
    case NotifierType::Alertmanager: return "alertmanager";
    case NotifierType::File: return "file";
  }
  return "?";
}

template <typename T>
static const T* findByName(const std::vector<T>& v, std::string_view name) {
  for (const auto& x : v)
    if (x.name == name) return &x;
  return nullptr;
}
const SourceConfig* Config::findSource(std::string_view n) const {
  return findByName(sources, n);
}
const std::string& ProbeConfig::target() const {
  if (!table.empty()) return table;
  if (!topic.empty()) return topic;
  if (!dataset.empty()) return dataset;
  if (const auto* job = std::get_if<JobSpec>(&spec)) return job->job;
  return table;
}

const ProbeConfig* Config::findProbe(std::string_view n) const {
  return findByName(probes, n);
}
const SloConfig* Config::findSlo(std::string_view n) const {
  return findByName(slos, n);
}
const NotifierConfig* Config::findNotifier(std::string_view n) const {
  return findByName(notifiers, n);
}

}  // namespace datawatch::config
