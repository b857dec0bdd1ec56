#include "config/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <tuple>

#include "core/duration.hpp"
#include "core/redact.hpp"
#include "core/time_format.hpp"

namespace datawatch::config {
namespace fs = std::filesystem;

// ------------------------------------------------------------------ small helpers

std::string Location::str() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string Diagnostic::str() const {
  std::string prefix = loc.str();
  std::string sev = severity == Severity::Warning ? "warning: " : "";
  return (prefix.empty() ? "" : prefix + ": ") + sev + message;
}

std::string Diagnostic::github() const {
  // Workflow command values escape %, CR and LF; properties also ',' and ':'.
  auto esc = [](const std::string& s, bool property) {
    std::string out;
    for (char c : s) {
      if (c == '%')
        out += "%25";
      else if (c == '\r')
        out += "%0D";
      else if (c == '\n')
        out += "%0A";
      else if (property && c == ':')
        out += "%3A";
      else if (property && c == ',')
        out += "%2C";
      else
        out += c;
    }
    return out;
  };
  std::string out = severity == Severity::Warning ? "::warning " : "::error ";
  out += "file=" + esc(loc.file, true);
  if (loc.line > 0) {
    out += ",line=" + std::to_string(loc.line) + ",col=" + std::to_string(loc.column);
  }
  return out + "::" + esc(message, false);
}

EnvLookup processEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): read at load only
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

size_t editDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment: insertions, deletions, substitutions and adjacent
  // transpositions ("mni" -> "min") each cost 1.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

const char* toString(SourceType t) {
  switch (t) {
    case SourceType::Postgres: return "postgres";
    case SourceType::Sqlite: return "sqlite";
    case SourceType::Kafka: return "kafka";
  }
  return "?";
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
                 ProbeType::Values, ProbeType::Sql, ProbeType::ConsumerLag}) {
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
const ProbeConfig* Config::findProbe(std::string_view n) const {
  return findByName(probes, n);
}
const SloConfig* Config::findSlo(std::string_view n) const {
  return findByName(slos, n);
}
const NotifierConfig* Config::findNotifier(std::string_view n) const {
  return findByName(notifiers, n);
}

namespace {

std::string didYouMean(std::string_view key, const std::vector<std::string_view>& options) {
  std::string_view best;
  size_t best_d = 1000;
  for (auto o : options) {
    size_t d = editDistance(key, o);
    if (d < best_d) {
      best_d = d;
      best = o;
    }
  }
  const size_t limit = key.size() <= 4 ? 1 : (key.size() <= 8 ? 2 : 3);
  if (best_d <= limit) return " (did you mean \"" + std::string(best) + "\"?)";
  return "";
}

std::string joinNames(const std::vector<std::string_view>& names) {
  std::string out;
  for (auto n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

struct Doc {
  std::string file;
  fs::path dir;
  YAML::Node root;
};

struct Entry {
  YAML::Node node;
  const Doc* doc = nullptr;
  std::string key;  // the map key (name) for map-shaped sections
  YAML::Node key_node;
};

// Shared state of one load: diagnostics, env lookup, collected secrets.
class Ctx {
 public:
  Ctx(EnvLookup env, std::vector<Diagnostic>& diags) : env_(std::move(env)), diags_(diags) {}

  Location loc(const Doc& d, const YAML::Node& n) const {
    Location l{d.file, 0, 0};
    if (n.IsDefined()) {
      const auto m = n.Mark();
      if (m.line >= 0) {
        l.line = m.line + 1;
        l.column = m.column + 1;
      }
    }
    return l;
  }
  void error(const Location& l, std::string msg) {
    diags_.push_back({Diagnostic::Severity::Error, l, std::move(msg)});
  }
  void warning(const Location& l, std::string msg) {
    diags_.push_back({Diagnostic::Severity::Warning, l, std::move(msg)});
  }
  void error(const Doc& d, const YAML::Node& n, std::string msg) {
    error(loc(d, n), std::move(msg));
  }

  // Expands ${VAR} (and $$ to $). Missing variables are errors naming them.
  std::optional<std::string> expand(const Doc& d, const YAML::Node& n, const std::string& raw) {
    std::string out;
    bool ok = true;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '$' && i + 1 < raw.size() && raw[i + 1] == '$') {
        out += '$';
        ++i;
      } else if (raw[i] == '$' && i + 1 < raw.size() && raw[i + 1] == '{') {
        size_t end = raw.find('}', i + 2);
        if (end == std::string::npos) {
          error(d, n, "unterminated ${ in \"" + raw + "\"");
          return std::nullopt;
        }
        std::string name = raw.substr(i + 2, end - i - 2);
        std::string def;
        bool has_def = false;
        if (auto p = name.find(":-"); p != std::string::npos) {
          def = name.substr(p + 2);
          name = name.substr(0, p);
          has_def = true;
        }
        auto v = env_(name);
        if (!v && !has_def) {
          error(d, n, "environment variable " + name + " is not set");
          ok = false;
        } else {
          out += v ? *v : def;
        }
        i = end;
      } else {
        out += raw[i];
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }

  void addSecret(const std::string& s) { secrets.push_back(s); }
  std::vector<std::string> secrets;

 private:
  EnvLookup env_;
  std::vector<Diagnostic>& diags_;
};

const char* nodeKind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "null";
    default: return "nothing";
  }
}

bool validName(std::string_view s, bool allow_dash) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (allow_dash && c == '-');
  });
}

// Reads one YAML map with typed accessors; reports type errors and unknown keys.
class MapReader {
 public:
  MapReader(Ctx& ctx, const Doc& doc, YAML::Node node, std::string what)
      : ctx_(ctx), doc_(doc), node_(std::move(node)), what_(std::move(what)) {
    ok_ = node_.IsMap();
    if (!ok_) ctx_.error(doc_, node_, what_ + " must be a map, got " + nodeKind(node_));
  }
  bool ok() const { return ok_; }
  void setWhat(std::string what) { what_ = std::move(what); }
  const Doc& doc() const { return doc_; }
  Ctx& ctx() { return ctx_; }
  const YAML::Node& node() const { return node_; }
  Location loc() const { return ctx_.loc(doc_, node_); }
  Location loc(const std::string& key) const {
    auto n = raw(key);
    return n ? ctx_.loc(doc_, n) : loc();
  }

