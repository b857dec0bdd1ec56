#pragma once
// OpenLineage RunEvents as real producers send them to POST /api/v1/lineage:
// Airflow's OpenLineage provider (apache-airflow-providers-openlineage: one
// run per task instance, Python isoformat times "…T02:00:04.512331+00:00") and
// Spark's OpenLineage listener (one run per Spark action, Java times
// "…T03:10:02.345Z", RUNNING events between START and COMPLETE). Each event
// carries the facets those producers attach (nominalTime, parent,
// processing_engine, airflow / spark_properties, jobType, schema, dataSource,
// outputStatistics, errorMessage with stackTrace and programmingLanguage), so
// a consumer is tested against what it will receive, not against a minimal
// event. Header-only; shared by the unit, HTTP and end-to-end tests.
//
//   auto task = openlineage::airflowTask("orders_dag", "load_orders", openlineage::runId(1));
//   task.outputs = {openlineage::table("postgres://db:5432", "shop.public.orders", 1200)};
//   auto start = openlineage::airflowEvent(task, "START", "2026-11-30T02:00:04.512331+00:00");

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace datawatch::testing::openlineage {

inline constexpr const char* kSchemaUrl =
    "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
inline constexpr const char* kAirflowProducer =
    "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0";
inline constexpr const char* kSparkProducer =
    "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/spark";

// A UUID-shaped runId, distinct per n (the producers send UUIDs, v7 lately).
inline std::string runId(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "01937c1e-8a00-7c3e-9f52-%012x", static_cast<unsigned>(n));
  return buf;
}

// The base facet fields every facet carries.
inline nlohmann::json facet(const char* producer, std::string_view spec_facet,
                            nlohmann::json fields = nlohmann::json::object()) {
  fields["_producer"] = producer;
  fields["_schemaURL"] = "https://openlineage.io/spec/facets/1-0-1/" + std::string(spec_facet) +
                         ".json#/$defs/" + std::string(spec_facet);
  return fields;
}

struct Dataset {
  std::string ns;    // "postgres://db:5432", "s3://lake", "hdfs://namenode:8020"
  std::string name;  // "shop.public.orders", "raw/orders", "/warehouse/orders_daily"
  std::vector<std::pair<std::string, std::string>> fields;  // the schema facet: (name, type)
  std::optional<int64_t> row_count;  // as an output: outputStatistics.rowCount
};

inline Dataset table(std::string ns, std::string name,
                     std::optional<int64_t> row_count = std::nullopt) {
  return Dataset{std::move(ns),
                 std::move(name),
                 {{"id", "integer"}, {"amount", "numeric(12,2)"}, {"created_at", "timestamp"}},
                 row_count};
}

inline nlohmann::json datasetJson(const Dataset& d, const char* producer, bool output) {
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& [name, type] : d.fields) fields.push_back({{"name", name}, {"type", type}});
  nlohmann::json j = {
      {"namespace", d.ns},
      {"name", d.name},
      {"facets",
       {{"dataSource", facet(producer, "DatasourceDatasetFacet", {{"name", d.ns}, {"uri", d.ns}})},
        {"schema", facet(producer, "SchemaDatasetFacet", {{"fields", fields}})}}}};
  if (!output) {
    j["inputFacets"] = nlohmann::json::object();
  } else {
    j["outputFacets"] = nlohmann::json::object();
    if (d.row_count)
      j["outputFacets"]["outputStatistics"] =
          facet(producer, "OutputStatisticsOutputDatasetFacet",
                {{"rowCount", *d.row_count}, {"size", *d.row_count * 64}});
  }
  return j;
}

inline nlohmann::json errorFacet(const char* producer, std::string_view message,
                                 std::string_view language, std::string_view stack_trace) {
  return facet(
      producer, "ErrorMessageRunFacet",
      {{"message", message}, {"programmingLanguage", language}, {"stackTrace", stack_trace}});
}

// ---------------------------------------------------------------- Airflow
// One task instance of a DAG run: job `namespace` "airflow" (the provider's
// default), name "<dag_id>.<task_id>", the DAG run as the parent.
struct AirflowTask {
  std::string ns = "airflow";
  std::string dag_id;
  std::string task_id;
  std::string run_id;          // the task instance's runId
  std::string dag_run_run_id;  // the DAG run's runId (the parent facet)
  std::string logical_date = "2026-11-30T02:00:00+00:00";
  std::string operator_class = "SQLExecuteQueryOperator";
  int try_number = 1;
  std::vector<Dataset> inputs;
  std::vector<Dataset> outputs;
  std::string jobName() const { return dag_id + "." + task_id; }
};

