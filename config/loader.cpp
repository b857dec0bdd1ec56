// Loading: reads the files, gathers and merges their sections, parses each
// section (config/*_section.cpp) and checks the references between them.
#include "config/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <tuple>

#include "config/merge.hpp"
#include "config/reader.hpp"
#include "config/sections.hpp"

namespace datawatch::config {
namespace fs = std::filesystem;

namespace {

using detail::Ctx;
using detail::Doc;
using detail::Gathered;

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

// Gathers every file's sections, applies the environment and parses each section.
Config parseAll(Ctx& ctx, const std::vector<std::unique_ptr<Doc>>& docs,
                const std::string& environment) {
  Gathered g;
  for (const auto& d : docs) detail::gather(ctx, *d, g);
  if (!environment.empty()) detail::applyEnvironment(ctx, environment, g, docs);
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
  detail::parseAgent(ctx, g.agent, c.agent);
  for (const auto& e : g.sources) detail::parseSource(ctx, e, c.sources);
  for (const auto& e : g.notifiers) detail::parseNotifier(ctx, e, c.notifiers);
  for (const auto& e : g.probes) detail::parseProbe(ctx, e, c.probes);
  for (const auto& e : g.contracts) detail::parseContract(ctx, e, c);
  for (const auto& e : g.slos) detail::parseSlo(ctx, e, c.slos);
  for (const auto& e : g.silences) detail::parseSilence(ctx, e, c.silences);
  detail::crossCheck(ctx, c);
  c.secrets = ctx.secrets;
  return c;
}

LoadResult finish(Ctx& ctx, std::vector<Diagnostic>& diags, std::vector<std::unique_ptr<Doc>>& docs,
                  const std::string& environment) {
  try {
    Config c = parseAll(ctx, docs, environment);
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
