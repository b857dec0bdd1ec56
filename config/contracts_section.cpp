// The `contracts:` section: each entry names an ODCS v3 contract file, which
// is read and expanded here, at load time, into ordinary probes (and, with
// `slo:`, one SLO over all of them). See docs/contracts.md.
#include <algorithm>

#include "config/odcs_expand.hpp"
#include "config/sections.hpp"

namespace datawatch::config::detail {
namespace {

namespace fs = std::filesystem;

// `alert:`, as on a probe.
std::optional<ProbeAlertConfig> readContractAlert(Ctx& ctx, const Doc& doc, MapReader& m,
                                                  const std::string& what) {
  MapReader a(ctx, doc, m.raw("alert"), what + " alert");
  if (!a.ok()) return std::nullopt;
  a.checkKeys({"after", "severity", "notify"});
  ProbeAlertConfig ac;
  if (auto v = a.intInRange("after", 1, 1000)) ac.after = static_cast<int>(*v);
  if (auto v = a.str("severity")) {
    static const std::vector<std::string_view> sev{"page", "ticket", "critical", "warning", "info"};
    if (std::find(sev.begin(), sev.end(), *v) == sev.end())
      a.error("severity", what + ": alert severity \"" + *v + "\" must be one of " +
                              joinNames(sev) + didYouMean(*v, sev));
    else
      ac.severity = *v;
  }
  if (auto v = a.strList("notify", false, &ac.notify_locs)) ac.notify = *v;
  return ac;
}

// The path as diagnostics name it: relative to where the config file was
// named from (so "contracts/orders.yaml" beside "conf/dw.yaml" reads
// "conf/contracts/orders.yaml"), absolute when written absolute.
std::string displayPath(const Doc& doc, const std::string& p) {
  if (fs::path(p).is_absolute()) return fs::path(p).lexically_normal().string();
  return (fs::path(doc.file).parent_path() / p).lexically_normal().string();
}

// `slo:` becomes an ordinary slos: entry named after the contract, over all its
// probes (so the SLO section's checks and defaults apply unchanged).
void readContractSlo(Ctx& ctx, const Entry& e, MapReader& m, const std::string& what,
                     const odcs::Expansion& ex, Config& c, ContractConfig& cc) {
  const YAML::Node slo = m.raw("slo");
  if (!slo.IsMap()) {
    m.error("slo", what + ": slo must be a map {objective, window, alerting, ...}");
    return;
  }
  // Every problem at once: name/probes here, the rest by parseSlo.
  bool fixed_set = false;
  for (const char* k : {"name", "probes"}) {
    if (slo[k].IsDefined()) {
      ctx.error(*e.doc, slo[k],
                what + ": slo." + k +
                    " is not set here: the contract's SLO is named after its id and covers all "
                    "its probes");
      fixed_set = true;
    }
  }
  if (ex.probes.empty()) {
    m.error("slo", what + ": the contract has no probes for an SLO to cover");
    return;
  }
  YAML::Node synth(YAML::NodeType::Map);
  for (auto it = slo.begin(); it != slo.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
    if (key != "name" && key != "probes") synth.force_insert(it->first, it->second);
  }
  synth.force_insert(std::string("name"), ex.name);
  YAML::Node probes(YAML::NodeType::Sequence);
  for (const auto& p : ex.probes) probes.push_back(p.name);
  synth.force_insert(std::string("probes"), probes);
  const size_t before = c.slos.size();
  parseSlo(ctx, Entry{synth, e.doc, "", YAML::Node()}, c.slos);
  if (c.slos.size() == before) return;
  if (fixed_set) {
    c.slos.pop_back();
    return;
  }
  SloConfig& s = c.slos.back();
  s.loc = m.loc("slo");
  if (s.description.empty()) s.description = "contract " + cc.id + " (" + cc.path.string() + ")";
  cc.slo = s;
}

// Every diagnostic of the contract file, at its line there.
bool forwardDiagnostics(Ctx& ctx, const odcs::ParseResult& r) {
  for (const auto& d : r.diagnostics) {
    if (d.severity == Diagnostic::Severity::Error)
      ctx.error(d.loc, d.message);
    else
      ctx.warning(d.loc, d.message);
  }
  return r.ok();
}

}  // namespace

void parseContract(Ctx& ctx, const Entry& e, Config& c) {
  MapReader m(ctx, *e.doc, e.node, "contract");
  if (!m.ok()) return;
  m.checkKeys({"path", "source", "every", "owner", "alert", "slo"});
  ContractConfig cc;
  cc.loc = m.loc();
  auto path = m.str("path", true);
  std::string what = "contract " + (path ? "\"" + *path + "\"" : std::string("entry"));
  if (auto v = m.str("source", true)) {
    cc.source = *v;
    cc.source_loc = m.loc("source");
  }
  if (auto d = m.duration("every", false, std::chrono::seconds(1))) cc.every = *d;
  if (auto v = m.str("owner")) cc.owner = *v;
  if (m.has("alert")) cc.alert = readContractAlert(ctx, *e.doc, m, what);
  if (!path || path->empty()) return;
  cc.path = resolvePath(*e.doc, *path);
  std::error_code ec;
  if (!fs::exists(cc.path, ec)) {
    m.error("path", what + ": no such file (" + cc.path.string() + ")");
    return;
  }
  const auto parsed = odcs::parseContractFile(displayPath(*e.doc, *path));
  if (!forwardDiagnostics(ctx, parsed)) return;
  const odcs::Contract& contract = *parsed.contract;
  cc.id = contract.id;
  what = "contract \"" + cc.id + "\"";
  for (const auto& other : c.contracts) {
    if (other.id == cc.id) {
      m.error("path", what + " is already watched (at " + other.loc.str() + ")");
      return;
    }
    // "orders-v1" and "orders_v1" would name their probes alike.
    if (odcs::namePart(other.id) == odcs::namePart(cc.id)) {
      m.error("path", what + " and contract \"" + other.id + "\" (at " + other.loc.str() +
                          ") would both name their probes " + odcs::namePart(cc.id) +
                          "__...: give one of them another id");
      return;
    }
  }
  odcs::ExpandOptions o;
  o.source = cc.source;
  o.source_loc = cc.source_loc;
  o.every = cc.every;
  o.owner = cc.owner;
  o.alert = cc.alert;
  odcs::Expansion ex = odcs::expandContract(contract, o);
  for (const auto& s : ex.skipped)
    ctx.warning(s.loc, what + ": " + s.what + " is not watched: " + s.reason);
  for (const auto& n : ex.notes) ctx.warning(n.loc, what + ": " + n.what + ": " + n.reason);
  if (ex.probes.empty()) m.ctx().warning(cc.loc, what + " has nothing datawatch can watch");
  if (m.has("slo")) readContractSlo(ctx, e, m, what, ex, c, cc);
  for (auto& p : ex.probes) c.probes.push_back(std::move(p));
  c.contracts.push_back(std::move(cc));
}

}  // namespace datawatch::config::detail
