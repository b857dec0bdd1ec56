#pragma once
// OpenLineage RunEvents (spec/OpenLineage.json, as the HTTP transport POSTs them
// to /api/v1/lineage): parsed and validated once at the door, typed afterwards.
//
// Contract:
// - parseRunEvent() accepts exactly the events the spec makes valid for what we
//   read: eventTime (ISO 8601 with a zone), eventType in START | RUNNING |
//   COMPLETE | ABORT | FAIL | OTHER, run.runId, job.namespace, job.name,
//   producer and schemaURL are required, and each has the right JSON type;
//   inputs/outputs, when present, are arrays of {namespace, name} objects.
//   Anything else is an error whose message names the field ("run.runId is
//   missing", "eventType \"DONE\" is not one of START, RUNNING, ...") — it is the
//   400 answer's text. Unknown fields and facets are kept, never refused.
// - Facets are read, never validated: outputStatistics.rowCount that is not a
//   JSON integer (a float, a string) is ignored (row_count unset), as is an
//   errorMessage.message that is not a string; the event is still accepted,
//   and kept whole in `doc`. null inputs/outputs count as absent.
// - event_time is kept at millisecond precision (that of the identity below).
// - Never throws; every string in a parsed event is valid UTF-8 (invalid
//   sequences replaced by U+FFFD), `doc` included.
// - Identity: an event is the same event when (runId, eventType, eventTime)
//   are — idempotencyKey(). eventTime is compared as an instant (millisecond
//   precision), so "…T10:00:00Z" and "…T12:00:00+02:00" are one event.
//
// Naming (OpenLineage Naming spec): a dataset is `namespace` + `name`
// ("postgres://db:5432" + "shop.public.orders"); a job is `namespace` + `name`
// ("airflow" + "orders_dag.load_orders"). Their key — how config and the graph
// name them — is namespace + "/" + name, compared as written (no splitting, so
// names holding '/' stay unambiguous).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace datawatch::lineage {

enum class EventType { Start, Running, Complete, Abort, Fail, Other };
const char* toString(EventType t);  // "START", ...
std::optional<EventType> eventTypeFromString(std::string_view s);
// COMPLETE, ABORT and FAIL end a run.
inline bool isTerminal(EventType t) {
  return t == EventType::Complete || t == EventType::Abort || t == EventType::Fail;
}

// "namespace/name": the key of a dataset or a job.
std::string nodeKey(std::string_view ns, std::string_view name);

struct DatasetRef {
  std::string ns;
  std::string name;
  // outputs only: outputFacets.outputStatistics.rowCount, when sent.
  std::optional<int64_t> row_count;
  std::string key() const { return nodeKey(ns, name); }
};

struct RunEvent {
  EventType type = EventType::Other;
  TimePoint event_time{};
  std::string run_id;
  std::string job_namespace;
  std::string job_name;
  std::string producer;
  std::string schema_url;
  std::vector<DatasetRef> inputs;
  std::vector<DatasetRef> outputs;
  // run.facets.errorMessage.message (FAIL events of Airflow and Spark), if sent.
  std::optional<std::string> error_message;
  // The event as received (valid UTF-8): what the state store keeps.
  nlohmann::json doc;

  std::string jobKey() const { return nodeKey(job_namespace, job_name); }
  // "runId|EVENTTYPE|unix-millis": equal for the same event sent twice.
  std::string idempotencyKey() const;
};

// One event from its JSON; the error says which field is wrong and why.
Result<RunEvent> parseRunEvent(const nlohmann::json& j);

// A request body: one event (an object) or a batch (an array of them). A batch
// is accepted whole or refused whole: the error names the first bad event by
// its array index, from 0 ("event 3: run.runId is missing"). Not JSON, an
// empty array, another JSON type or nesting deeper than 128 levels is an
// error too.
Result<std::vector<RunEvent>> parseRunEvents(std::string_view body);

}  // namespace datawatch::lineage
