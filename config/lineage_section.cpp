// What OpenLineage events feed: job probes, dataset probes, a source's
// lineage namespace (lineage_section.hpp).
#include "config/lineage_section.hpp"

namespace datawatch::config::detail {

namespace {

// "namespace/name" as lineage/run_event.hpp keys a job or a dataset: a '/'
// with text on both sides. The key is compared as written, never split, so a
// namespace holding "://" or a name holding '/' is fine.
bool isLineageKey(std::string_view key) {
  return key.size() >= 3 && key.front() != '/' && key.back() != '/' &&
         key.find('/') != std::string_view::npos;
}

template <typename Spec>
void readLineageSchedule(MapReader& m, const std::string& what, Spec& s) {
  if (auto v = m.str("schedule")) {
    auto c = CronExpr::parse(*v);
    if (!c)
      m.error("schedule", what + ": schedule: " + c.error());
    else
      s.schedule = *c;
  }
  if (auto d = m.duration("grace", false, Duration{0})) s.grace = *d;
  if (m.has("grace") && !m.has("schedule"))
    m.error("grace", what + ": grace applies only with a schedule");
  auto tz_name = m.str("timezone");
  if (!tz_name) return;
  auto tz = TimeZone::load(*tz_name);
  if (!tz) {
    m.error("timezone", what + ": " + tz.error());
  } else {
    s.timezone = *tz_name;
    s.tz = std::make_shared<TimeZone>(std::move(tz).value());
  }
  if (!m.has("schedule")) m.error("timezone", what + ": timezone applies only with a schedule");
}

// A dataset probe has no table to query: the keys that would read one.
void checkDatasetProbeKeys(MapReader& m, const ProbeConfig& p, const std::string& what) {
  if (p.type == ProbeType::Freshness) {
    for (const std::string k : {"column", "filter", "oldest"}) {
      if (m.has(k))
        m.error(k, what + ": " + k +
                       " is not available for dataset freshness: the age is that of the last "
                       "COMPLETE run that listed the dataset in its outputs");
    }
    return;
  }
  for (const std::string k : {"column", "window", "anomaly", "filter", "method"}) {
    if (m.has(k))
      m.error(k, what + ": " + k +
                     " is not available for dataset volume: the row count comes from "
                     "outputStatistics.rowCount");
  }
}

}  // namespace

const std::vector<std::string_view>& jobProbeKeys() {
  static const std::vector<std::string_view> k{"job",   "max_age",  "schedule",
                                               "grace", "timezone", "max_duration"};
  return k;
}

void readProbeDataset(MapReader& m, ProbeConfig& p, const std::string& what) {
  auto v = m.str("dataset");
  if (!v) return;
  if (!isLineageKey(*v))
    m.error("dataset", what + ": dataset \"" + *v +
                           "\" must be \"namespace/name\": the OpenLineage dataset's namespace, "
                           "'/' and its name (\"postgres://db:5432/shop.public.orders\")");
  p.dataset = *v;
}

void checkLineageProbe(MapReader& m, ProbeConfig& p, const std::string& what) {
  const bool job = p.type == ProbeType::Job;
  if (!p.dataset.empty() && p.type != ProbeType::Freshness && p.type != ProbeType::Volume) {
    m.error("dataset", what + ": dataset is taken by freshness and volume probes only" +
                           (job ? std::string(" (a job probe watches the runs of its job)")
                                : std::string(", not by ") + toString(p.type) + " probes"));
    if (!job) return;  // a table probe with a stray dataset: the rest would be noise
  }
  for (const std::string k : {"source", "table", "topic"}) {
    if (m.has(k))
      m.error(k, what + ": " + (job ? "job" : "dataset") +
                     " probes are fed by OpenLineage events: remove " + k);
  }
  if (!job) checkDatasetProbeKeys(m, p, what);
  if (!m.has("every")) p.every = std::chrono::minutes(1);
}

JobSpec readJobSpec(MapReader& m, const std::string& what) {
  JobSpec s;
  if (auto v = m.str("job", true)) {
    s.job = *v;
    if (!isLineageKey(*v))
      m.error("job", what + ": job \"" + *v +
                         "\" must be \"namespace/name\": the OpenLineage job's namespace, '/' and "
                         "its name (\"airflow/orders_dag.load_orders\")");
  }
  if (auto d = m.duration("max_age")) s.max_age = *d;
  readLineageSchedule(m, what, s);
  if (auto d = m.duration("max_duration")) s.max_duration = *d;
  if (!m.has("max_age") && !m.has("schedule") && !m.has("max_duration"))
    m.ctx().error(m.loc(), what +
                               ": a job probe needs at least one of max_age, schedule (with "
                               "grace) and max_duration");
  return s;
}

void readScheduleKeys(MapReader& m, const std::string& what, FreshnessSpec& s) {
  readLineageSchedule(m, what, s);
}

void readSourceLineage(MapReader& m, SourceConfig& s) {
  const std::string what = "source \"" + s.name + "\"";
  if (auto v = m.str("lineage_namespace")) {
    if (v->empty()) {
      m.error("lineage_namespace",
              what + ": lineage_namespace must not be empty (leave it out: no namespace)");
    } else {
      s.lineage_namespace = *v;
      if (v->back() == '/')
        m.ctx().warning(m.loc("lineage_namespace"),
                        what + ": lineage_namespace \"" + *v +
                            "\" ends with '/': OpenLineage namespaces do not "
                            "(\"postgres://db:5432\"), so no dataset may match");
    }
  }
  if (auto v = m.str("lineage_database")) {
    if (!m.has("lineage_namespace"))
      m.error("lineage_database",
              what +
                  ": lineage_database needs lineage_namespace (it prefixes the names of the "
                  "datasets in that namespace)");
    else if (v->empty())
      m.error("lineage_database",
              what + ": lineage_database must not be empty (leave it out: any database)");
    else
      s.lineage_database = *v;
  }
}

}  // namespace datawatch::config::detail
