// The Helm chart without a `helm` binary (none in Debian 12): its YAML parses,
// template actions balance, every .Values reference exists in values.yaml and
// every value is used, the chart's dashboards are the files in dashboards/, and
// the example values' PrometheusRule is exactly `datawatch rules` on the example
// config.

#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>
#include <set>

#include "tests/support/test_support.hpp"

using namespace datawatch::testing;
namespace fs = std::filesystem;

namespace {

const fs::path kRoot = DATAWATCH_SOURCE_DIR;
const fs::path kChart = kRoot / "helm/datawatch";

using Path = std::vector<std::string>;

std::string join(const Path& p) {
  std::string s;
  for (const auto& x : p) s += (s.empty() ? "" : ".") + x;
  return s;
}

// Leaf paths of a YAML map (an empty map or a list is a leaf).
void leaves(const YAML::Node& n, Path& at, std::vector<Path>& out) {
  if (n.IsMap() && n.size() > 0) {
    for (const auto& kv : n) {
      at.push_back(kv.first.as<std::string>());
      leaves(kv.second, at, out);
      at.pop_back();
    }
  } else {
    out.push_back(at);
  }
}

// Whether values.yaml defines path `p` (read through const nodes: yaml-cpp's
// non-const operator[] would add the key).
bool defined(const YAML::Node& n, const Path& p, size_t i = 0) {
  if (i == p.size()) return true;
  if (!n.IsMap()) return false;
  const YAML::Node child = n[p[i]];
  return child.IsDefined() && defined(child, p, i + 1);
}

bool isPrefix(const Path& prefix, const Path& p) {
  return prefix.size() <= p.size() && std::equal(prefix.begin(), prefix.end(), p.begin());
}

std::map<std::string, std::string> templates() {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(kChart / "templates"))
    out[e.path().filename().string()] = readFile(e.path());
  return out;
}

}  // namespace

TEST_CASE("the chart parses and its template actions balance", "[helm]") {
  const YAML::Node chart = YAML::LoadFile((kChart / "Chart.yaml").string());
  const YAML::Node values = YAML::LoadFile((kChart / "values.yaml").string());
  CHECK(chart["apiVersion"].as<std::string>() == "v2");
  CHECK(chart["name"].as<std::string>() == "datawatch");
  CHECK(chart["appVersion"].as<std::string>() == values["image"]["tag"].as<std::string>());
  CHECK(values["image"]["tag"].as<std::string>() != "latest");
  REQUIRE(YAML::LoadFile((kChart / "ci/example-values.yaml").string()).IsMap());
  const std::regex open(R"(\{\{-?\s*(if|with|range|define)\b)");
  const std::regex end(R"(\{\{-?\s*end\b)");
  for (const auto& [name, text] : templates()) {
    INFO(name);
    // clang 14 cannot capture a structured binding: name the string.
    const std::string& body = text;
    const auto count = [&](const std::regex& r) {
      return std::distance(std::sregex_iterator(body.begin(), body.end(), r),
                           std::sregex_iterator());
    };
    CHECK(count(std::regex(R"(\{\{)")) == count(std::regex(R"(\}\})")));
    CHECK(count(open) == count(end));
  }
}

TEST_CASE("every .Values reference exists in values.yaml and every value is used", "[helm]") {
  const YAML::Node values = YAML::LoadFile((kChart / "values.yaml").string());
  std::vector<Path> refs;
  const std::regex ref(R"(\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*))");
  for (const auto& [name, text] : templates()) {
    for (auto it = std::sregex_iterator(text.begin(), text.end(), ref);
         it != std::sregex_iterator(); ++it) {
      Path p;
      std::stringstream ss((*it)[1].str());
      std::string part;
      while (std::getline(ss, part, '.')) p.push_back(part);
      INFO(name << ": .Values." << join(p));
      CHECK(defined(values, p));
      refs.push_back(p);
    }
  }
  std::vector<Path> all;
  Path at;
  leaves(values, at, all);
  REQUIRE(all.size() > 30);
  for (const auto& leaf : all) {
    const bool used =
        std::any_of(refs.begin(), refs.end(), [&](const Path& r) { return isPrefix(r, leaf); });
    INFO("values.yaml: " << join(leaf) << " is used by no template");
    CHECK(used);
  }
  // Every value has a comment on the line(s) above it (the chart's documentation).
  const std::string text = readFile(kChart / "values.yaml");
  std::stringstream lines(text);
  std::string line, previous;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, std::regex(R"([a-zA-Z][A-Za-z0-9]*:.*)"))) {
      INFO("top-level value without a comment: " << line);
      CHECK((previous.rfind("#", 0) == 0 || previous.find("# ") != std::string::npos));
    }
    if (!line.empty()) previous = line;
  }
}

