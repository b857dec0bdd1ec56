#include <catch2/catch.hpp>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/time_format.hpp"
#include "core/utf8.hpp"
#include "lineage/run_event.hpp"
#include "tests/support/openlineage_events.hpp"

namespace ol = datawatch::testing::openlineage;
namespace lineage = datawatch::lineage;
using datawatch::parseTimestamp;
using datawatch::toUnixMillis;
using lineage::EventType;
using nlohmann::json;

namespace {

const std::string kPg = "postgres://db:5432";

ol::AirflowTask loadOrders() {
  auto t = ol::airflowTask("orders_dag", "load_orders", ol::runId(1));
  t.inputs = {ol::table(kPg, "shop.public.orders_raw")};
  t.outputs = {ol::table(kPg, "shop.public.orders", 1200)};
  return t;
}

lineage::RunEvent parsed(const json& j) {
  auto r = lineage::parseRunEvent(j);
  INFO((r.ok() ? std::string() : r.error()));
  REQUIRE(r.ok());
  return std::move(*r);
}

std::string errorOf(const json& j) {
  auto r = lineage::parseRunEvent(j);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

}  // namespace

TEST_CASE("an Airflow task START parses into a typed event", "[lineage]") {
  const auto t = loadOrders();
  const auto e = parsed(ol::airflowEvent(t, "START", "2026-11-30T02:00:04.512331+00:00"));
  CHECK(e.type == EventType::Start);
  CHECK(e.event_time == *parseTimestamp("2026-11-30T02:00:04.512Z"));
  CHECK(e.run_id == ol::runId(1));
  CHECK(e.job_namespace == "airflow");
  CHECK(e.job_name == "orders_dag.load_orders");
  CHECK(e.jobKey() == "airflow/orders_dag.load_orders");
  CHECK(e.producer == ol::kAirflowProducer);
  CHECK(e.schema_url == ol::kSchemaUrl);
  REQUIRE(e.inputs.size() == 1);
  CHECK(e.inputs[0].key() == "postgres://db:5432/shop.public.orders_raw");
  CHECK_FALSE(e.inputs[0].row_count);
  REQUIRE(e.outputs.size() == 1);
  CHECK(e.outputs[0].key() == "postgres://db:5432/shop.public.orders");
  CHECK(e.outputs[0].row_count == 1200);
  CHECK_FALSE(e.error_message);
  // The document is kept whole: facets and all.
  CHECK(e.doc["run"]["facets"]["airflow"]["dag"]["dag_id"] == "orders_dag");
  CHECK(e.doc["run"]["facets"]["nominalTime"]["nominalStartTime"] == "2026-11-30T02:00:00+00:00");
  CHECK(e.idempotencyKey() ==
        ol::runId(1) + "|START|" + std::to_string(toUnixMillis(e.event_time)));
}

TEST_CASE("FAIL events carry errorMessage, Spark outputs their rowCount", "[lineage]") {
  const auto fail = parsed(ol::airflowFailEvent(loadOrders(), "2026-11-30T02:01:00.000001+00:00",
                                                "relation \"orders_raw\" does not exist"));
  CHECK(fail.type == EventType::Fail);
  CHECK(fail.error_message == "relation \"orders_raw\" does not exist");
  CHECK(fail.doc["run"]["facets"]["errorMessage"]["programmingLanguage"] == "python");

  auto s = ol::sparkJob("orders_daily", "execute_insert_into_hadoop_fs_relation_command.orders",
                        ol::runId(7));
  s.inputs = {ol::table("s3://lake", "raw/orders")};
  s.outputs = {ol::table("hdfs://namenode:8020", "/warehouse/orders_daily", 98765)};
  const auto done = parsed(ol::sparkEvent(s, "COMPLETE", "2026-11-30T03:10:02.345Z"));
  CHECK(done.type == EventType::Complete);
  CHECK(done.event_time == *parseTimestamp("2026-11-30T03:10:02.345Z"));
  CHECK(done.jobKey() ==
        "spark/orders_daily.execute_insert_into_hadoop_fs_relation_command.orders");
  REQUIRE(done.outputs.size() == 1);
  CHECK(done.outputs[0].key() == "hdfs://namenode:8020//warehouse/orders_daily");
  CHECK(done.outputs[0].row_count == 98765);

  const auto spark_fail =
      parsed(ol::sparkFailEvent(s, "2026-11-30T03:10:02.345Z", "Job aborted due to stage failure"));
  CHECK(spark_fail.error_message == "Job aborted due to stage failure");
  CHECK(spark_fail.doc["run"]["facets"]["errorMessage"]["programmingLanguage"] == "JAVA");
  CHECK(parsed(ol::sparkEvent(s, "RUNNING", "2026-11-30T03:10:01.000Z")).type ==
        EventType::Running);
}

TEST_CASE("eventTime: RFC 3339 with a zone, as Python and Java print it", "[lineage]") {
  auto e = ol::airflowEvent(loadOrders(), "START", "");
  const auto at = [&](const std::string& text) {
    e["eventTime"] = text;
    return lineage::parseRunEvent(e);
  };
  const auto expected = *parseTimestamp("2026-11-30T02:00:00.123Z");
  for (const std::string ok : {"2026-11-30T02:00:00.123Z", "2026-11-30T02:00:00.123456+00:00",
                               "2026-11-30T04:00:00.123+02:00", "2026-11-29T21:00:00.1239-05:00",
                               "2026-11-30t02:00:00.123z", "2026-11-30T03:00:00.123+0100"}) {
    INFO(ok);
    auto r = at(ok);
    REQUIRE(r.ok());
    CHECK(r->event_time == expected);  // kept at millisecond precision
  }
  CHECK(at("2026-11-30T02:00:00Z")->event_time == *parseTimestamp("2026-11-30T02:00:00Z"));
  for (const std::string bad :
       {"2026-11-30", "2026-11-30T02:00:00", "2026-11-30T02:00Z", "2026-11-30T02:00:00.Z",
        "2026-13-01T00:00:00Z", "2026-11-30T02:00:00+2", "yesterday", ""}) {
    INFO(bad);
    auto r = at(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "eventTime \"" + bad + "\" is not an RFC 3339 date-time with a zone");
  }
}

TEST_CASE("the same instant in two zone spellings is one event", "[lineage]") {
  auto t = loadOrders();
  const auto utc = parsed(ol::airflowEvent(t, "COMPLETE", "2026-11-30T10:00:00.250Z"));
  const auto cest = parsed(ol::airflowEvent(t, "COMPLETE", "2026-11-30T12:00:00.250+02:00"));
  const auto micro = parsed(ol::airflowEvent(t, "COMPLETE", "2026-11-30T10:00:00.250999+00:00"));
  CHECK(utc.idempotencyKey() == cest.idempotencyKey());
  CHECK(utc.idempotencyKey() == micro.idempotencyKey());
  const auto start = parsed(ol::airflowEvent(t, "START", "2026-11-30T10:00:00.250Z"));
  CHECK(start.idempotencyKey() != utc.idempotencyKey());
}

TEST_CASE("each required field missing is refused by name", "[lineage]") {
  const json good = ol::airflowEvent(loadOrders(), "START", "2026-11-30T02:00:04.512331+00:00");
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"/eventTime", "eventTime is missing"},
      {"/eventType", "eventType is missing"},
      {"/run", "run is missing"},
      {"/run/runId", "run.runId is missing"},
      {"/job", "job is missing"},
      {"/job/namespace", "job.namespace is missing"},
      {"/job/name", "job.name is missing"},
      {"/producer", "producer is missing"},
      {"/schemaURL", "schemaURL is missing"},
  };
  for (const auto& [pointer, message] : rows) {
    INFO(pointer);
    json e = good;
    const json::json_pointer p(pointer);
    e[p.parent_pointer()].erase(p.back());
    CHECK(errorOf(e) == message);
  }
}

