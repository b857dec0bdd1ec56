// The Helm chart without a `helm` binary (none in Debian 12): its YAML parses,
// template actions balance, every .Values reference exists in values.yaml and
// every value is used, the chart's dashboards are the files in dashboards/, and
// the example values' PrometheusRule is exactly `datawatch rules` on the example
// config. The Deployment, PodDisruptionBudget and PVC are rendered by a small
// template renderer (helm_render.hpp) with the chart's values and an override,
// as `helm template` would: SQLite keeps one replica, PostgreSQL state allows
// a fleet (RollingUpdate, PDB, spread across nodes, no PVC).

#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>
#include <set>

#include "tests/integration/helm_render.hpp"
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

// `helm template -f override` of one template file ("" when it renders nothing).
std::string render(const std::string& file, const std::string& override_yaml) {
  using helm_render::json;
  json values = helm_render::fromYaml(YAML::LoadFile((kChart / "values.yaml").string()));
  if (!override_yaml.empty())
    helm_render::merge(values, helm_render::fromYaml(YAML::Load(override_yaml)));
  const YAML::Node chart = YAML::LoadFile((kChart / "Chart.yaml").string());
  json root = {{"Values", values},
               {"Chart",
                {{"Name", chart["name"].as<std::string>()},
                 {"Version", chart["version"].as<std::string>()},
                 {"AppVersion", chart["appVersion"].as<std::string>()}}},
               {"Release", {{"Name", "dw"}, {"Service", "Helm"}}},
               {"Template", {{"BasePath", "datawatch/templates"}}}};
  helm_render::Renderer r(root, templates());
  return r.render(file);
}

YAML::Node renderYaml(const std::string& file, const std::string& override_yaml) {
  const std::string text = render(file, override_yaml);
  INFO(text);
  return YAML::Load(text);
}

const char* kPostgres2 =
    "replicaCount: 2\n"
    "config: {agent: {state: 'postgresql://dw:${DATAWATCH_STATE_PASSWORD}@pg:5432/dw'}}\n";

}  // namespace