  // `allowed` are this map's keys; `elsewhere` maps keys valid in sibling kinds to
  // where they belong, for a sharper message than "unknown key".
  void checkKeys(const std::vector<std::string_view>& allowed,
                 const std::map<std::string_view, std::string>& elsewhere = {}) {
    if (!ok_) return;
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      if (auto e = elsewhere.find(key); e != elsewhere.end()) {
        ctx_.error(doc_, it->first,
                   "\"" + key + "\" is not valid in " + what_ + " (" + e->second + ")");
      } else {
        std::vector<std::string_view> candidates = allowed;
        for (const auto& [k, _] : elsewhere) candidates.push_back(k);
        ctx_.error(doc_, it->first,
                   "unknown key \"" + key + "\" in " + what_ + didYouMean(key, candidates));
      }
    }
  }

  YAML::Node raw(const std::string& key) const {
    if (!ok_) return YAML::Node(YAML::NodeType::Undefined);
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      if (it->first.Scalar() == key) return it->second;
    }
    return YAML::Node(YAML::NodeType::Undefined);
  }
  bool has(const std::string& key) const {
    auto n = raw(key);
    return n.IsDefined() && !n.IsNull();
  }

  std::optional<std::string> str(const std::string& key, bool required = false,
                                 bool secret = false) {
    auto n = raw(key);
    if (!n.IsDefined() || n.IsNull()) {
      if (required) missing(key);
      return std::nullopt;
    }
    if (!n.IsScalar()) {
      ctx_.error(doc_, n, key + " must be a string, got " + nodeKind(n));
      return std::nullopt;
    }
    auto v = ctx_.expand(doc_, n, n.Scalar());
    if (v && secret) ctx_.addSecret(*v);
    if (v && required && v->empty()) {
      ctx_.error(doc_, n, key + " must not be empty");
      return std::nullopt;
    }
    return v;
  }

  std::optional<double> num(const std::string& key, bool required = false) {
    auto s = str(key, required);
    if (!s) return std::nullopt;
    double v = 0;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || p != s->data() + s->size() || !std::isfinite(v)) {
      ctx_.error(loc(key), key + " must be a number, got \"" + *s + "\"");
      return std::nullopt;
    }
    return v;
  }

  std::optional<int64_t> integer(const std::string& key, bool required = false) {
    auto s = str(key, required);
    if (!s) return std::nullopt;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || p != s->data() + s->size()) {
      ctx_.error(loc(key), key + " must be an integer, got \"" + *s + "\"");
      return std::nullopt;
    }
    return v;
  }

  std::optional<int64_t> intInRange(const std::string& key, int64_t lo, int64_t hi) {
    auto v = integer(key);
    if (v && (*v < lo || *v > hi)) {
      ctx_.error(loc(key), key + " must be between " + std::to_string(lo) + " and " +
                               std::to_string(hi) + ", got " + std::to_string(*v));
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> boolean(const std::string& key) {
    auto s = str(key);
    if (!s) return std::nullopt;
    std::string l = *s;
    std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
    if (l == "true" || l == "yes" || l == "on") return true;
    if (l == "false" || l == "no" || l == "off") return false;
    ctx_.error(loc(key), key + " must be true or false, got \"" + *s + "\"");
    return std::nullopt;
  }

  std::optional<Duration> duration(const std::string& key, bool required = false,
                                   Duration min = Duration{1}) {
    auto s = str(key, required);
    if (!s) return std::nullopt;
    auto d = parseDuration(*s);
    if (!d) {
      ctx_.error(loc(key), key + ": " + d.error());
      return std::nullopt;
    }
    if (*d < min) {
      ctx_.error(loc(key), key + " must be at least " + formatDuration(min) + ", got " + *s);
      return std::nullopt;
    }
    return *d;
  }

  // One string, or a list of strings.
  std::optional<std::vector<std::string>> strList(const std::string& key, bool required = false) {
    auto n = raw(key);
    if (!n.IsDefined() || n.IsNull()) {
      if (required) missing(key);
      return std::nullopt;
    }
    std::vector<std::string> out;
    if (n.IsScalar()) {
      if (auto v = ctx_.expand(doc_, n, n.Scalar())) out.push_back(*v);
      return out;
    }
    if (!n.IsSequence()) {
      ctx_.error(doc_, n, key + " must be a list of strings, got " + nodeKind(n));
      return std::nullopt;
    }
    for (const auto& item : n) {
      if (!item.IsScalar()) {
        ctx_.error(doc_, item,
                   key + " must be a list of strings, got an item that is " + nodeKind(item));
        continue;
      }
      if (auto v = ctx_.expand(doc_, item, item.Scalar())) out.push_back(*v);
    }
    return out;
  }

  std::optional<std::map<std::string, std::string>> strMap(const std::string& key,
                                                           bool secret_values = false) {
    auto n = raw(key);
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    if (!n.IsMap()) {
      ctx_.error(doc_, n, key + " must be a map of strings, got " + nodeKind(n));
      return std::nullopt;
    }
    std::map<std::string, std::string> out;
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->second.IsScalar()) {
        ctx_.error(doc_, it->second, key + "." + it->first.Scalar() + " must be a string");
        continue;
      }
      auto v = ctx_.expand(doc_, it->second, it->second.Scalar());
      if (!v) continue;
      if (secret_values) ctx_.addSecret(*v);
      out[it->first.Scalar()] = *v;
    }
    return out;
  }

  void missing(const std::string& key) {
    ctx_.error(loc(), what_ + ": missing required key \"" + key + "\"");
  }
  void error(const std::string& key, std::string msg) { ctx_.error(loc(key), std::move(msg)); }

 private:
  Ctx& ctx_;
  const Doc& doc_;
  YAML::Node node_;
  std::string what_;
  bool ok_ = false;
};

fs::path resolvePath(const Doc& doc, const std::string& p) {
  fs::path path(p);
  if (path.is_absolute()) return path.lexically_normal();
  return (doc.dir / path).lexically_normal();
}

// Registers the password of a DSN (the part redactDsn masks) as a secret.
void addDsnSecret(Ctx& ctx, const std::string& dsn) {
  const std::string red = Redactor::redactDsn(dsn);
  if (red == dsn) return;
  size_t pre = 0;
  while (pre < red.size() && pre < dsn.size() && red[pre] == dsn[pre]) ++pre;
  size_t suf = 0;
  while (suf < red.size() - pre && suf < dsn.size() - pre &&
         red[red.size() - 1 - suf] == dsn[dsn.size() - 1 - suf])
    ++suf;
  ctx.addSecret(dsn.substr(pre, dsn.size() - pre - suf));
}

// ------------------------------------------------------------------ sections

void parseAgent(Ctx& ctx, const std::map<std::string, Entry>& keys, AgentConfig& a) {
  // Each agent key may come from a different file; read each from its own entry.
  static const std::vector<std::string_view> kKeys{"listen",
                                                   "state",
                                                   "retention",
                                                   "api_token",
                                                   "postmortems",
                                                   "default_notify",
                                                   "max_concurrent_probes"};
  for (const auto& [key, e] : keys) {
    YAML::Node wrapper(YAML::NodeType::Map);
    wrapper[key] = e.node;
    // Keep the original key node's mark for unknown-key errors.
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      ctx.error(ctx.loc(*e.doc, e.key_node),
                "unknown key \"" + key + "\" in agent" + didYouMean(key, kKeys));
      continue;
    }
    MapReader m(ctx, *e.doc, wrapper, "agent");
    if (key == "listen") {
      if (auto v = m.str("listen", true)) {
        auto colon = v->rfind(':');
        int port = -1;
        if (colon != std::string::npos) {
          auto ps = v->substr(colon + 1);
          auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
          if (ec != std::errc() || p != ps.data() + ps.size()) port = -1;
        }
        if (port < 0 || port > 65535) {
          ctx.error(ctx.loc(*e.doc, e.node),
                    "agent.listen must be HOST:PORT (port 0-65535), got \"" + *v + "\"");
        } else {
          a.listen = *v;
        }
      }
    } else if (key == "state") {
      if (auto v = m.str("state", true)) {
        if (v->rfind("sqlite://", 0) == 0) {
          a.state = "sqlite://" + resolvePath(*e.doc, v->substr(9)).string();
        } else if (v->rfind("postgres://", 0) == 0 || v->rfind("postgresql://", 0) == 0) {
          a.state = *v;
          addDsnSecret(ctx, *v);
        } else {
          ctx.error(ctx.loc(*e.doc, e.node),
                    "agent.state must start with sqlite:// or postgres://, got \"" +
                        Redactor::redactDsn(*v) + "\"");
        }
      }
    } else if (key == "retention") {
      if (auto d = m.duration("retention", true, std::chrono::hours(1))) a.retention = *d;
    } else if (key == "api_token") {
      if (auto v = m.str("api_token", false, true)) a.api_token = *v;
    } else if (key == "default_notify") {
      if (auto v = m.strList("default_notify")) a.default_notify = *v;
    } else if (key == "max_concurrent_probes") {
      if (auto v = m.intInRange("max_concurrent_probes", 1, 256))
        a.max_concurrent_probes = static_cast<int>(*v);
    } else if (key == "postmortems") {
      MapReader p(ctx, *e.doc, e.node, "agent.postmortems");
      p.checkKeys({"dir", "template", "dashboard_url"});
      if (auto v = p.str("dir")) a.postmortems.dir = resolvePath(*e.doc, *v);
      if (auto v = p.str("template")) a.postmortems.template_path = resolvePath(*e.doc, *v);
      if (auto v = p.str("dashboard_url")) a.postmortems.dashboard_url = *v;
    }
  }
}

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