TEST_CASE("wrong JSON types and bad values name the field", "[lineage]") {
  const json good = ol::airflowEvent(loadOrders(), "START", "2026-11-30T02:00:04.512331+00:00");
  const std::vector<std::tuple<std::string, json, std::string>> rows = {
      {"/run/runId", 42, "run.runId must be a string, not a number"},
      {"/run/runId", "", "run.runId is empty"},
      {"/run", json::array(), "run must be an object, not an array"},
      {"/job", nullptr, "job must be an object, not null"},
      {"/job/name", "", "job.name is empty"},
      {"/job/namespace", true, "job.namespace must be a string, not a boolean"},
      {"/eventTime", 1796004000, "eventTime must be a string, not a number"},
      {"/eventType", "DONE",
       "eventType \"DONE\" is not one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER"},
      {"/eventType", "start",
       "eventType \"start\" is not one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER"},
      {"/producer", "", "producer is empty"},
      {"/schemaURL", json::object(), "schemaURL must be a string, not an object"},
      {"/inputs", json::object(), "inputs must be an array, not an object"},
      {"/inputs/0", "orders_raw", "inputs[0] must be an object, not a string"},
      {"/inputs/0/name", nullptr, "inputs[0].name must be a string, not null"},
      {"/outputs/0/namespace", 5, "outputs[0].namespace must be a string, not a number"},
  };
  for (const auto& [pointer, value, message] : rows) {
    INFO(pointer << " = " << value.dump());
    json e = good;
    e[json::json_pointer(pointer)] = value;
    CHECK(errorOf(e) == message);
  }
  json no_name = good;
  no_name["outputs"].push_back({{"namespace", kPg}});
  CHECK(errorOf(no_name) == "outputs[1].name is missing");
  CHECK(errorOf(json::array()) == "an event must be a JSON object, not an array");
}

