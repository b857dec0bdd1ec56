#pragma once
// Post-mortem drafts (SPEC §6): on resolution (or on demand) an incident
// becomes <postmortems.dir>/<ID>.md and <ID>.svg. The facts come from the
// incident (timeline, peaks, budget) and the state store (probe values before,
// during and after); the prose sections are prompts pre-filled with them.
//
// postmortemData() is the data model a user template (mustache, issue 6
// follow-up) renders; renderPostmortem() is the default Markdown; renderChart()
// the SVG: a panel per probe (its own unit and threshold), the burn rate with
// the page threshold below, the open span and the bad data window shaded on
// each (element ids: docs/incidents.md).

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "config/types.hpp"
#include "core/result.hpp"
#include "incidents/incidents.hpp"
#include "store/state_store.hpp"

namespace datawatch {

nlohmann::json postmortemData(const Incident& inc, const config::Config& cfg, StateStore& store,
                              TimePoint now);
std::string renderPostmortem(const nlohmann::json& data);
std::string renderChart(const nlohmann::json& data);
// Markdown-escapes inline text: `\ ` * _ [ ] < > | #` and newlines; an underscore
// inside a word (orders_fresh) is never emphasis and is left as is.
std::string markdownEscape(const std::string& s);

// Renders a mustache template (kainjow) over postmortemData(). A template
// that does not parse is an error naming FILE:LINE:COLUMN and the problem.
Result<std::string> renderPostmortemTemplate(const std::string& tmpl, const std::string& name,
                                             const nlohmann::json& data);

struct PostmortemFiles {
  std::filesystem::path markdown;
  std::filesystem::path chart;
  // Set when agent.postmortems.template could not be used: the reason; the
  // default draft was written instead.
  std::string template_error;
};
// Writes both files into cfg.agent.postmortems.dir (created if missing), or
// the markdown to `markdown_path` when given (the chart beside it). With
// agent.postmortems.template, the markdown comes from that template.
Result<PostmortemFiles> writePostmortem(const Incident& inc, const config::Config& cfg,
                                        StateStore& store, TimePoint now,
                                        const std::filesystem::path& markdown_path = {});

}  // namespace datawatch