// Keys of each probe type, for unknown-key checks and "belongs to" hints.
const std::map<ProbeType, std::vector<std::string_view>>& probeKeys() {
  static const std::map<ProbeType, std::vector<std::string_view>> k{
      {ProbeType::Freshness, {"column", "max_age", "schedule", "grace", "timezone", "filter"}},
      {ProbeType::Volume,
       {"column", "window", "min", "max", "max_change", "anomaly", "filter", "method"}},
      {ProbeType::Drift,
       {"column", "time_column", "window", "method", "threshold", "bins", "baseline", "sample_rows",
        "kind"}},
      {ProbeType::Schema, {"columns", "allow_extra_columns"}},
      {ProbeType::Values,
       {"column", "accepted", "max_null_ratio", "unique", "min", "max", "time_column", "window",
        "filter"}},
      {ProbeType::Sql, {"query", "min", "max", "equals"}},
      {ProbeType::ConsumerLag, {"group", "max_lag_messages", "max_lag_seconds"}},
  };
  return k;
}

void requireOneOf(MapReader& m, const std::string& what, const std::vector<std::string>& keys) {
  for (const auto& k : keys)
    if (m.has(k)) return;
  std::string list;
  for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
  m.ctx().error(m.loc(), what + " checks nothing: set at least one of " + list);
}

