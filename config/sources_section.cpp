// The `sources:` section.
#include <cctype>

#include "config/lineage_section.hpp"
#include "config/sections.hpp"
#include "core/redact.hpp"

namespace datawatch::config::detail {

namespace {

// This type's keys plus the ones every source has; `elsewhere` names the keys
// of the other types.
void checkSourceKeys(MapReader& m, std::vector<std::string_view> own,
                     const std::map<std::string_view, std::string>& elsewhere) {
  for (auto k : {"type", "max_connections", "statement_timeout", "description", "lineage_namespace",
                 "lineage_database"})
    own.push_back(k);
  m.checkKeys(own, elsewhere);
}

// Registers every secret attribute value of "K=V;K={V;with;semicolons};...".
void addOdbcSecrets(Ctx& ctx, const std::string& conn) {
  size_t i = 0;
  while (i < conn.size()) {
    const size_t eq = conn.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = conn.substr(i, eq - i);
    key.erase(0, key.find_first_not_of(" \t"));
    std::string value;
    size_t j = eq + 1;
    if (j < conn.size() && conn[j] == '{') {  // braced: "}}" is a literal '}'
      for (++j; j < conn.size(); ++j) {
        if (conn[j] == '}' && j + 1 < conn.size() && conn[j + 1] == '}') {
          value += '}';
          ++j;
        } else if (conn[j] == '}') {
          ++j;
          break;
        } else {
          value += conn[j];
        }
      }
      j = conn.find(';', j);
    } else {
      const size_t end = conn.find(';', j);
      value = conn.substr(j, end == std::string::npos ? std::string::npos : end - j);
      j = end;
    }
    if (Redactor::isSecretKey(key)) ctx.addSecret(value);
    if (j == std::string::npos) break;
    i = j + 1;
  }
}

OdbcSourceConfig readOdbc(Ctx& ctx, MapReader& m) {
  checkSourceKeys(m, {"connection", "dsn", "dialect"},
                  {{"path", "sqlite sources only"}, {"brokers", "kafka sources only"}});
  OdbcSourceConfig o;
  if (auto v = m.str("connection")) {
    o.connection = *v;
    addOdbcSecrets(ctx, *v);
  }
  if (auto v = m.str("dsn")) o.dsn = *v;
  if (m.has("connection") == m.has("dsn")) {  // a value that failed to read is reported already
    m.ctx().error(m.loc(),
                  "odbc source needs exactly one of connection (an ODBC connection "
                  "string) and dsn (a data source name from odbc.ini)");
  }
  return o;
}

// `dialect:` of a SQL source: odbc sources must name one; postgres sources may
// say redshift; sqlite sources speak sqlite.
void readDialect(MapReader& m, SourceConfig& s) {
  s.dialect_loc = s.loc;
  const auto fallback = s.type == SourceType::Postgres ? DialectId::Postgres : DialectId::Sqlite;
  auto v = m.str("dialect", s.type == SourceType::Odbc);
  if (!v) {
    s.dialect = fallback;
    return;
  }
  s.dialect_loc = m.loc("dialect");
  auto d = dialectFromString(*v);
  if (!d) {
    std::string list;
    for (const auto& n : dialectNames()) list += (list.empty() ? "" : ", ") + n;
    m.error("dialect", "unknown dialect \"" + *v + "\" (expected one of " + list + ")" +
                           didYouMean(*v, std::vector<std::string_view>(dialectNames().begin(),
                                                                        dialectNames().end())));
    return;
  }
  const bool fits = s.type == SourceType::Odbc ||
                    (s.type == SourceType::Postgres &&
                     (*d == DialectId::Postgres || *d == DialectId::Redshift)) ||
                    (s.type == SourceType::Sqlite && *d == DialectId::Sqlite);
  if (!fits) {
    m.error("dialect", std::string("a ") + toString(s.type) + " source speaks " +
                           (s.type == SourceType::Postgres ? "postgres or redshift" : "sqlite") +
                           "; use type: odbc for " + *v);
    return;
  }
  s.dialect = *d;
}

PostgresSourceConfig readPostgres(Ctx& ctx, MapReader& m) {
  checkSourceKeys(m, {"dsn", "dialect"},
                  {{"path", "sqlite sources only"}, {"brokers", "kafka sources only"}});
  PostgresSourceConfig pg;
  if (auto v = m.str("dsn", true)) {
    pg.dsn = *v;
    addDsnSecret(ctx, *v);
  }
  return pg;
}

SqliteSourceConfig readSqlite(const Entry& e, MapReader& m) {
  checkSourceKeys(m, {"path", "busy_timeout", "dialect"},
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
  } else if (*type == "odbc") {
    s.type = SourceType::Odbc;
    s.spec = readOdbc(ctx, m);
  } else if (auto d = dialectFromString(*type)) {
    m.error("type", "unknown source type \"" + *type + "\": " + *type +
                        " is reached over ODBC: type: odbc, dialect: " + toString(*d) +
                        " (docs/warehouses.md)");
    return;
  } else {
    m.error("type", "unknown source type \"" + *type +
                        "\" (expected postgres, sqlite, odbc or kafka)" +
                        didYouMean(*type, {"postgres", "sqlite", "odbc", "kafka"}));
    return;
  }
  if (s.isSql()) readDialect(m, s);
  readSourceLineage(m, s);
  out.push_back(std::move(s));
}

}  // namespace datawatch::config::detail