TEST_CASE("the chart parses and its template actions balance", "[helm]") {
  const YAML::Node chart = YAML::LoadFile((kChart / "Chart.yaml").string());
  const YAML::Node values = YAML::LoadFile((kChart / "values.yaml").string());
  CHECK(chart["apiVersion"].as<std::string>() == "v2");
  CHECK(chart["name"].as<std::string>() == "datawatch");
  CHECK(chart["appVersion"].as<std::string>() == values["image"]["tag"].as<std::string>());
  CHECK(values["image"]["tag"].as<std::string>() != "latest");
  REQUIRE(YAML::LoadFile((kChart / "ci/example-values.yaml").string()).IsMap());
  REQUIRE(YAML::LoadFile((kChart / "ci/ha-values.yaml").string()).IsMap());
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

TEST_CASE("the chart refuses replicas on a SQLite state store", "[helm]") {
  // The default (SQLite): one replica, Recreate, a PVC, no PDB, no spread.
  const YAML::Node d = renderYaml("deployment.yaml", "");
  CHECK(d["spec"]["replicas"].as<int>() == 1);
  CHECK(d["spec"]["strategy"]["type"].as<std::string>() == "Recreate");
  CHECK_FALSE(d["spec"]["template"]["spec"]["topologySpreadConstraints"]);
  CHECK(render("pdb.yaml", "").find_first_not_of(" \n") == std::string::npos);
  CHECK(renderYaml("pvc.yaml", "")["kind"].as<std::string>() == "PersistentVolumeClaim");
  CHECK_THAT(render("NOTES.txt", ""), Catch::Contains("State: SQLite on a PersistentVolumeClaim"));
  CHECK_THAT(render("NOTES.txt", kPostgres2),
             Catch::Contains("State: PostgreSQL (shared). 2 replica(s) form one fleet"));
  // Two replicas on one SQLite file: refused with a message that says what to do.
  for (const std::string state : {"sqlite:///var/lib/datawatch/state.db", "${STATE_DSN}"}) {
    INFO(state);
    const std::string values = "replicaCount: 2\nconfig: {agent: {state: '" + state + "'}}\n";
    try {
      render("deployment.yaml", values);
      FAIL("rendered replicaCount 2 on " << state);
    } catch (const helm_render::Failed& e) {
      CHECK_THAT(e.what(), Catch::Contains("replicaCount 2 needs a PostgreSQL state store"));
      CHECK_THAT(e.what(), Catch::Contains("postgres://"));
    }
  }
}

TEST_CASE("with PostgreSQL state the chart runs a fleet: rolling, spread, a PDB, no PVC",
          "[helm]") {
  const std::string ha = readFile(kChart / "ci/ha-values.yaml");
  const YAML::Node d = renderYaml("deployment.yaml", ha);
  const YAML::Node pod = d["spec"]["template"]["spec"];
  CHECK(d["spec"]["replicas"].as<int>() == 3);
  CHECK(d["spec"]["strategy"]["type"].as<std::string>() == "RollingUpdate");
  CHECK(d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"].as<int>() == 0);
  const YAML::Node spread = pod["topologySpreadConstraints"][0];
  CHECK(spread["topologyKey"].as<std::string>() == "kubernetes.io/hostname");
  CHECK(spread["whenUnsatisfiable"].as<std::string>() == "ScheduleAnyway");
  CHECK(spread["maxSkew"].as<int>() == 1);
  CHECK(spread["labelSelector"]["matchLabels"]["app.kubernetes.io/instance"].as<std::string>() ==
        "dw");
  CHECK(d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"].as<std::string>() ==
        "dw");
  // The replica id is the pod's name; the state password comes from its Secret.
  std::map<std::string, YAML::Node> env;
  for (const auto& e : pod["containers"][0]["env"])
    env[e["name"].as<std::string>()] = YAML::Node(e);
  CHECK(env.at("DATAWATCH_REPLICA_ID")["valueFrom"]["fieldRef"]["fieldPath"].as<std::string>() ==
        "metadata.name");
  const YAML::Node pw = env.at("DATAWATCH_STATE_PASSWORD")["valueFrom"]["secretKeyRef"];
  CHECK(pw["name"].as<std::string>() == "datawatch-pg-app");
  CHECK(pw["key"].as<std::string>() == "password");
  const YAML::Node config = YAML::Load(ha)["config"]["agent"];
  CHECK(config["replica_id"].as<std::string>() == "${DATAWATCH_REPLICA_ID}");
  CHECK(config["state"].as<std::string>().find("${DATAWATCH_STATE_PASSWORD}") != std::string::npos);
  // Its config is valid, with the variables the pod gets.
  {
    TempDir dir;
    YAML::Emitter out;
    out << YAML::Load(ha)["config"];
    writeFile(dir / "config.yaml", out.c_str());
    auto v = runCommand({DATAWATCH_BINARY, "validate", "-c", (dir / "config.yaml").string()},
                        {{"WAREHOUSE_DSN", "postgresql://u@h/db"},
                         {"SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/x"},
                         {"DATAWATCH_STATE_PASSWORD", "pw"},
                         {"DATAWATCH_REPLICA_ID", "dw-datawatch-7d9f6-x2k4p"}});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
  }
  // The state volume is an emptyDir: no claim, even with persistence enabled.
  for (const auto& v : pod["volumes"])
    if (v["name"].as<std::string>() == "state") CHECK(v["emptyDir"]);
  CHECK(render("pvc.yaml", ha).find_first_not_of(" \n") == std::string::npos);
  CHECK(render("pvc.yaml", kPostgres2).find_first_not_of(" \n") == std::string::npos);
  const YAML::Node pdb = renderYaml("pdb.yaml", ha);
  CHECK(pdb["kind"].as<std::string>() == "PodDisruptionBudget");
  CHECK(pdb["spec"]["maxUnavailable"].as<int>() == 1);
  CHECK_FALSE(pdb["spec"]["minAvailable"]);
  CHECK(pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"].as<std::string>() ==
        "datawatch");

  // postgresql:// too, with the defaults: minAvailable 1; the PDB and the spread
  // can be switched off; one replica on PostgreSQL rolls too, without a PDB.
  CHECK(renderYaml("pdb.yaml", kPostgres2)["spec"]["minAvailable"].as<int>() == 1);
  CHECK(render("pdb.yaml", std::string(kPostgres2) + "podDisruptionBudget: {enabled: false}\n")
            .find_first_not_of(" \n") == std::string::npos);
  CHECK_FALSE(renderYaml(
      "deployment.yaml",
      std::string(kPostgres2) + "topologySpread: {enabled: false}\n")["spec"]["template"]["spec"]
                                                                     ["topologySpreadConstraints"]);
  const std::string one = "config: {agent: {state: 'postgres://dw@pg/dw'}}\n";
  CHECK(renderYaml("deployment.yaml", one)["spec"]["strategy"]["type"].as<std::string>() ==
        "RollingUpdate");
  CHECK(render("pdb.yaml", one).find_first_not_of(" \n") == std::string::npos);
}