void parseProbe(Ctx& ctx, const Entry& e, std::vector<ProbeConfig>& out) {
  MapReader m(ctx, *e.doc, e.node, "probe");
  if (!m.ok()) return;
  ProbeConfig p;
  p.loc = m.loc();
  auto name = m.str("name", true);
  if (name) {
    p.name = *name;
    if (!validName(p.name, false))
      m.error("name", "probe name \"" + p.name + "\" must match [a-z0-9_]+");
  }
  const std::string what = "probe \"" + p.name + "\"";
  m.setWhat(what);
  auto type = m.str("type", true);
  if (!type) return;
  auto pt = probeTypeFromString(*type);
  if (!pt) {
    m.error("type",
            what + ": unknown probe type \"" + *type +
                "\" (expected freshness, volume, drift, schema, values, sql or consumer_lag)" +
                didYouMean(*type, {"freshness", "volume", "drift", "schema", "values", "sql",
                                   "consumer_lag"}));
    return;
  }
  p.type = *pt;
  std::vector<std::string_view> allowed{"name",      "type",     "source",  "table",
                                        "topic",     "every",    "timeout", "owner",
                                        "consumers", "upstream", "alert",   "description"};
  const auto& own = probeKeys().at(p.type);
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

  if (auto v = m.str("source", true)) p.source = *v;
  if (auto v = m.str("table")) p.table = *v;
  if (auto v = m.str("topic")) p.topic = *v;
  if (auto d = m.duration("every", false, std::chrono::seconds(1))) p.every = *d;
  if (auto d = m.duration("timeout", false, std::chrono::milliseconds(100))) p.timeout = *d;
  if (auto v = m.str("owner")) p.owner = *v;
  if (auto v = m.str("description")) p.description = *v;
  if (auto v = m.strList("consumers")) p.consumers = *v;
  if (auto v = m.strList("upstream")) p.upstream = *v;
  if (m.has("alert")) {
    MapReader a(ctx, *e.doc, m.raw("alert"), what + " alert");
    if (a.ok()) {
      a.checkKeys({"after", "severity", "notify"});
      ProbeAlertConfig ac;
      if (auto v = a.intInRange("after", 1, 1000)) ac.after = static_cast<int>(*v);
      if (auto v = a.str("severity")) {
        static const std::vector<std::string_view> sev{"page", "ticket", "critical", "warning",
                                                       "info"};
        if (std::find(sev.begin(), sev.end(), *v) == sev.end()) {
          a.error("severity", what + ": alert severity \"" + *v + "\" must be one of " +
                                  joinNames(sev) + didYouMean(*v, sev));
        } else {
          ac.severity = *v;
        }
      }
      if (auto v = a.strList("notify")) ac.notify = *v;
      p.alert = ac;
    }
  }
  if (p.table.empty() && p.topic.empty() && p.type != ProbeType::Sql) {
    ctx.error(p.loc, what + ": missing required key \"table\" (or \"topic\" for a kafka source)");
  }
  if (!p.table.empty() && !p.topic.empty()) {
    m.error("topic", what + ": set either table or topic, not both");
  }
  if (!p.table.empty()) {
    // schema.table: every part non-empty. Any characters are allowed: parts are quoted.
    size_t start = 0;
    while (true) {
      size_t dot = p.table.find('.', start);
      if (p.table.substr(start, dot == std::string::npos ? std::string::npos : dot - start)
              .empty()) {
        m.error("table",
                what + ": table \"" + p.table + "\" must be \"table\" or \"schema.table\"");
        break;
      }
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
  }
  auto needTable = [&](const char* why) {
    if (!p.topic.empty())
      m.error("topic",
              what + ": " + toString(p.type) + " probes need a table, not a topic (" + why + ")");
  };

  switch (p.type) {
    case ProbeType::Freshness: {
      FreshnessSpec s;
      if (auto v = m.str("column")) s.column = *v;
      if (!p.table.empty() && s.column.empty()) m.missing("column");
      if (auto d = m.duration("max_age")) s.max_age = *d;
      if (auto v = m.str("schedule")) {
        auto c = CronExpr::parse(*v);
        if (!c)
          m.error("schedule", what + ": " + c.error());
        else
          s.schedule = *c;
      }
      if (auto d = m.duration("grace", false, Duration{0})) s.grace = *d;
      if (auto v = m.str("timezone")) {
        auto tz = TimeZone::load(*v);
        if (!tz) {
          m.error("timezone", what + ": " + tz.error());
        } else {
          s.timezone = *v;
          s.tz = std::make_shared<TimeZone>(std::move(tz).value());
        }
        if (!m.has("schedule"))
          m.error("timezone", what + ": timezone applies only with a schedule");
      }
      if (auto v = m.str("filter")) s.filter = *v;
      if (!m.has("max_age") && !m.has("schedule")) {
        ctx.error(p.loc, what + ": freshness needs max_age, schedule (with grace), or both");
      }
      if (m.has("grace") && !m.has("schedule"))
        m.error("grace", what + ": grace applies only with a schedule");
      p.spec = s;
      break;
    }
    case ProbeType::Volume: {
      VolumeSpec s;
      if (auto v = m.str("column")) s.column = *v;
      if (auto d = m.duration("window")) s.window = *d;
      s.min = m.num("min");
      s.max = m.num("max");
      s.max_change = m.num("max_change");
      if (s.max_change && *s.max_change <= 0)
        m.error("max_change", what + ": max_change must be > 0 (0.5 = 50%)");
      if (s.min && s.max && *s.min > *s.max) m.error("min", what + ": min is greater than max");
      if (s.window && p.topic.empty() && s.column.empty())
        m.error("window", what + ": window needs a column to count recent rows by");
      if (!s.column.empty() && !s.window && p.topic.empty())
        m.error("column", what + ": column needs a window (rows with column >= now - window)");
      if (!p.topic.empty() && !s.window) m.missing("window");
      if (auto v = m.str("method")) {
        if (*v == "count")
          s.method = VolumeMethod::Count;
        else if (*v == "estimate")
          s.method = VolumeMethod::Estimate;
        else
          m.error("method", what + ": method must be count or estimate" +
                                didYouMean(*v, {"count", "estimate"}));
        if (s.method == VolumeMethod::Estimate && (m.has("column") || m.has("filter"))) {
          m.error("method", what +
                                ": method estimate counts the whole table (from catalog "
                                "statistics); it takes no column, window or filter");
        }
      }
      if (auto v = m.str("filter")) s.filter = *v;
      if (m.has("anomaly")) {
        MapReader a(ctx, *e.doc, m.raw("anomaly"), what + " anomaly");
        if (a.ok()) {
          a.checkKeys({"sensitivity", "training", "seasonality", "min_change"});
          AnomalyConfig ac;
          if (auto v = a.num("sensitivity")) {
            if (*v <= 0)
              a.error("sensitivity", what + ": anomaly sensitivity must be > 0");
            else
              ac.sensitivity = *v;
          }
          if (auto d = a.duration("training", false, std::chrono::hours(1))) ac.training = *d;
          if (auto v = a.str("seasonality")) {
            if (*v == "hour_of_day")
              ac.seasonality = Seasonality::HourOfDay;
            else if (*v == "day_of_week")
              ac.seasonality = Seasonality::DayOfWeek;
            else if (*v == "hour_of_week")
              ac.seasonality = Seasonality::HourOfWeek;
            else if (*v == "none")
              ac.seasonality = Seasonality::None;
            else
              a.error("seasonality",
                      what +
                          ": seasonality must be hour_of_day, day_of_week, hour_of_week or none" +
                          didYouMean(*v, {"hour_of_day", "day_of_week", "hour_of_week"}));
          }
          if (a.has("min_change")) {
            auto mc = a.raw("min_change");
            if (mc.IsMap()) {
              MapReader mr(ctx, *e.doc, mc, what + " anomaly.min_change");
              mr.checkKeys({"absolute", "relative"});
              if (auto v = mr.num("absolute")) ac.min_change_absolute = *v;
              if (auto v = mr.num("relative")) ac.min_change_relative = *v;
            } else if (auto v = a.num("min_change")) {
              ac.min_change_absolute = *v;
            }
          }
          s.anomaly = ac;
        }
      }
      requireOneOf(m, what, {"min", "max", "max_change", "anomaly"});
      p.spec = s;
      break;
    }
    case ProbeType::Drift: {
      needTable("drift is computed in the database");
      DriftSpec s;
      if (auto v = m.str("column", true)) s.column = *v;
      if (auto v = m.str("time_column")) s.time_column = *v;
      if (auto d = m.duration("window")) s.window = *d;
      if (auto v = m.str("kind")) {
        if (*v == "numeric")
          s.kind = ColumnKind::Numeric;
        else if (*v == "categorical")
          s.kind = ColumnKind::Categorical;
        else
          m.error("kind", what + ": kind must be numeric or categorical");
      }
      if (auto v = m.str("method")) {
        std::map<std::string, DriftMethod> methods;
        for (auto d : {DriftMethod::Psi, DriftMethod::Ks, DriftMethod::Js, DriftMethod::Wasserstein,
                       DriftMethod::Chi2})
          methods[toString(d)] = d;
        auto it = methods.find(*v);
        if (it == methods.end()) {
          m.error("method", what + ": method must be psi, ks, js, wasserstein or chi2" +
                                didYouMean(*v, {"psi", "ks", "js", "wasserstein", "chi2"}));
        } else {
          s.method = it->second;
          if (s.kind == ColumnKind::Categorical &&
              (s.method == DriftMethod::Ks || s.method == DriftMethod::Wasserstein))
            m.error("method",
                    what + ": " + *v + " needs a numeric column (categorical: psi, js or chi2)");
          if (s.kind == ColumnKind::Numeric && s.method == DriftMethod::Chi2)
            m.error(
                "method",
                what + ": chi2 needs a categorical column (numeric: psi, ks, js or wasserstein)");
        }
      }
      if (auto v = m.num("threshold")) {
        if (*v <= 0)
          m.error("threshold", what + ": threshold must be > 0");
        else if (s.method == DriftMethod::Chi2 && *v >= 1)
          m.error("threshold",
                  what + ": a chi2 threshold is a significance level on the p-value, in (0, 1)");
        else
          s.threshold = *v;
      }
      if (auto v = m.intInRange("bins", 2, 1000)) s.bins = static_cast<int>(*v);
      if (auto v = m.intInRange("sample_rows", 100, 1000000000)) s.sample_rows = *v;
      if (m.has("baseline")) {
        auto b = m.raw("baseline");
        if (b.IsScalar()) {
          if (b.Scalar() == "pinned")
            s.baseline.pinned = true;
          else
            m.error("baseline", what + ": baseline must be \"pinned\" or {window, lag}");
        } else {
          MapReader br(ctx, *e.doc, b, what + " baseline");
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
          m.error("baseline", what + ": a {window, lag} baseline needs time_column");
      } else if (!s.window) {
        m.missing("window");
      }
      p.spec = s;
      break;
    }
    case ProbeType::Schema: {
      needTable("schemas are read from the catalog");
      SchemaSpec s;
      auto c = m.raw("columns");
      if (!c.IsDefined() || c.IsNull()) {
        m.missing("columns");
      } else if (!c.IsMap() || c.size() == 0) {
        ctx.error(*e.doc, c, what + ": columns must be a non-empty map of column: type");
      } else {
        for (auto it = c.begin(); it != c.end(); ++it) {
          if (!it->second.IsScalar()) {
            ctx.error(*e.doc, it->second,
                      what + ": the type of column " + it->first.Scalar() + " must be a string");
            continue;
          }
          s.columns.emplace_back(it->first.Scalar(), it->second.Scalar());
        }
      }
      if (auto v = m.boolean("allow_extra_columns")) s.allow_extra_columns = *v;
      p.spec = s;
      break;
    }
    case ProbeType::Values: {
      needTable("values are checked with SQL");
      ValuesSpec s;
      if (auto v = m.str("column", true)) s.column = *v;
      if (auto v = m.strList("accepted")) {
        s.accepted = *v;
        if (s.accepted.empty()) m.error("accepted", what + ": accepted must not be empty");
      }
      if (auto v = m.num("max_null_ratio")) {
        if (*v < 0 || *v > 1)
          m.error("max_null_ratio", what + ": max_null_ratio must be between 0 and 1");
        else
          s.max_null_ratio = *v;
      }
      if (auto v = m.boolean("unique")) s.unique = *v;
      s.min = m.num("min");
      s.max = m.num("max");
      if (auto v = m.str("time_column")) s.time_column = *v;
      if (auto d = m.duration("window")) s.window = *d;
      if (auto v = m.str("filter")) s.filter = *v;
      if (s.window && s.time_column.empty()) m.error("window", what + ": window needs time_column");
      requireOneOf(m, what, {"accepted", "max_null_ratio", "unique", "min", "max"});
      p.spec = s;
      break;
    }
    case ProbeType::Sql: {
      SqlSpec s;
      if (!p.table.empty()) m.error("table", what + ": sql probes take a query, not a table");
      if (!p.topic.empty()) m.error("topic", what + ": sql probes take a query, not a topic");
      if (auto v = m.str("query", true)) {
        s.query = *v;
        std::string trimmed = *v;
        while (!trimmed.empty() &&
               (std::isspace(static_cast<unsigned char>(trimmed.back())) || trimmed.back() == ';'))
          trimmed.pop_back();
        if (trimmed.find(';') != std::string::npos)
          m.error("query", what + ": query must be a single statement");
      }
      s.min = m.num("min");
      s.max = m.num("max");
      s.equals = m.num("equals");
      requireOneOf(m, what, {"min", "max", "equals"});
      p.spec = s;
      break;
    }
    case ProbeType::ConsumerLag: {
      ConsumerLagSpec s;
      if (!p.table.empty())
        m.error("table", what + ": consumer_lag probes need a topic, not a table");
      if (auto v = m.str("group", true)) s.group = *v;
      if (auto v = m.integer("max_lag_messages")) {
        if (*v < 0)
          m.error("max_lag_messages", what + ": max_lag_messages must be >= 0");
        else
          s.max_lag_messages = *v;
      }
      if (m.has("max_lag_seconds")) {
        auto raw = m.str("max_lag_seconds");
        if (raw && !raw->empty() && std::all_of(raw->begin(), raw->end(), [](char c) {
              return std::isdigit(static_cast<unsigned char>(c));
            })) {
          s.max_lag_seconds = std::chrono::seconds(std::stoll(*raw));
        } else if (auto d = m.duration("max_lag_seconds")) {
          s.max_lag_seconds = *d;
        }
      }
      requireOneOf(m, what, {"max_lag_messages", "max_lag_seconds"});
      p.spec = s;
      break;
    }
  }
  out.push_back(std::move(p));
}

void parseSlo(Ctx& ctx, const Entry& e, std::vector<SloConfig>& out) {
  MapReader m(ctx, *e.doc, e.node, "slo");
  if (!m.ok()) return;
  m.checkKeys(
      {"name", "description", "objective", "window", "probes", "budgeting", "errors", "alerting"});
  SloConfig s;
  s.loc = m.loc();
  if (auto v = m.str("name", true)) {
    s.name = *v;
    if (!validName(s.name, true))
      m.error("name", "slo name \"" + s.name + "\" must match [a-z0-9_-]+");
  }
  const std::string what = "slo \"" + s.name + "\"";
  if (auto v = m.str("description")) s.description = *v;
  if (auto v = m.num("objective", true)) {
    if (*v <= 0 || *v >= 100)
      m.error("objective", what + ": objective is a percentage strictly between 0 and 100, got " +
                               m.str("objective").value_or(""));
    else
      s.objective = *v;
  }
  if (auto d = m.duration("window", false, std::chrono::hours(1))) s.window = *d;
  if (auto v = m.strList("probes", true)) {
    s.probes = *v;
    if (s.probes.empty()) m.error("probes", what + ": probes must not be empty");
  }
  if (auto v = m.str("budgeting")) {
    if (*v == "occurrences")
      s.budgeting = Budgeting::Occurrences;
    else if (*v == "timeslices")
      s.budgeting = Budgeting::Timeslices;
    else
      m.error("budgeting", what + ": budgeting must be occurrences or timeslices" +
                               didYouMean(*v, {"occurrences", "timeslices"}));
  }
  if (auto v = m.str("errors")) {
    if (*v == "bad")
      s.errors = ErrorPolicy::Bad;
    else if (*v == "ignore")
      s.errors = ErrorPolicy::Ignore;
    else
      m.error("errors", what + ": errors must be bad or ignore");
  }
  if (m.has("alerting")) {
    MapReader a(ctx, *e.doc, m.raw("alerting"), what + " alerting");
    if (a.ok()) {
      a.checkKeys({"page", "ticket", "windows", "min_bad_events"});
      for (const char* sev : {"page", "ticket"}) {
        if (!a.has(sev)) continue;
        MapReader r(ctx, *e.doc, a.raw(sev), what + " alerting." + sev);
        if (!r.ok()) continue;
        r.checkKeys({"notify"});
        auto n = r.strList("notify");
        if (std::string(sev) == "page")
          s.alerting.page_notify = n.value_or(std::vector<std::string>{});
        else
          s.alerting.ticket_notify = n.value_or(std::vector<std::string>{});
      }
      if (auto v = a.intInRange("min_bad_events", 1, 1000000))
        s.alerting.min_bad_events = static_cast<int>(*v);
      if (a.has("windows")) {
        auto w = a.raw("windows");
        if (!w.IsSequence()) {
          ctx.error(
              *e.doc, w,
              what + ": alerting.windows must be a list of {severity, long, short, burn_rate}");
        } else {
          for (const auto& item : w) {
            MapReader r(ctx, *e.doc, item, what + " alerting window");
            if (!r.ok()) continue;
            r.checkKeys({"severity", "long", "short", "burn_rate"});
            BurnWindow bw;
            auto sev = r.str("severity", true);
            auto lw = r.duration("long", true);
            auto sw = r.duration("short", true);
            auto br = r.num("burn_rate", true);
            if (sev && *sev != "page" && *sev != "ticket")
              r.error("severity", what + ": window severity must be page or ticket");
            if (lw && sw && *sw >= *lw)
              r.error("short", what + ": the short window must be shorter than the long window");
            if (br && *br <= 0) r.error("burn_rate", what + ": burn_rate must be > 0");
            if (sev && lw && sw && br) s.alerting.windows.push_back({*sev, *lw, *sw, *br});
          }
        }
      }
    }
  }
  out.push_back(std::move(s));
}

void parseNotifier(Ctx& ctx, const Entry& e, std::vector<NotifierConfig>& out) {
  MapReader m(ctx, *e.doc, e.node, "notifier \"" + e.key + "\"");
  if (!m.ok()) return;
  NotifierConfig n;
  n.name = e.key;
  n.loc = ctx.loc(*e.doc, e.key_node);
  const std::string what = "notifier \"" + n.name + "\"";
  if (!validName(n.name, true))
    ctx.error(n.loc, "notifier name \"" + n.name + "\" must match [a-z0-9_-]+");
  auto type = m.str("type", true);
  if (!type) return;
  std::vector<std::string_view> common{"type", "repeat_interval", "timeout"};
  auto with = [&](std::vector<std::string_view> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return extra;
  };
  if (auto d = m.duration("repeat_interval", false, std::chrono::minutes(1)))
    n.repeat_interval = *d;
  if (auto d = m.duration("timeout")) n.timeout = *d;
  auto url = [&](const std::string& key, bool required, bool secret) -> std::string {
    auto v = m.str(key, required, secret);
    if (!v) return "";
    if (v->rfind("http://", 0) != 0 && v->rfind("https://", 0) != 0) {
      m.error(key, what + ": " + key + " must be an http:// or https:// URL");
    }
    return *v;
  };
  if (*type == "slack") {
    n.type = NotifierType::Slack;
    m.checkKeys(with({"webhook_url", "mention", "channel", "group_wait"}));
    SlackNotifierConfig s;
    s.webhook_url = url("webhook_url", true, true);
    s.mention = m.str("mention").value_or("");
    s.channel = m.str("channel").value_or("");
    if (auto d = m.duration("group_wait", false, Duration{0})) s.group_wait = *d;
    n.spec = s;
  } else if (*type == "webhook") {
    n.type = NotifierType::Webhook;
    m.checkKeys(with({"url", "secret", "format", "headers"}));
    WebhookNotifierConfig w;
    w.url = url("url", true, true);
    if (auto v = m.str("secret", false, true)) w.secret = *v;
    if (auto v = m.str("format")) {
      if (*v == "datawatch")
        w.format = WebhookFormat::Datawatch;
      else if (*v == "alertmanager")
        w.format = WebhookFormat::Alertmanager;
      else
        m.error("format", what + ": format must be datawatch or alertmanager" +
                              didYouMean(*v, {"datawatch", "alertmanager"}));
    }
    if (auto h = m.strMap("headers", true)) w.headers = *h;
    n.spec = w;
  } else if (*type == "pagerduty") {
    n.type = NotifierType::Pagerduty;
    m.checkKeys(with({"routing_key", "url"}));
    PagerdutyNotifierConfig p;
    if (auto v = m.str("routing_key", true, true)) p.routing_key = *v;
    if (m.has("url")) p.url = url("url", false, false);
    n.spec = p;
  } else if (*type == "alertmanager") {
    n.type = NotifierType::Alertmanager;
    m.checkKeys(with({"url"}));
    n.spec = AlertmanagerNotifierConfig{url("url", true, false)};
  } else if (*type == "file") {
    n.type = NotifierType::File;
    m.checkKeys(with({"path"}));
    FileNotifierConfig f;
    if (auto v = m.str("path", true)) f.path = resolvePath(*e.doc, *v);
    n.spec = f;
  } else {
    m.error("type",
            what + ": unknown notifier type \"" + *type +
                "\" (expected slack, webhook, pagerduty, alertmanager or file)" +
                didYouMean(*type, {"slack", "webhook", "pagerduty", "alertmanager", "file"}));
    return;
  }
  out.push_back(std::move(n));
}

void parseSilence(Ctx& ctx, const Entry& e, std::vector<SilenceConfig>& out) {
  MapReader m(ctx, *e.doc, e.node, "silence");
  if (!m.ok()) return;
  m.checkKeys({"match", "starts", "until", "reason"});
  SilenceConfig s;
  s.loc = m.loc();
  if (auto v = m.strMap("match")) {
    s.match = *v;
    if (s.match.empty()) m.error("match", "silence: match must not be empty");
  } else {
    m.missing("match");
  }
  auto ts = [&](const std::string& key, bool required) -> std::optional<TimePoint> {
    auto v = m.str(key, required);
    if (!v) return std::nullopt;
    auto t = parseTimestamp(*v);
    if (!t)
      m.error(key, "silence: " + key +
                       " must be an RFC 3339 time such as 2026-12-01T00:00:00Z, got \"" + *v +
                       "\"");
    return t;
  };
  s.starts = ts("starts", false);
  if (auto u = ts("until", true)) s.until = *u;
  if (s.starts && *s.starts >= s.until) m.error("until", "silence: until must be after starts");
  s.reason = m.str("reason").value_or("");
  out.push_back(std::move(s));
}

// ------------------------------------------------------------------ merging

struct Gathered {
  std::map<std::string, Entry> agent;
  std::vector<Entry> sources;  // keyed entries, order of appearance
  std::vector<Entry> notifiers;
  std::vector<Entry> probes;
  std::vector<Entry> slos;
  std::vector<Entry> silences;
  std::map<std::string, std::vector<Entry>> environments;
};

void gatherKeyed(Ctx& ctx, const Doc& doc, const YAML::Node& section, const std::string& name,
                 std::vector<Entry>& into) {
  if (section.IsNull()) return;
  if (!section.IsMap()) {
    ctx.error(doc, section, name + " must be a map of name: {...}, got " + nodeKind(section));
    return;
  }
  for (auto it = section.begin(); it != section.end(); ++it) {
    const std::string key = it->first.Scalar();
    auto dup = std::find_if(into.begin(), into.end(), [&](const Entry& x) { return x.key == key; });
    if (dup != into.end()) {
      ctx.error(doc, it->first,
                "duplicate " + name.substr(0, name.size() - 1) + " \"" + key +
                    "\" (first defined at " + ctx.loc(*dup->doc, dup->key_node).str() + ")");
      continue;
    }
    into.push_back({it->second, &doc, key, it->first});
  }
}

void gatherList(Ctx& ctx, const Doc& doc, const YAML::Node& section, const std::string& name,
                std::vector<Entry>& into) {
  if (section.IsNull()) return;
  if (!section.IsSequence()) {
    ctx.error(doc, section, name + " must be a list, got " + nodeKind(section));
    return;
  }
  for (const auto& item : section) into.push_back({item, &doc, "", YAML::Node()});
}

void gather(Ctx& ctx, const Doc& doc, Gathered& g) {
  if (doc.root.IsNull()) return;  // an empty file is fine
  if (!doc.root.IsMap()) {
    ctx.error(doc, doc.root,
              "the top level must be a map (agent, sources, probes, slos, notifiers, silences, "
              "environments)");
    return;
  }
  static const std::vector<std::string_view> kTop{"agent",     "sources",  "probes",      "slos",
                                                  "notifiers", "silences", "environments"};
  for (auto it = doc.root.begin(); it != doc.root.end(); ++it) {
    const std::string key = it->first.Scalar();
    const YAML::Node v = it->second;  // a copy: the iterator's value is a temporary
    if (key == "agent") {
      if (v.IsNull()) continue;
      if (!v.IsMap()) {
        ctx.error(doc, v, "agent must be a map, got " + std::string(nodeKind(v)));
        continue;
      }
      for (auto a = v.begin(); a != v.end(); ++a) {
        const std::string k = a->first.Scalar();
        if (auto prev = g.agent.find(k); prev != g.agent.end()) {
          ctx.error(doc, a->first,
                    "agent." + k + " is set twice (also at " +
                        ctx.loc(*prev->second.doc, prev->second.key_node).str() + ")");
          continue;
        }
        g.agent[k] = {a->second, &doc, k, a->first};
      }
    } else if (key == "sources") {
      gatherKeyed(ctx, doc, v, "sources", g.sources);
    } else if (key == "notifiers") {
      gatherKeyed(ctx, doc, v, "notifiers", g.notifiers);
    } else if (key == "probes") {
      gatherList(ctx, doc, v, "probes", g.probes);
    } else if (key == "slos") {
      gatherList(ctx, doc, v, "slos", g.slos);
    } else if (key == "silences") {
      gatherList(ctx, doc, v, "silences", g.silences);
    } else if (key == "environments") {
      if (v.IsNull()) continue;
      if (!v.IsMap()) {
        ctx.error(doc, v, "environments must be a map of name: overrides");
        continue;
      }
      for (auto en = v.begin(); en != v.end(); ++en) {
        g.environments[en->first.Scalar()].push_back(
            {en->second, &doc, en->first.Scalar(), en->first});
      }
    } else {
      ctx.error(doc, it->first, "unknown top-level key \"" + key + "\"" + didYouMean(key, kTop));
    }
  }
}

// Overlays `over` onto `base`: maps merge key by key, anything else replaces.
YAML::Node deepMerge(const YAML::Node& base, const YAML::Node& over) {
  if (!base.IsMap() || !over.IsMap()) return over;
  YAML::Node out = YAML::Clone(base);
  for (auto it = over.begin(); it != over.end(); ++it) {
    const std::string k = it->first.Scalar();
    YAML::Node existing;
    bool found = false;
    for (auto b = out.begin(); b != out.end(); ++b) {
      if (b->first.Scalar() == k) {
        existing = b->second;
        found = true;
      }
    }
    out[k] = found ? deepMerge(existing, it->second) : it->second;
  }
  return out;
}

void applyEnvironment(Ctx& ctx, const std::string& env, Gathered& g,
                      const std::vector<std::unique_ptr<Doc>>& docs) {
  auto it = g.environments.find(env);
  if (it == g.environments.end()) {
    std::vector<std::string_view> names;
    for (const auto& [n, _] : g.environments) names.push_back(n);
    Location l{docs.empty() ? std::string("--env") : docs.front()->file, 0, 0};
    ctx.error(
        l, "environment \"" + env + "\" is not defined" +
               (names.empty() ? std::string(" (no environments are defined)")
                              : " (defined: " + joinNames(names) + ")" + didYouMean(env, names)));
    return;
  }
  for (const Entry& overlay : it->second) {
    if (overlay.node.IsNull()) continue;
    if (!overlay.node.IsMap()) {
      ctx.error(*overlay.doc, overlay.node, "environment \"" + env + "\" must be a map");
      continue;
    }
    for (auto sec = overlay.node.begin(); sec != overlay.node.end(); ++sec) {
      const std::string s = sec->first.Scalar();
      const YAML::Node v = sec->second;
      if (s == "agent" && v.IsMap()) {
        for (auto a = v.begin(); a != v.end(); ++a) {
          const std::string k = a->first.Scalar();
          auto prev = g.agent.find(k);
          if (prev == g.agent.end()) {
            g.agent[k] = {a->second, overlay.doc, k, a->first};
          } else {
            prev->second.node = deepMerge(prev->second.node, a->second);
            if (!a->second.IsMap()) prev->second.doc = overlay.doc;
          }
        }
      } else if ((s == "sources" || s == "notifiers") && v.IsMap()) {
        auto& list = s == "sources" ? g.sources : g.notifiers;
        for (auto o = v.begin(); o != v.end(); ++o) {
          auto target = std::find_if(list.begin(), list.end(),
                                     [&](const Entry& x) { return x.key == o->first.Scalar(); });
          if (target == list.end()) {
            ctx.error(*overlay.doc, o->first,
                      "environment \"" + env + "\" overrides " + s.substr(0, s.size() - 1) + " \"" +
                          o->first.Scalar() + "\", which is not defined");
            continue;
          }
          target->node = deepMerge(target->node, o->second);
        }
      } else if ((s == "probes" || s == "slos") && v.IsMap()) {
        auto& list = s == "probes" ? g.probes : g.slos;
        for (auto o = v.begin(); o != v.end(); ++o) {
          auto target = std::find_if(list.begin(), list.end(), [&](const Entry& x) {
            return x.node.IsMap() && x.node["name"] && x.node["name"].IsScalar() &&
                   x.node["name"].Scalar() == o->first.Scalar();
          });
          if (target == list.end()) {
            ctx.error(*overlay.doc, o->first,
                      "environment \"" + env + "\" overrides " + s.substr(0, s.size() - 1) + " \"" +
                          o->first.Scalar() + "\", which is not defined");
            continue;
          }
          target->node = deepMerge(target->node, o->second);
        }
      } else if (s == "agent" || s == "sources" || s == "notifiers" || s == "probes" ||
                 s == "slos") {
        ctx.error(*overlay.doc, v,
                  "environment \"" + env + "\": " + s + " overrides must be a map keyed by name");
      } else {
        ctx.error(*overlay.doc, sec->first,
                  "environment \"" + env + "\": unknown key \"" + s + "\"" +
                      didYouMean(s, {"agent", "sources", "notifiers", "probes", "slos"}));
      }
    }
  }
}

// ------------------------------------------------------------------ cross references

bool hasCycle(const Config& c, const std::string& start, std::set<std::string>& visiting,
              std::set<std::string>& done) {
  if (done.count(start)) return false;
  if (visiting.count(start)) return true;
  visiting.insert(start);
  if (const auto* p = c.findProbe(start)) {
    for (const auto& u : p->upstream)
      if (hasCycle(c, u, visiting, done)) return true;
  }
  visiting.erase(start);
  done.insert(start);
  return false;
}

void crossCheck(Ctx& ctx, Config& c) {
  auto checkNotify = [&](const std::vector<std::string>& names, const Location& loc,
                         const std::string& what) {
    for (const auto& n : names) {
      if (!c.findNotifier(n)) {
        std::vector<std::string_view> known;
        for (const auto& x : c.notifiers) known.push_back(x.name);
        ctx.error(loc, what + " notifies \"" + n + "\", which is not a defined notifier" +
                           didYouMean(n, known));
      }
    }
  };
  std::set<std::string> seen;
  for (const auto& p : c.probes) {
    if (!p.name.empty() && !seen.insert(p.name).second) {
      ctx.error(p.loc, "duplicate probe name \"" + p.name + "\" (first defined at " +
                           c.findProbe(p.name)->loc.str() + ")");
    }
    const std::string what = "probe \"" + p.name + "\"";
    const auto* src = c.findSource(p.source);
    if (!src) {
      std::vector<std::string_view> known;
      for (const auto& x : c.sources) known.push_back(x.name);
      if (!p.source.empty())
        ctx.error(p.loc, what + ": source \"" + p.source + "\" is not defined" +
                             didYouMean(p.source, known));
    } else if (!p.table.empty() && !src->isSql()) {
      ctx.error(p.loc, what + ": table needs a SQL source (postgres or sqlite); source \"" +
                           src->name + "\" is " + toString(src->type));
    } else if (!p.topic.empty() && src->isSql()) {
      ctx.error(p.loc, what + ": topic needs a kafka source; source \"" + src->name + "\" is " +
                           toString(src->type));
    } else if (p.type == ProbeType::Sql && !src->isSql()) {
      ctx.error(p.loc, what + ": sql probes need a SQL source (postgres or sqlite); source \"" +
                           src->name + "\" is kafka");
    } else if (p.type == ProbeType::Volume && src->type != SourceType::Postgres &&
               std::get<VolumeSpec>(p.spec).method == VolumeMethod::Estimate) {
      ctx.error(p.loc,
                what + ": method estimate needs a postgres source (it reads pg_class statistics)");
    } else if (p.type == ProbeType::ConsumerLag && src->isSql()) {
      ctx.error(p.loc, what + ": consumer_lag probes need a kafka source; source \"" + src->name +
                           "\" is " + toString(src->type));
    }
    for (const auto& u : p.upstream) {
      if (u == p.name)
        ctx.error(p.loc, what + " lists itself as upstream");
      else if (!c.findProbe(u))
        ctx.error(p.loc, what + ": upstream probe \"" + u + "\" is not defined");
    }
    if (p.alert) checkNotify(p.alert->notify, p.loc, what);
  }
  for (const auto& p : c.probes) {
    std::set<std::string> visiting, done;
    if (!p.upstream.empty() && hasCycle(c, p.name, visiting, done)) {
      ctx.error(p.loc, "probe \"" + p.name + "\": upstream lineage forms a cycle");
    }
  }
  std::set<std::string> slo_names;
  for (const auto& s : c.slos) {
    if (!s.name.empty() && !slo_names.insert(s.name).second)
      ctx.error(s.loc, "duplicate slo name \"" + s.name + "\"");
    for (const auto& p : s.probes) {
      if (!c.findProbe(p)) {
        std::vector<std::string_view> known;
        for (const auto& x : c.probes) known.push_back(x.name);
        ctx.error(s.loc, "slo \"" + s.name + "\": probe \"" + p + "\" is not defined" +
                             didYouMean(p, known));
      }
    }
    if (s.alerting.page_notify)
      checkNotify(*s.alerting.page_notify, s.loc, "slo \"" + s.name + "\"");
    if (s.alerting.ticket_notify)
      checkNotify(*s.alerting.ticket_notify, s.loc, "slo \"" + s.name + "\"");
    for (const auto& w : s.alerting.windows) {
      if (w.long_window > s.window) {
        ctx.error(s.loc, "slo \"" + s.name + "\": alerting window " +
                             formatDuration(w.long_window) + " is longer than the SLO window " +
                             formatDuration(s.window));
      }
    }
  }
  checkNotify(c.agent.default_notify, c.agent.loc, "agent.default_notify");
}

Doc* parseDoc(Ctx& ctx, std::vector<std::unique_ptr<Doc>>& docs, const std::string& text,
              const std::string& file) {
  auto doc = std::make_unique<Doc>();
  doc->file = file;
  doc->dir = fs::path(file).parent_path();
  if (doc->dir.empty()) doc->dir = ".";
  doc->dir = fs::absolute(doc->dir).lexically_normal();
  try {
    doc->root = YAML::Load(text);
  } catch (const YAML::ParserException& ex) {
    ctx.error(Location{file, ex.mark.line + 1, ex.mark.column + 1}, "YAML syntax error: " + ex.msg);
    return nullptr;
  } catch (const YAML::Exception& ex) {
    ctx.error(Location{file, 0, 0}, std::string("YAML error: ") + ex.what());
    return nullptr;
  }
  docs.push_back(std::move(doc));
  return docs.back().get();
}

LoadResult finish(Ctx& ctx, std::vector<Diagnostic>& diags, std::vector<std::unique_ptr<Doc>>& docs,
                  const std::string& environment) {
  Gathered g;
  try {
    for (const auto& d : docs) gather(ctx, *d, g);
    if (!environment.empty()) applyEnvironment(ctx, environment, g, docs);
    Config c;
    for (const auto& d : docs) c.files.push_back(d->file);
    for (const auto& [name, _] : g.environments) c.environments.push_back(name);
    c.environment = environment;
    if (!docs.empty()) {
      c.agent.loc = Location{docs.front()->file, 0, 0};
      c.agent.state =
          "sqlite://" + (docs.front()->dir / "datawatch-state.db").lexically_normal().string();
      c.agent.postmortems.dir = (docs.front()->dir / "postmortems").lexically_normal();
    }
    if (auto it = g.agent.begin(); it != g.agent.end())
      c.agent.loc = ctx.loc(*it->second.doc, it->second.key_node);
    parseAgent(ctx, g.agent, c.agent);
    for (const auto& e : g.sources) parseSource(ctx, e, c.sources);
    for (const auto& e : g.notifiers) parseNotifier(ctx, e, c.notifiers);
    for (const auto& e : g.probes) parseProbe(ctx, e, c.probes);
    for (const auto& e : g.slos) parseSlo(ctx, e, c.slos);
    for (const auto& e : g.silences) parseSilence(ctx, e, c.silences);
    crossCheck(ctx, c);
    c.secrets = ctx.secrets;
    std::stable_sort(diags.begin(), diags.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::tie(a.loc.file, a.loc.line, a.loc.column) <
             std::tie(b.loc.file, b.loc.line, b.loc.column);
    });
    LoadResult r;
    const bool failed = std::any_of(diags.begin(), diags.end(), [](const Diagnostic& d) {
      return d.severity == Diagnostic::Severity::Error;
    });
    if (!failed) r.config = std::move(c);
    r.diagnostics = std::move(diags);
    return r;
  } catch (const YAML::Exception& ex) {
    // yaml-cpp may throw on malformed nodes we did not foresee; never let it escape.
    ctx.error(
        Location{docs.empty() ? "" : docs.front()->file, ex.mark.line + 1, ex.mark.column + 1},
        "invalid configuration: " + ex.msg);
    LoadResult r;
    r.diagnostics = std::move(diags);
    return r;
  }
}

}  // namespace

