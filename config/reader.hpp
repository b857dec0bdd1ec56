#pragma once
// Internal to config/: the YAML reader the section parsers share. Not part of
// the public API (loader.hpp and types.hpp are).
//
// Contract: nothing here throws on bad input; every problem becomes a
// Diagnostic in the Ctx, at the line and column of the YAML node it is about.
// A Doc outlives every Entry and MapReader that points at it (the loader owns
// the Docs for the whole load).

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.hpp"
#include "config/types.hpp"

namespace datawatch::config::detail {

// " (did you mean \"x\"?)" when one of `options` is close to `key`, else "".
std::string didYouMean(std::string_view key, const std::vector<std::string_view>& options);
std::string joinNames(const std::vector<std::string_view>& names);

// One parsed YAML file.
struct Doc {
  std::string file;
  std::filesystem::path dir;  // absolute; anchors relative paths
  YAML::Node root;
};

// One item of a section: a list item, or a `name: {...}` map entry.
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

  // Where `n` was written: in `d`, unless an environment overlay from another
  // file put it there (noteOverlay).
  Location loc(const Doc& d, const YAML::Node& n) const {
    Location l{docOf(d, n).file, 0, 0};
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
  std::optional<std::string> expand(const Doc& d, const YAML::Node& n, const std::string& raw);

  // `n` and everything under it come from `d` (an environment overlay merged
  // into an entry of another file).
  void noteOverlay(const Doc& d, const YAML::Node& n);

  void addSecret(const std::string& s) { secrets.push_back(s); }
  std::vector<std::string> secrets;

 private:
  const Doc& docOf(const Doc& d, const YAML::Node& n) const;

  EnvLookup env_;
  std::vector<Diagnostic>& diags_;
  std::vector<std::pair<YAML::Node, const Doc*>> overlay_nodes_;
};

const char* nodeKind(const YAML::Node& n);
bool validName(std::string_view s, bool allow_dash);

// Reads one YAML map with typed accessors; reports type errors and unknown keys.
class MapReader {
 public:
  MapReader(Ctx& ctx, const Doc& doc, YAML::Node node, std::string what);
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
                 const std::map<std::string_view, std::string>& elsewhere = {});

  YAML::Node raw(const std::string& key) const;
  bool has(const std::string& key) const {
    auto n = raw(key);
    return n.IsDefined() && !n.IsNull();
  }

  std::optional<std::string> str(const std::string& key, bool required = false,
                                 bool secret = false);
  std::optional<double> num(const std::string& key, bool required = false);
  std::optional<int64_t> integer(const std::string& key, bool required = false);
  std::optional<int64_t> intInRange(const std::string& key, int64_t lo, int64_t hi);
  std::optional<bool> boolean(const std::string& key);
  std::optional<Duration> duration(const std::string& key, bool required = false,
                                   Duration min = Duration{1});
  // One string, or a list of strings. With `locs`, where each string was written
  // (parallel to the result).
  std::optional<std::vector<std::string>> strList(const std::string& key, bool required = false,
                                                  std::vector<Location>* locs = nullptr);
  std::optional<std::map<std::string, std::string>> strMap(const std::string& key,
                                                           bool secret_values = false);

  void missing(const std::string& key);
  void error(const std::string& key, std::string msg) { ctx_.error(loc(key), std::move(msg)); }

 private:
  Ctx& ctx_;
  const Doc& doc_;
  YAML::Node node_;
  std::string what_;
  bool ok_ = false;
};

std::filesystem::path resolvePath(const Doc& doc, const std::string& p);
// Registers the password of a DSN (the part redactDsn masks) as a secret.
void addDsnSecret(Ctx& ctx, const std::string& dsn);
// An error at the map when none of `keys` is set ("<what> checks nothing").
void requireOneOf(MapReader& m, const std::string& what, const std::vector<std::string>& keys);

}  // namespace datawatch::config::detail
