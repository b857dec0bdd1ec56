#include "config/reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "core/duration.hpp"
#include "core/redact.hpp"

namespace datawatch::config {

// ------------------------------------------------------------------ diagnostics

std::string Diagnostic::str() const {
  std::string prefix = loc.str();
  std::string sev = severity == Severity::Warning ? "warning: " : "";
  return (prefix.empty() ? "" : prefix + ": ") + sev + message;
}

std::string githubEscape(const std::string& s, bool property) {
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
}

std::string Diagnostic::github() const {
  std::string out = severity == Severity::Warning ? "::warning " : "::error ";
  out += "file=" + githubEscape(loc.file, true);
  if (loc.line > 0) {
    out += ",line=" + std::to_string(loc.line) + ",col=" + std::to_string(loc.column);
  }
  return out + "::" + githubEscape(message, false);
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

namespace detail {

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

std::optional<std::string> Ctx::expand(const Doc& d, const YAML::Node& n, const std::string& raw) {
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

void Ctx::noteOverlay(const Doc& d, const YAML::Node& n) {
  if (!n.IsDefined()) return;
  overlay_nodes_.emplace_back(n, &d);
  if (n.IsSequence()) {
    for (const auto& item : n) noteOverlay(d, item);
  } else if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      noteOverlay(d, it->first);
      noteOverlay(d, it->second);
    }
  }
}

const Doc& Ctx::docOf(const Doc& d, const YAML::Node& n) const {
  if (!n.IsDefined()) return d;
  for (const auto& [node, doc] : overlay_nodes_) {
    if (node.is(n)) return *doc;
  }
  return d;
}

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

// ------------------------------------------------------------------ MapReader

MapReader::MapReader(Ctx& ctx, const Doc& doc, YAML::Node node, std::string what)
    : ctx_(ctx), doc_(doc), node_(std::move(node)), what_(std::move(what)) {
  ok_ = node_.IsMap();
  if (!ok_) ctx_.error(doc_, node_, what_ + " must be a map, got " + nodeKind(node_));
}

void MapReader::checkKeys(const std::vector<std::string_view>& allowed,
                          const std::map<std::string_view, std::string>& elsewhere) {
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

YAML::Node MapReader::raw(const std::string& key) const {
  if (!ok_) return YAML::Node(YAML::NodeType::Undefined);
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (it->first.Scalar() == key) return it->second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::optional<std::string> MapReader::str(const std::string& key, bool required, bool secret) {
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

std::optional<double> MapReader::num(const std::string& key, bool required) {
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

std::optional<int64_t> MapReader::integer(const std::string& key, bool required) {
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

std::optional<int64_t> MapReader::intInRange(const std::string& key, int64_t lo, int64_t hi) {
  auto v = integer(key);
  if (v && (*v < lo || *v > hi)) {
    ctx_.error(loc(key), key + " must be between " + std::to_string(lo) + " and " +
                             std::to_string(hi) + ", got " + std::to_string(*v));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> MapReader::boolean(const std::string& key) {
  auto s = str(key);
  if (!s) return std::nullopt;
  std::string l = *s;
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  if (l == "true" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "no" || l == "off") return false;
  ctx_.error(loc(key), key + " must be true or false, got \"" + *s + "\"");
  return std::nullopt;
}

std::optional<Duration> MapReader::duration(const std::string& key, bool required, Duration min) {
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

std::optional<std::vector<std::string>> MapReader::strList(const std::string& key, bool required,
                                                           std::vector<Location>* locs) {
  auto n = raw(key);
  if (!n.IsDefined() || n.IsNull()) {
    if (required) missing(key);
    return std::nullopt;
  }
  std::vector<std::string> out;
  auto add = [&](const YAML::Node& item) {
    auto v = ctx_.expand(doc_, item, item.Scalar());
    if (!v) return;
    out.push_back(*v);
    if (locs) locs->push_back(ctx_.loc(doc_, item));
  };
  if (n.IsScalar()) {
    add(n);
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
    add(item);
  }
  return out;
}

std::optional<std::map<std::string, std::string>> MapReader::strMap(const std::string& key,
                                                                    bool secret_values) {
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

void MapReader::missing(const std::string& key) {
  ctx_.error(loc(), what_ + ": missing required key \"" + key + "\"");
}

// ------------------------------------------------------------------ helpers

std::filesystem::path resolvePath(const Doc& doc, const std::string& p) {
  std::filesystem::path path(p);
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

void requireOneOf(MapReader& m, const std::string& what, const std::vector<std::string>& keys) {
  for (const auto& k : keys)
    if (m.has(k)) return;
  std::string list;
  for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
  m.ctx().error(m.loc(), what + " checks nothing: set at least one of " + list);
}

}  // namespace detail
}  // namespace datawatch::config