TEST_CASE("unknown fields pass, facets of odd shapes are kept but not read", "[lineage]") {
  json e = ol::airflowEvent(loadOrders(), "OTHER", "2026-11-30T02:00:04Z");
  e["x-vendor"] = {{"anything", {1, 2, 3}}};
  e["job"]["facets"]["sql"] = "not an object";
  e["run"]["facets"]["errorMessage"] = {{"message", 17}};
  e["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] = 12.5;
  e["inputs"] = nullptr;  // null: no inputs
  auto r = parsed(e);
  CHECK(r.type == EventType::Other);
  CHECK(r.inputs.empty());
  CHECK_FALSE(r.error_message);  // not a string: not read
  REQUIRE(r.outputs.size() == 1);
  CHECK_FALSE(r.outputs[0].row_count);  // not an integer: ignored
  CHECK(r.doc["x-vendor"]["anything"] == json({1, 2, 3}));
  CHECK(r.doc["job"]["facets"]["sql"] == "not an object");

  e["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] = "1200";
  CHECK_FALSE(parsed(e).outputs[0].row_count);
  e["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] = 0;
  CHECK(parsed(e).outputs[0].row_count == 0);
  e["outputs"][0]["outputFacets"] = "odd";
  CHECK_FALSE(parsed(e).outputs[0].row_count);
}

TEST_CASE("non-UTF-8 bytes anywhere become U+FFFD, in the doc too", "[lineage]") {
  const std::string bad = "relation \xFF\xFEorders\xC3";
  const std::string fixed = "relation \xEF\xBF\xBD\xEF\xBF\xBDorders\xEF\xBF\xBD";
  json e = ol::airflowFailEvent(loadOrders(), "2026-11-30T02:01:00Z", bad);
  e["run"]["facets"]["errorMessage"]["stackTrace"] = "at line \x80";
  e["run"]["facets"]["custom\xC0"] = {{"k", "v\xF5"}};

  // Through a body holding the raw bytes (nlohmann's parser alone refuses them).
  const std::string body =
      std::string(R"({"eventTime":"2026-11-30T02:01:00Z","eventType":"FAIL",)") +
      R"("producer":"p","schemaURL":"s","job":{"namespace":"airflow","name":"d.t"},)" +
      R"("run":{"runId":"r1","facets":{"errorMessage":{"message":")" + bad +
      R"(","stackTrace":"at line )" + "\x80" + R"("},"custom)" + "\xC0" + R"(":{"k":"v)" + "\xF5" +
      R"("}}}})";
  auto events = lineage::parseRunEvents(body);
  REQUIRE(events.ok());
  REQUIRE(events->size() == 1);
  const auto& fromBody = events->front();
  CHECK(fromBody.error_message == fixed);
  CHECK(fromBody.doc["run"]["facets"]["errorMessage"]["stackTrace"] == "at line \xEF\xBF\xBD");
  CHECK(fromBody.doc["run"]["facets"]["custom\xEF\xBF\xBD"]["k"] == "v\xEF\xBF\xBD");
  CHECK_NOTHROW(fromBody.doc.dump());  // strict dump: every string valid

  // Through a json built in code (the state store's rows).
  const auto fromJson = parsed(e);
  CHECK(fromJson.error_message == fixed);
  CHECK(fromJson.doc["run"]["facets"]["custom\xEF\xBF\xBD"]["k"] == "v\xEF\xBF\xBD");
  CHECK_NOTHROW(fromJson.doc.dump());
  json bad_id = e;
  bad_id["run"]["runId"] = "run\xFF";
  CHECK(parsed(bad_id).run_id == "run\xEF\xBF\xBD");
}

