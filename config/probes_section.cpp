// The `probes:` section: the fields every probe has, then one reader per type.
#include <algorithm>
#include <cctype>

#include "config/lineage_section.hpp"
#include "config/sections.hpp"
#include "config/values_section.hpp"

namespace datawatch::config::detail {
namespace {

// Keys of each probe type, for unknown-key checks and "belongs to" hints.
const std::map<ProbeType, std::vector<std::string_view>>& probeKeys() {
  static const std::map<ProbeType, std::vector<std::string_view>> k{
      {ProbeType::Freshness,
       {"column", "max_age", "schedule", "grace", "timezone", "filter", "oldest"}},
      {ProbeType::Volume,
       {"column", "window", "min", "max", "max_change", "anomaly", "filter", "method", "must"}},
      {ProbeType::Drift,
       {"column", "time_column", "window", "method", "threshold", "bins", "baseline", "sample_rows",
        "kind"}},
      {ProbeType::Schema, {"columns", "allow_extra_columns"}},
      {ProbeType::Values,
       {"column", "columns", "accepted", "missing", "pattern", "min_length", "max_length", "must",
        "max_null_ratio", "unique", "min", "max", "time_column", "window", "filter"}},
      {ProbeType::Sql, {"query", "min", "max", "equals", "must", "column"}},
      {ProbeType::ConsumerLag, {"group", "max_lag_messages", "max_lag_seconds"}},
      {ProbeType::Job, jobProbeKeys()},
  };
  return k;
}

// One probe being read: its map, what is known of it so far, and its name for
// messages ("probe \"x\"").
struct ProbeReader {
  MapReader& m;
  ProbeConfig& p;
  const std::string what;
  Ctx& ctx() { return m.ctx(); }
  const Doc& doc() { return m.doc(); }
};

// The type's own keys and the common ones are allowed; another type's keys get
// "it belongs to <type> probes".
void checkProbeKeys(MapReader& m, ProbeType type) {
  std::vector<std::string_view> allowed{"name",     "type",  "source",     "table", "topic",
                                        "dataset",  "every", "timeout",    "owner", "consumers",
                                        "upstream", "alert", "description"};
  const auto& own = probeKeys().at(type);
  allowed.insert(allowed.end(), own.begin(), own.end());
  std::map<std::string_view, std::string> elsewhere;
  for (const auto& [t, keys] : probeKeys()) {
    for (auto k : keys) {
      if (std::find(own.begin(), own.end(), k) == own.end() && !elsewhere.count(k)) {
        elsewhere[k] = "it belongs to " + std::string(toString(t)) + " probes";
      }
    }
  }
  m.checkKeys(allowed, elsewhere);
}

void readAlert(ProbeReader& r) {
  MapReader a(r.ctx(), r.doc(), r.m.raw("alert"), r.what + " alert");
  if (!a.ok()) return;
  a.checkKeys({"after", "severity", "notify"});
  ProbeAlertConfig ac;
  if (auto v = a.intInRange("after", 1, 1000)) ac.after = static_cast<int>(*v);
  if (auto v = a.str("severity")) {
    static const std::vector<std::string_view> sev{"page", "ticket", "critical", "warning", "info"};
    if (std::find(sev.begin(), sev.end(), *v) == sev.end()) {
      a.error("severity", r.what + ": alert severity \"" + *v + "\" must be one of " +
                              joinNames(sev) + didYouMean(*v, sev));
    } else {
      ac.severity = *v;
    }
  }
  if (auto v = a.strList("notify", false, &ac.notify_locs)) ac.notify = *v;
  r.p.alert = ac;
}

void readCommon(ProbeReader& r) {
  MapReader& m = r.m;
  ProbeConfig& p = r.p;
  readProbeDataset(m, p, r.what);
  if (!p.fromLineage()) {  // job and dataset probes take none (checkLineageProbe)
    if (auto v = m.str("source", true)) {
      p.source = *v;
      p.source_loc = m.loc("source");
    }
    if (auto v = m.str("table")) p.table = *v;
    if (auto v = m.str("topic")) p.topic = *v;
  }
  if (auto d = m.duration("every", false, std::chrono::seconds(1))) p.every = *d;
  if (auto d = m.duration("timeout", false, std::chrono::milliseconds(100))) p.timeout = *d;
  if (auto v = m.str("owner")) p.owner = *v;
  if (auto v = m.str("description")) p.description = *v;
  if (auto v = m.strList("consumers")) p.consumers = *v;
  if (auto v = m.strList("upstream", false, &p.upstream_locs)) p.upstream = *v;
  if (m.has("alert")) readAlert(r);
}

// table or topic, not both; a table is "table" or "schema.table".
void checkTarget(ProbeReader& r) {
  const ProbeConfig& p = r.p;
  if (p.table.empty() && p.topic.empty() && p.type != ProbeType::Sql) {
    r.ctx().error(p.loc,
                  r.what + ": missing required key \"table\" (or \"topic\" for a kafka source)");
  }
  if (!p.table.empty() && !p.topic.empty()) {
    r.m.error("topic", r.what + ": set either table or topic, not both");
  }
  if (p.table.empty()) return;
  // schema.table: every part non-empty. Any characters are allowed: parts are quoted.
  size_t start = 0;
  while (true) {
    size_t dot = p.table.find('.', start);
    if (p.table.substr(start, dot == std::string::npos ? std::string::npos : dot - start).empty()) {
      r.m.error("table",
                r.what + ": table \"" + p.table + "\" must be \"table\" or \"schema.table\"");
      break;
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
}

void needTable(ProbeReader& r, const char* why) {
  if (!r.p.topic.empty())
    r.m.error("topic", r.what + ": " + toString(r.p.type) + " probes need a table, not a topic (" +
                           why + ")");
}

// ------------------------------------------------------------------ freshness

FreshnessSpec readFreshness(ProbeReader& r) {
  MapReader& m = r.m;
  FreshnessSpec s;
  if (auto v = m.str("column")) s.column = *v;
  if (!r.p.table.empty() && s.column.empty()) m.missing("column");
  if (auto d = m.duration("max_age")) s.max_age = *d;
  readScheduleKeys(m, r.what, s);
  if (auto v = m.str("filter")) s.filter = *v;
  if (!m.has("max_age") && !m.has("schedule")) {
    r.ctx().error(r.p.loc, r.what + ": freshness needs max_age, schedule (with grace), or both");
  }
  if (auto v = m.boolean("oldest")) s.oldest = *v;
  if (s.oldest && m.has("schedule"))
    m.error("oldest", r.what +
                          ": oldest checks retention (the oldest row's age against max_age); "
                          "it takes no schedule");
  else if (s.oldest && !m.has("max_age"))
    m.error("oldest", r.what + ": oldest needs max_age (the retention period)");
  if (s.oldest && !r.p.topic.empty())
    m.error("oldest", r.what + ": oldest reads the oldest row of a table, not of a topic");
  return s;
}

// `key` as a Bound on a count or a number (never a percentage: `no_percent`
// says why), or nullopt (reported at the key when malformed).
std::optional<Bound> readPlainBound(ProbeReader& r, const std::string& key,
                                    const std::string& no_percent) {
  auto v = r.m.str(key);
  if (!v) return std::nullopt;
  std::string error;
  auto b = parseBound(*v, &error);
  if (!b) {
    r.m.error(key, r.what + ": " + key + " " + error);
    return std::nullopt;
  }
  if (b->percent) {
    r.m.error(key, r.what + ": " + key + " \"" + *v + "\" is a percentage; " + no_percent);
    return std::nullopt;
  }
  return b;
}

// ------------------------------------------------------------------ volume

void readSeasonality(ProbeReader& r, MapReader& a, AnomalyConfig& ac) {
  auto v = a.str("seasonality");
  if (!v) return;
  if (*v == "hour_of_day")
    ac.seasonality = Seasonality::HourOfDay;
  else if (*v == "day_of_week")
    ac.seasonality = Seasonality::DayOfWeek;
  else if (*v == "hour_of_week")
    ac.seasonality = Seasonality::HourOfWeek;
  else if (*v == "none")
    ac.seasonality = Seasonality::None;
  else
    a.error("seasonality", r.what +
                               ": seasonality must be hour_of_day, day_of_week, hour_of_week or "
                               "none" +
                               didYouMean(*v, {"hour_of_day", "day_of_week", "hour_of_week"}));
}

void readAnomaly(ProbeReader& r, VolumeSpec& s) {
  MapReader a(r.ctx(), r.doc(), r.m.raw("anomaly"), r.what + " anomaly");
  if (!a.ok()) return;
  a.checkKeys({"sensitivity", "training", "seasonality", "min_change"});
  AnomalyConfig ac;
  if (auto v = a.num("sensitivity")) {
    if (*v <= 0)
      a.error("sensitivity", r.what + ": anomaly sensitivity must be > 0");
    else
      ac.sensitivity = *v;
  }
  if (auto d = a.duration("training", false, std::chrono::hours(1))) ac.training = *d;
  readSeasonality(r, a, ac);
  if (a.has("min_change")) {
    auto mc = a.raw("min_change");
    if (mc.IsMap()) {
      MapReader mr(r.ctx(), r.doc(), mc, r.what + " anomaly.min_change");
      mr.checkKeys({"absolute", "relative"});
      if (auto v = mr.num("absolute")) ac.min_change_absolute = *v;
      if (auto v = mr.num("relative")) ac.min_change_relative = *v;
    } else if (auto v = a.num("min_change")) {
      ac.min_change_absolute = *v;
    }
  }
  s.anomaly = ac;
}

void readVolumeMethod(ProbeReader& r, VolumeSpec& s) {
  MapReader& m = r.m;
  auto v = m.str("method");
  if (!v) return;
  if (*v == "count")
    s.method = VolumeMethod::Count;
  else if (*v == "estimate")
    s.method = VolumeMethod::Estimate;
  else
    m.error("method",
            r.what + ": method must be count or estimate" + didYouMean(*v, {"count", "estimate"}));
  if (s.method == VolumeMethod::Estimate && (m.has("column") || m.has("filter"))) {
    m.error("method", r.what +
                          ": method estimate counts the whole table (from catalog "
                          "statistics); it takes no column, window or filter");
  }
}

VolumeSpec readVolume(ProbeReader& r) {
  MapReader& m = r.m;
  const std::string& what = r.what;
  const bool on_topic = !r.p.topic.empty();
  VolumeSpec s;
  if (auto v = m.str("column")) s.column = *v;
  if (auto d = m.duration("window")) s.window = *d;
  s.min = m.num("min");
  s.max = m.num("max");
  s.max_change = m.num("max_change");
  if (s.max_change && *s.max_change <= 0)
    m.error("max_change", what + ": max_change must be > 0 (0.5 = 50%)");
  if (s.min && s.max && *s.min > *s.max) m.error("min", what + ": min is greater than max");
  const bool on_table = !on_topic && r.p.dataset.empty();  // a dataset's keys: checkLineageProbe
  if (s.window && on_table && s.column.empty())
    m.error("window", what + ": window needs a column to count recent rows by");
  if (!s.column.empty() && !s.window && on_table)
    m.error("column", what + ": column needs a window (rows with column >= now - window)");
  if (on_topic && !s.window) m.missing("window");
  readVolumeMethod(r, s);
  if (auto v = m.str("filter")) s.filter = *v;
  if (m.has("anomaly")) readAnomaly(r, s);
  s.must = readPlainBound(r, "must", "a volume bound counts rows (\"between 1000 and 5000\")");
  if (r.p.dataset.empty())
    requireOneOf(m, what, {"min", "max", "max_change", "anomaly", "must"});
  else
    requireOneOf(m, what, {"min", "max", "max_change", "must"});
  return s;
}

// ------------------------------------------------------------------ drift

void readDriftKind(ProbeReader& r, DriftSpec& s) {
  auto v = r.m.str("kind");
  if (!v) return;
  if (*v == "numeric")
    s.kind = ColumnKind::Numeric;
  else if (*v == "categorical")
    s.kind = ColumnKind::Categorical;
  else
    r.m.error("kind", r.what + ": kind must be numeric or categorical");
}

void readDriftMethod(ProbeReader& r, DriftSpec& s) {
  MapReader& m = r.m;
  auto v = m.str("method");
  if (!v) return;
  std::map<std::string, DriftMethod> methods;
  for (auto d : {DriftMethod::Psi, DriftMethod::Ks, DriftMethod::Js, DriftMethod::Wasserstein,
                 DriftMethod::Chi2})
    methods[toString(d)] = d;
  auto it = methods.find(*v);
  if (it == methods.end()) {
    m.error("method", r.what + ": method must be psi, ks, js, wasserstein or chi2" +
                          didYouMean(*v, {"psi", "ks", "js", "wasserstein", "chi2"}));
    return;
  }
  s.method = it->second;
  if (s.kind == ColumnKind::Categorical &&
      (s.method == DriftMethod::Ks || s.method == DriftMethod::Wasserstein))
    m.error("method",
            r.what + ": " + *v + " needs a numeric column (categorical: psi, js or chi2)");
  if (s.kind == ColumnKind::Numeric && s.method == DriftMethod::Chi2)
    m.error("method",
            r.what + ": chi2 needs a categorical column (numeric: psi, ks, js or wasserstein)");
}

void readDriftThreshold(ProbeReader& r, DriftSpec& s) {
  MapReader& m = r.m;
  auto v = m.num("threshold");
  if (!v) return;
  if (*v <= 0)
    m.error("threshold", r.what + ": threshold must be > 0");
  else if (s.method == DriftMethod::Chi2 && *v >= 1)
    m.error("threshold",
            r.what + ": a chi2 threshold is a significance level on the p-value, in (0, 1)");
  else
    s.threshold = *v;
}

void readDriftBaseline(ProbeReader& r, DriftSpec& s) {
  MapReader& m = r.m;
  if (m.has("baseline")) {
    auto b = m.raw("baseline");
    if (b.IsScalar()) {
      if (b.Scalar() == "pinned")
        s.baseline.pinned = true;
      else
        m.error("baseline", r.what + ": baseline must be \"pinned\" or {window, lag}");
    } else {
      MapReader br(r.ctx(), r.doc(), b, r.what + " baseline");
      if (br.ok()) {
        br.checkKeys({"window", "lag"});
        if (auto d = br.duration("window")) s.baseline.window = *d;
        if (auto d = br.duration("lag")) s.baseline.lag = *d;
      }
    }
  }
  if (s.time_column.empty()) {
    s.baseline.pinned = true;
    if (m.has("baseline") && m.raw("baseline").IsMap())
      m.error("baseline", r.what + ": a {window, lag} baseline needs time_column");
  } else if (!s.window) {
    m.missing("window");
  }
}

DriftSpec readDrift(ProbeReader& r) {
  MapReader& m = r.m;
  needTable(r, "drift is computed in the database");
  DriftSpec s;
  if (auto v = m.str("column", true)) s.column = *v;
  if (auto v = m.str("time_column")) s.time_column = *v;
  if (auto d = m.duration("window")) s.window = *d;
  readDriftKind(r, s);
  readDriftMethod(r, s);
  readDriftThreshold(r, s);
  if (auto v = m.intInRange("bins", 2, 1000)) s.bins = static_cast<int>(*v);
  if (auto v = m.intInRange("sample_rows", 100, 1000000000)) s.sample_rows = *v;
  readDriftBaseline(r, s);
  return s;
}

// ------------------------------------------------------------------ schema, values

// One `columns:` entry: a type string ("" = any type), or a map
// {type, logical_type, required}.
void readSchemaColumn(ProbeReader& r, SchemaSpec& s, const YAML::Node& key,
                      const YAML::Node& value) {
  const std::string name = key.Scalar();
  if (value.IsScalar()) {
    s.columns.emplace_back(name, value.Scalar());
    return;
  }
  if (!value.IsMap()) {
    r.ctx().error(r.doc(), value,
                  r.what + ": column " + name +
                      " must be a type string or a map {type, logical_type, required}");
    return;
  }
  MapReader c(r.ctx(), r.doc(), value, r.what + " column " + name);
  c.checkKeys({"type", "logical_type", "required"});
  std::string type;
  if (auto v = c.str("type")) type = *v;
  if (auto v = c.str("logical_type")) {
    // ODCS logicalType families (probes/logical_types.hpp maps each dialect's types).
    static const std::vector<std::string_view> kFamilies{
        "string", "integer", "number", "boolean", "date", "timestamp", "time", "object", "array"};
    if (std::find(kFamilies.begin(), kFamilies.end(), *v) == kFamilies.end())
      c.error("logical_type", r.what + ": column " + name + ": logical_type \"" + *v +
                                  "\" must be one of " + joinNames(kFamilies) +
                                  didYouMean(*v, kFamilies));
    else
      s.logical_types[name] = *v;
  }
  if (auto v = c.boolean("required")) s.required[name] = *v;
  s.columns.emplace_back(name, type);
}

SchemaSpec readSchema(ProbeReader& r) {
  MapReader& m = r.m;
  needTable(r, "schemas are read from the catalog");
  SchemaSpec s;
  auto c = m.raw("columns");
  if (!c.IsDefined() || c.IsNull()) {
    m.missing("columns");
  } else if (!c.IsMap() || c.size() == 0) {
    r.ctx().error(r.doc(), c, r.what + ": columns must be a non-empty map of column: type");
  } else {
    for (auto it = c.begin(); it != c.end(); ++it) readSchemaColumn(r, s, it->first, it->second);
  }
  if (auto v = m.boolean("allow_extra_columns")) s.allow_extra_columns = *v;
  return s;
}

ValuesSpec readValues(ProbeReader& r) {
  needTable(r, "values are checked with SQL");
  return readValuesSpec(r.m, r.what);
}

// ------------------------------------------------------------------ sql, consumer_lag

// {table} and {column} in a sql probe's query: each needs its key (the
// probe's table, the sql probe's column); {column} is filled only with a table
// (types.hpp: without a table the query runs as written). A table the query
// does not use is allowed: it is the probe's target in status and metrics.
void checkSqlPlaceholders(ProbeReader& r, const SqlSpec& s) {
  MapReader& m = r.m;
  const bool uses_table = s.query.find("{table}") != std::string::npos;
  const bool uses_column = s.query.find("{column}") != std::string::npos;
  if (uses_table && r.p.table.empty())
    m.error("query", r.what + ": the query uses {table} but the probe has no table");
  if (uses_column && s.column.empty())
    m.error("query", r.what + ": the query uses {column} but the probe has no column");
  if (uses_column && !s.column.empty() && r.p.table.empty())
    m.error("query", r.what + ": {column} is filled only on a probe with a table");
}

SqlSpec readSql(ProbeReader& r) {
  MapReader& m = r.m;
  const std::string& what = r.what;
  SqlSpec s;
  if (!r.p.topic.empty()) m.error("topic", what + ": sql probes take a query, not a topic");
  if (auto v = m.str("query", true)) {
    s.query = *v;
    std::string trimmed = *v;
    while (!trimmed.empty() &&
           (std::isspace(static_cast<unsigned char>(trimmed.back())) || trimmed.back() == ';'))
      trimmed.pop_back();
    if (trimmed.find(';') != std::string::npos)
      m.error("query", what + ": query must be a single statement");
  }
  if (auto v = m.str("column")) s.column = *v;
  checkSqlPlaceholders(r, s);
  s.min = m.num("min");
  s.max = m.num("max");
  s.equals = m.num("equals");
  s.must = readPlainBound(r, "must",
                          "a sql probe's query returns one number, not a share of rows (write "
                          "the percentage into the query)");
  requireOneOf(m, what, {"min", "max", "equals", "must"});
  return s;
}

// max_lag_seconds: a plain number of seconds, or a duration.
void readMaxLagSeconds(ProbeReader& r, ConsumerLagSpec& s) {
  MapReader& m = r.m;
  if (!m.has("max_lag_seconds")) return;
  auto raw = m.str("max_lag_seconds");
  if (raw && !raw->empty() && std::all_of(raw->begin(), raw->end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    s.max_lag_seconds = std::chrono::seconds(std::stoll(*raw));
  } else if (auto d = m.duration("max_lag_seconds")) {
    s.max_lag_seconds = *d;
  }
}

ConsumerLagSpec readConsumerLag(ProbeReader& r) {
  MapReader& m = r.m;
  const std::string& what = r.what;
  ConsumerLagSpec s;
  if (!r.p.table.empty())
    m.error("table", what + ": consumer_lag probes need a topic, not a table");
  if (auto v = m.str("group", true)) s.group = *v;
  if (auto v = m.integer("max_lag_messages")) {
    if (*v < 0)
      m.error("max_lag_messages", what + ": max_lag_messages must be >= 0");
    else
      s.max_lag_messages = *v;
  }
  readMaxLagSeconds(r, s);
  requireOneOf(m, what, {"max_lag_messages", "max_lag_seconds"});
  return s;
}

ProbeSpec readSpec(ProbeReader& r) {
  switch (r.p.type) {
    case ProbeType::Freshness: return readFreshness(r);
    case ProbeType::Volume: return readVolume(r);
    case ProbeType::Drift: return readDrift(r);
    case ProbeType::Schema: return readSchema(r);
    case ProbeType::Values: return readValues(r);
    case ProbeType::Sql: return readSql(r);
    case ProbeType::ConsumerLag: return readConsumerLag(r);
    case ProbeType::Job: return readJobSpec(r.m, r.what);
  }
  return FreshnessSpec{};
}

// name: and type:; false when the probe cannot be read further.
bool readNameAndType(MapReader& m, ProbeConfig& p) {
  auto name = m.str("name", true);
  if (name) {
    p.name = *name;
    if (!validName(p.name, false))
      m.error("name", "probe name \"" + p.name + "\" must match [a-z0-9_]+");
  }
  const std::string what = "probe \"" + p.name + "\"";
  m.setWhat(what);
  auto type = m.str("type", true);
  if (!type) return false;
  auto pt = probeTypeFromString(*type);
  if (!pt) {
    m.error("type",
            what + ": unknown probe type \"" + *type +
                "\" (expected freshness, volume, drift, schema, values, sql, consumer_lag or "
                "job)" +
                didYouMean(*type, {"freshness", "volume", "drift", "schema", "values", "sql",
                                   "consumer_lag", "job"}));
    return false;
  }
  p.type = *pt;
  return true;
}

}  // namespace

void parseProbe(Ctx& ctx, const Entry& e, std::vector<ProbeConfig>& out) {
  MapReader m(ctx, *e.doc, e.node, "probe");
  if (!m.ok()) return;
  ProbeConfig p;
  p.loc = m.loc();
  if (!readNameAndType(m, p)) return;
  checkProbeKeys(m, p.type);
  ProbeReader r{m, p, "probe \"" + p.name + "\""};
  readCommon(r);
  if (p.fromLineage())
    checkLineageProbe(m, p, r.what);
  else
    checkTarget(r);
  p.spec = readSpec(r);
  out.push_back(std::move(p));
}

}  // namespace datawatch::config::detail