TEST_CASE("the chart's dashboards are the files in dashboards/", "[helm]") {
  std::set<std::string> in_repo, in_chart;
  for (const auto& e : fs::directory_iterator(kRoot / "dashboards"))
    in_repo.insert(e.path().filename().string());
  for (const auto& e : fs::directory_iterator(kChart / "dashboards"))
    in_chart.insert(e.path().filename().string());
  CHECK(in_repo == in_chart);
  REQUIRE(in_repo.size() == 2);
  for (const auto& f : in_repo) {
    INFO(f << " differs: cp dashboards/*.json helm/datawatch/dashboards/");
    CHECK(readFile(kRoot / "dashboards" / f) == readFile(kChart / "dashboards" / f));
  }
}

TEST_CASE("the example PrometheusRule is `datawatch rules` on the example config", "[helm]") {
  const YAML::Node example = YAML::LoadFile((kChart / "ci/example-values.yaml").string());
  TempDir dir;
  YAML::Emitter config;
  config << example["config"];
  writeFile(dir / "config.yaml", config.c_str());
  auto rules = runCommand({DATAWATCH_BINARY, "rules", "-c", (dir / "config.yaml").string()},
                          {{"WAREHOUSE_DSN", "postgresql://u@h/db"},
                           {"SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/x"},
                           {"PD_ROUTING_KEY", "k"},
                           {"DATAWATCH_API_TOKEN", "t"}});
  INFO(rules.err);
  REQUIRE(rules.exit_code == 0);
  YAML::Emitter expected, actual;
  expected << YAML::Load(rules.out)["groups"];
  actual << example["prometheusRule"]["groups"];
  INFO("regenerate: datawatch rules on the example config, pasted under prometheusRule.groups");
  CHECK(std::string(actual.c_str()) == std::string(expected.c_str()));
  CHECK(example["prometheusRule"]["groups"].size() >= 2);
}

TEST_CASE("the deployment mounts the config as a directory, probes health, runs locked down",
          "[helm]") {
  const auto t = templates();
  const std::string& d = t.at("deployment.yaml");
  CHECK(d.find("checksum/config: {{ include (print $.Template.BasePath \"/configmap.yaml\") . | "
               "sha256sum }}") != std::string::npos);
  CHECK(d.find("mountPath: /etc/datawatch") != std::string::npos);
  CHECK(d.find("subPath") == std::string::npos);
  CHECK(d.find("path: /healthz") != std::string::npos);
  CHECK(d.find("path: /readyz") != std::string::npos);
  const YAML::Node values = YAML::LoadFile((kChart / "values.yaml").string());
  CHECK(values["podSecurityContext"]["runAsNonRoot"].as<bool>());
  CHECK(values["podSecurityContext"]["seccompProfile"]["type"].as<std::string>() ==
        "RuntimeDefault");
  CHECK(values["securityContext"]["readOnlyRootFilesystem"].as<bool>());
  CHECK(values["securityContext"]["allowPrivilegeEscalation"].as<bool>() == false);
  CHECK(values["securityContext"]["capabilities"]["drop"][0].as<std::string>() == "ALL");
  // The agent drains within 10 s (SPEC §1): the grace period must leave room.
  CHECK(values["terminationGracePeriodSeconds"].as<int>() > 10);
  CHECK(t.at("dashboards.yaml").find("$.Values.dashboards.label") != std::string::npos);
  CHECK(
      YAML::LoadFile((kChart / "values.yaml").string())["dashboards"]["label"].as<std::string>() ==
      "grafana_dashboard");
}