LoadResult loadConfig(const LoadOptions& options) {
  std::vector<Diagnostic> diags;
  Ctx ctx(options.env, diags);
  std::vector<std::unique_ptr<Doc>> docs;
  std::vector<std::string> files;
  for (const auto& p : options.paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& ent : fs::directory_iterator(p, ec)) {
        const auto ext = ent.path().extension();
        if (ent.is_regular_file() && (ext == ".yaml" || ext == ".yml"))
          found.push_back(ent.path().string());
      }
      std::sort(found.begin(), found.end());
      if (found.empty()) ctx.error(Location{p, 0, 0}, "directory has no *.yaml or *.yml files");
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      ctx.error(Location{p, 0, 0}, "no such file or directory");
    }
  }
  if (options.paths.empty())
    ctx.error(Location{"datawatch", 0, 0}, "no config given (use -c FILE or -c DIR)");
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) {
      ctx.error(Location{f, 0, 0}, "cannot read file");
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    (void)parseDoc(ctx, docs, ss.str(), f);
  }
  return finish(ctx, diags, docs, options.environment);
}

LoadResult loadConfigFromString(const std::string& yaml, const std::string& file,
                                const std::string& environment, EnvLookup env) {
  std::vector<Diagnostic> diags;
  Ctx ctx(std::move(env), diags);
  std::vector<std::unique_ptr<Doc>> docs;
  (void)parseDoc(ctx, docs, yaml, file);
  return finish(ctx, diags, docs, environment);
}

}  // namespace datawatch::config