inline AirflowTask airflowTask(std::string dag_id, std::string task_id, std::string run_id) {
  AirflowTask t;
  t.dag_id = std::move(dag_id);
  t.task_id = std::move(task_id);
  t.run_id = std::move(run_id);
  t.dag_run_run_id = "01937c1e-0000-7000-8000-00000000d4a9";
  return t;
}

// eventType START, RUNNING, COMPLETE, FAIL, ...; eventTime as Python prints it.
inline nlohmann::json airflowEvent(const AirflowTask& t, std::string_view event_type,
                                   std::string_view event_time) {
  const char* p = kAirflowProducer;
  const std::string dag_run = "scheduled__" + t.logical_date;
  nlohmann::json run_facets = {
      {"nominalTime",
       facet(p, "NominalTimeRunFacet",
             {{"nominalStartTime", t.logical_date}, {"nominalEndTime", t.logical_date}})},
      {"parent", facet(p, "ParentRunFacet",
                       {{"job", {{"namespace", t.ns}, {"name", t.dag_id}}},
                        {"run", {{"runId", t.dag_run_run_id}}}})},
      {"processing_engine",
       facet(
           p, "ProcessingEngineRunFacet",
           {{"name", "Airflow"}, {"version", "2.10.3"}, {"openlineageAdapterVersion", "1.14.0"}})},
      {"airflow",
       facet(p, "AirflowRunFacet",
             {{"dag",
               {{"dag_id", t.dag_id},
                {"schedule_interval", "0 2 * * *"},
                {"owner", "data-eng"},
                {"tags", "['orders']"},
                {"timetable", {{"expression", "0 2 * * *"}, {"timezone", "UTC"}}}}},
              {"dagRun",
               {{"dag_id", t.dag_id},
                {"run_id", dag_run},
                {"run_type", "scheduled"},
                {"data_interval_start", t.logical_date},
                {"data_interval_end", t.logical_date},
                {"external_trigger", false}}},
              {"task",
               {{"task_id", t.task_id},
                {"operator_class", t.operator_class},
                {"retries", 2},
                {"owner", "data-eng"},
                {"depends_on_past", false}}},
              {"taskInstance",
               {{"try_number", t.try_number}, {"pool", "default_pool"}, {"queue", "default"}}},
              {"taskUuid", t.run_id}})}};
  nlohmann::json inputs = nlohmann::json::array(), outputs = nlohmann::json::array();
  for (const auto& d : t.inputs) inputs.push_back(datasetJson(d, p, false));
  for (const auto& d : t.outputs) outputs.push_back(datasetJson(d, p, true));
  return {
      {"eventTime", event_time},
      {"eventType", event_type},
      {"producer", p},
      {"schemaURL", kSchemaUrl},
      {"run", {{"runId", t.run_id}, {"facets", std::move(run_facets)}}},
      {"job",
       {{"namespace", t.ns},
        {"name", t.jobName()},
        {"facets",
         {{"jobType",
           facet(p, "JobTypeJobFacet",
                 {{"processingType", "BATCH"}, {"integration", "AIRFLOW"}, {"jobType", "TASK"}})},
          {"ownership",
           facet(p, "OwnershipJobFacet", {{"owners", {{{"name", "data-eng"}, {"type", ""}}}}})}}}}},
      {"inputs", std::move(inputs)},
      {"outputs", std::move(outputs)}};
}

// The FAIL event of a task whose callable raised: errorMessage with a Python
// traceback.
inline nlohmann::json airflowFailEvent(const AirflowTask& t, std::string_view event_time,
                                       std::string_view message) {
  nlohmann::json e = airflowEvent(t, "FAIL", event_time);
  e["run"]["facets"]["errorMessage"] =
      errorFacet(kAirflowProducer, message, "python",
                 "Traceback (most recent call last):\n"
                 "  File \"/opt/airflow/dags/orders.py\", line 42, in load_orders\n"
                 "    cursor.execute(sql)\n"
                 "psycopg2.errors.UndefinedTable: " +
                     std::string(message) + "\n");
  return e;
}

