// The `sources:` section.
#include "config/sections.hpp"

namespace datawatch::config::detail {

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
  const std::vector<std::string_view> common{"type", "max_connections", "statement_timeout",
                                             "description"};
  auto with = [&](std::vector<std::string_view> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return extra;
  };
  if (auto v = m.intInRange("max_connections", 1, 1024)) s.max_connections = static_cast<int>(*v);
  if (auto d = m.duration("statement_timeout")) s.statement_timeout = *d;
  if (*type == "postgres") {
    s.type = SourceType::Postgres;
    m.checkKeys(with({"dsn"}),
                {{"path", "sqlite sources only"}, {"brokers", "kafka sources only"}});
    PostgresSourceConfig pg;
    if (auto v = m.str("dsn", true)) {
      pg.dsn = *v;
      addDsnSecret(ctx, *v);
    }
    s.spec = pg;
  } else if (*type == "sqlite") {
    s.type = SourceType::Sqlite;
    m.checkKeys(with({"path", "busy_timeout"}),
                {{"dsn", "postgres sources only"}, {"brokers", "kafka sources only"}});
    SqliteSourceConfig sq;
    if (auto v = m.str("path", true)) sq.path = resolvePath(*e.doc, *v);
    if (auto d = m.duration("busy_timeout")) sq.busy_timeout = *d;
    s.spec = sq;
  } else if (*type == "kafka") {
    s.type = SourceType::Kafka;
    m.checkKeys(with({"brokers", "properties"}),
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
    s.spec = k;
  } else {
    m.error("type", "unknown source type \"" + *type + "\" (expected postgres, sqlite or kafka)" +
                        didYouMean(*type, {"postgres", "sqlite", "kafka"}));
    return;
  }
  out.push_back(std::move(s));
}

}  // namespace datawatch::config::detail