TEST_CASE("a body is one event or a batch, accepted or refused whole", "[lineage]") {
  auto t = loadOrders();
  const json start = ol::airflowEvent(t, "START", "2026-11-30T02:00:04.512331+00:00");
  const json done = ol::airflowEvent(t, "COMPLETE", "2026-11-30T02:00:09.100000+00:00");
  auto s = ol::sparkJob("orders_daily", "collect_limit", ol::runId(2));
  const json spark = ol::sparkEvent(s, "START", "2026-11-30T03:10:00.001Z");

  auto one = lineage::parseRunEvents(ol::body(start));
  REQUIRE(one.ok());
  REQUIRE(one->size() == 1);
  CHECK(one->front().type == EventType::Start);

  auto batch = lineage::parseRunEvents(ol::batchBody({start, done, spark}));
  REQUIRE(batch.ok());
  REQUIRE(batch->size() == 3);
  CHECK((*batch)[1].type == EventType::Complete);
  CHECK((*batch)[2].jobKey() == "spark/orders_daily.collect_limit");

  json broken = done;
  broken["run"].erase("runId");
  auto refused = lineage::parseRunEvents(ol::batchBody({start, broken, spark}));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error() == "event 1: run.runId is missing");

  CHECK(lineage::parseRunEvents("[]").error() == "body is an empty array: no events");
  CHECK(lineage::parseRunEvents("42").error() ==
        "body must be an event (a JSON object) or an array of events, not a number");
  CHECK(lineage::parseRunEvents("[1]").error() ==
        "event 0: an event must be a JSON object, not a number");
  CHECK_THAT(lineage::parseRunEvents("{\"eventTime\": ").error(),
             Catch::StartsWith("body is not JSON: "));
  CHECK_THAT(lineage::parseRunEvents("").error(), Catch::StartsWith("body is not JSON: "));
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK(lineage::parseRunEvents(deep).error() == "body nests deeper than 128 levels");
  for (const auto& message :
       {lineage::parseRunEvents("{\"eventTime\": ").error(), refused.error()}) {
    CHECK(message.find('\n') == std::string::npos);  // one line: the 400 answer's text
  }
}

TEST_CASE("event types and keys spell as the spec does", "[lineage]") {
  for (const auto t : {EventType::Start, EventType::Running, EventType::Complete, EventType::Abort,
                       EventType::Fail, EventType::Other}) {
    CHECK(lineage::eventTypeFromString(lineage::toString(t)) == t);
  }
  CHECK_FALSE(lineage::eventTypeFromString("Complete"));
  CHECK(lineage::isTerminal(EventType::Abort));
  CHECK_FALSE(lineage::isTerminal(EventType::Running));
  CHECK(lineage::nodeKey("s3://lake", "raw/orders") == "s3://lake/raw/orders");
}