// ---------------------------------------------------------------- Spark
// One Spark action of an application: job name "<app>.<action>.<output>" as
// the listener builds it, the application's run as the parent.
struct SparkJob {
  std::string ns = "spark";
  std::string app_name;
  std::string job_name;
  std::string run_id;
  std::string app_run_id;  // the application's runId (the parent facet)
  std::vector<Dataset> inputs;
  std::vector<Dataset> outputs;
};

inline SparkJob sparkJob(std::string app_name, std::string action_and_output, std::string run_id) {
  SparkJob j;
  j.job_name = app_name + "." + action_and_output;
  j.app_name = std::move(app_name);
  j.run_id = std::move(run_id);
  j.app_run_id = "01937c1e-5a5a-7000-8000-00000000a99e";
  return j;
}

// eventTime as the Java client prints it ("2026-11-30T03:10:02.345Z").
inline nlohmann::json sparkEvent(const SparkJob& s, std::string_view event_type,
                                 std::string_view event_time) {
  const char* p = kSparkProducer;
  nlohmann::json run_facets = {
      {"parent", facet(p, "ParentRunFacet",
                       {{"job", {{"namespace", s.ns}, {"name", s.app_name}}},
                        {"run", {{"runId", s.app_run_id}}}})},
      {"processing_engine",
       facet(p, "ProcessingEngineRunFacet",
             {{"version", "3.5.1"}, {"name", "spark"}, {"openlineageAdapterVersion", "1.24.2"}})},
      {"spark_properties", facet(p, "RunFacet",
                                 {{"properties",
                                   {{"spark.master", "yarn"},
                                    {"spark.app.name", s.app_name},
                                    {"spark.submit.deployMode", "cluster"}}}})},
      {"environment-properties", facet(p, "RunFacet", {{"environment-properties", {}}})}};
  nlohmann::json inputs = nlohmann::json::array(), outputs = nlohmann::json::array();
  for (const auto& d : s.inputs) inputs.push_back(datasetJson(d, p, false));
  for (const auto& d : s.outputs) {
    nlohmann::json o = datasetJson(d, p, true);
    o["facets"]["lifecycleStateChange"] =
        facet(p, "LifecycleStateChangeDatasetFacet", {{"lifecycleStateChange", "OVERWRITE"}});
    if (d.row_count) o["outputFacets"]["outputStatistics"]["fileCount"] = 4;
    outputs.push_back(std::move(o));
  }
  return {{"eventTime", event_time},
          {"producer", p},
          {"schemaURL", kSchemaUrl},
          {"eventType", event_type},
          {"run", {{"runId", s.run_id}, {"facets", std::move(run_facets)}}},
          {"job",
           {{"namespace", s.ns},
            {"name", s.job_name},
            {"facets",
             {{"jobType", facet(p, "JobTypeJobFacet",
                                {{"processingType", "BATCH"},
                                 {"integration", "SPARK"},
                                 {"jobType", "SQL_JOB"}})}}}}},
          {"inputs", std::move(inputs)},
          {"outputs", std::move(outputs)}};
}

// The FAIL event of an aborted action: errorMessage with a JVM stack trace.
inline nlohmann::json sparkFailEvent(const SparkJob& s, std::string_view event_time,
                                     std::string_view message) {
  nlohmann::json e = sparkEvent(s, "FAIL", event_time);
  e["run"]["facets"]["errorMessage"] =
      errorFacet(kSparkProducer, message, "JAVA",
                 "org.apache.spark.SparkException: " + std::string(message) +
                     "\n\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages("
                     "DAGScheduler.scala:2856)\n\tat org.apache.spark.sql.execution.datasources."
                     "FileFormatWriter$.write(FileFormatWriter.scala:268)\n");
  return e;
}

// ---------------------------------------------------------------- bodies
// The body of one POST: a single event, or the array the HTTP transport's
// batching sends.
inline std::string body(const nlohmann::json& event) {
  return event.dump();
}
inline std::string batchBody(const std::vector<nlohmann::json>& events) {
  return nlohmann::json(events).dump();
}

}  // namespace datawatch::testing::openlineage
