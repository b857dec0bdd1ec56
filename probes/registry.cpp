#include "probes/registry.hpp"

#include <stdexcept>

#include "probes/drift.hpp"
#include "probes/kafka_probes.hpp"
#include "probes/kafka_source.hpp"
#include "probes/odbc_source.hpp"
#include "probes/postgres_source.hpp"
#include "probes/sql_probes.hpp"
#include "probes/sqlite_source.hpp"

namespace datawatch {

void SourceRegistry::add(const std::string& type, Factory f) {
  if (!factories_.emplace(type, std::move(f)).second) {
    throw std::logic_error("source type registered twice: " + type);
  }
}

Result<std::unique_ptr<Source>> SourceRegistry::create(const config::SourceConfig& cfg,
                                                       const Clock& clock) const {
  auto it = factories_.find(toString(cfg.type));
  if (it == factories_.end()) {
    return Result<std::unique_ptr<Source>>::Error(std::string("source type ") + toString(cfg.type) +
                                                  " is not supported by this build yet");
  }
  return it->second(cfg, clock);
}

void ProbeRegistry::add(const std::string& type, Factory f) {
  if (!factories_.emplace(type, std::move(f)).second) {
    throw std::logic_error("probe type registered twice: " + type);
  }
}

std::string unsupportedProbeMessage(std::string_view type) {
  return "probe type " + std::string(type) + " is not supported by this build yet";
}

std::unique_ptr<Probe> ProbeRegistry::create(const config::ProbeConfig& cfg, Source* source) const {
  auto it = factories_.find(toString(cfg.type));
  if (it == factories_.end())
    return std::make_unique<ErrorProbe>(cfg, unsupportedProbeMessage(toString(cfg.type)));
  if (source == nullptr)
    return std::make_unique<ErrorProbe>(cfg, "source \"" + cfg.source + "\" is not available");
  auto made = it->second(cfg, *source);
  if (!made) return std::make_unique<ErrorProbe>(cfg, made.error());
  return std::move(made).value();
}

void registerBuiltinSources(SourceRegistry& r) {
  r.add(
      "sqlite",
      [](const config::SourceConfig& cfg, const Clock& clock) -> Result<std::unique_ptr<Source>> {
        return std::unique_ptr<Source>(std::make_unique<SqliteSource>(
            cfg.name, std::get<config::SqliteSourceConfig>(cfg.spec), cfg.max_connections, clock));
      });
  r.add("postgres",
        [](const config::SourceConfig& cfg, const Clock& clock) -> Result<std::unique_ptr<Source>> {
          return std::unique_ptr<Source>(std::make_unique<PostgresSource>(
              cfg.name, std::get<config::PostgresSourceConfig>(cfg.spec), cfg.max_connections,
              cfg.statement_timeout, clock, cfg.dialect));
        });
  r.add("odbc",
        [](const config::SourceConfig& cfg, const Clock& clock) -> Result<std::unique_ptr<Source>> {
          return std::unique_ptr<Source>(std::make_unique<OdbcSource>(
              cfg.name, std::get<config::OdbcSourceConfig>(cfg.spec), cfg.dialect,
              cfg.max_connections, cfg.statement_timeout, clock));
        });
  r.add("kafka",
        [](const config::SourceConfig& cfg, const Clock& clock) -> Result<std::unique_ptr<Source>> {
          return std::unique_ptr<Source>(std::make_unique<KafkaSource>(
              cfg.name, std::get<config::KafkaSourceConfig>(cfg.spec), clock));
        });
}

void registerBuiltinProbes(ProbeRegistry& r) {
  // freshness reads a table or a topic, whichever the source holds.
  r.add("freshness",
        [](const config::ProbeConfig& cfg, Source& src) -> Result<std::unique_ptr<Probe>> {
          if (src.type() == config::SourceType::Kafka) return makeTopicFreshnessProbe(cfg, src);
          return makeFreshnessProbe(cfg, src);
        });
  r.add("consumer_lag", makeConsumerLagProbe);
  r.add("volume",
        [](const config::ProbeConfig& cfg, Source& src) -> Result<std::unique_ptr<Probe>> {
          if (src.type() == config::SourceType::Kafka) return makeTopicVolumeProbe(cfg, src);
          return makeVolumeProbe(cfg, src);
        });
  r.add("sql", makeSqlProbe);
  r.add("values", makeValuesProbe);
  r.add("schema", makeSchemaProbe);
  r.add("drift", makeDriftProbe);
}

}  // namespace datawatch
