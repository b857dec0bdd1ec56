// The `sources:` section.
#include "config/sections.hpp"

namespace datawatch::config::detail {

namespace {

// This type's keys plus the ones every source has; `elsewhere` names the keys
// of the other types.
void checkSourceKeys(MapReader& m, std::vector<std::string_view> own,
                     const std::map<std::string_view, std::string>& elsewhere) {
  for (auto k : {"type", "max_connections", "statement_timeout", "description"}) own.push_back(k);
  m.checkKeys(own, elsewhere);
}

PostgresSourceConfig readPostgres(Ctx& ctx, MapReader& m) {
  checkSourceKeys(m, {"dsn"}, {{"path", "sqlite sources only"}, {"brokers", "kafka sources only"}});
  PostgresSourceConfig pg;
  if (auto v = m.str("dsn", true)) {
    pg.dsn = *v;
    addDsnSecret(ctx, *v);
  }
  return pg;
}

SqliteSourceConfig readSqlite(const Entry& e, MapReader& m) {
  checkSourceKeys(m, {"path", "busy_timeout"},
                  {{"dsn", "postgres sources only"}, {"brokers", "kafka sources only"}});
  SqliteSourceConfig sq;
  if (auto v = m.str("path", true)) sq.path = resolvePath(*e.doc, *v);
  if (auto d = m.duration("busy_timeout")) sq.busy_timeout = *d;
  return sq;
}

// Kafka properties whose key mentions a password, secret, key or token are secrets.
KafkaSourceConfig readKafka(Ctx& ctx, MapReader& m) {
  checkSourceKeys(m, {"brokers", "properties"},
                  {{"dsn", "postgres sources only"}, {"path", "sqlite sources only"}});
  KafkaSourceConfig k;
  if (auto v = m.str("brokers", true)) k.brokers = *v;
  if (auto p = m.strMap("properties")) {
    for (const auto& [key, value] : *p) {
      if (key.find("password") != std::string::npos || key.find("secret") != std::string::npos ||
          key.find("key") != std::string::npos || key.find("token") != std::string::npos) {
        ctx.addSecret(value);
      }
    }
    k.properties = *p;
  }
  return k;
}

}  // namespace

void parseSource(Ctx& ctx, const Entry& e, std::vector<SourceConfig>& out) {
  MapReader m(ctx, *e.doc, e.node, "source \"" + e.key + "\"");
  if (!m.ok()) return;
  SourceConfig s;
  s.name = e.key;
  s.loc = ctx.loc(*e.doc, e.key_node);
  if (!validName(s.name, true)) {
    ctx.error(s.loc, "source name \"" + s.name + "\" must match [a-z0-9_-]+");
  }
  auto type = m.str("type", true);
  if (!type) return;
  if (auto v = m.intInRange("max_connections", 1, 1024)) s.max_connections = static_cast<int>(*v);
  if (auto d = m.duration("statement_timeout")) s.statement_timeout = *d;
  if (*type == "postgres") {
    s.type = SourceType::Postgres;
    s.spec = readPostgres(ctx, m);
  } else if (*type == "sqlite") {
    s.type = SourceType::Sqlite;
    s.spec = readSqlite(e, m);
  } else if (*type == "kafka") {
    s.type = SourceType::Kafka;
    s.spec = readKafka(ctx, m);
  } else {
    m.error("type", "unknown source type \"" + *type + "\" (expected postgres, sqlite or kafka)" +
                        didYouMean(*type, {"postgres", "sqlite", "kafka"}));
    return;
  }
  out.push_back(std::move(s));
}

}  // namespace datawatch::config::detail
