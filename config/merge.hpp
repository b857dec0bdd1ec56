#pragma once
// Internal to config/: gathers the sections of every file into one set of
// entries (duplicates are errors naming both places) and applies the
// `environments.NAME` overlay on top of them, before any section is parsed.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/reader.hpp"

namespace datawatch::config::detail {

struct Gathered {
  std::map<std::string, Entry> agent;
  std::vector<Entry> sources;  // keyed entries, order of appearance
  std::vector<Entry> notifiers;
  std::vector<Entry> probes;
  std::vector<Entry> slos;
  std::vector<Entry> silences;
  std::vector<Entry> contracts;
  std::map<std::string, std::vector<Entry>> environments;
};

// Adds one file's sections to `g`.
void gather(Ctx& ctx, const Doc& doc, Gathered& g);

// Overlays environment `env` onto `g`: maps merge key by key, anything else
// replaces. An undefined environment, or an override naming an item that does
// not exist, is an error.
void applyEnvironment(Ctx& ctx, const std::string& env, Gathered& g,
                      const std::vector<std::unique_ptr<Doc>>& docs);

}  // namespace datawatch::config::detail
