// The /metrics text writer (agent/metrics_text.hpp) against prometheus-cpp's own
// serializer (the reference: the same series through both) and Prometheus's
// parser (promtool).
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "agent/metrics.hpp"
#include "agent/metrics_text.hpp"
#include "config/loader.hpp"
#include "tests/support/test_support.hpp"

using namespace datawatch;

namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// A sample value as Prometheus's parser (Go's ParseFloat) reads it: NaN and Inf
// in any case, with an optional sign; otherwise the whole token is a number.
double parseValue(const std::string& token) {
  std::string lower;
  for (char c : token) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "nan") return kNaN;
  if (lower == "+inf" || lower == "inf") return kInf;
  if (lower == "-inf") return -kInf;
  const char* first = token.data() + (token.rfind('+', 0) == 0 ? 1 : 0);
  double v = 0;
  const auto r = std::from_chars(first, token.data() + token.size(), v);
  INFO("value token: " << token);
  REQUIRE(r.ec == std::errc());
  REQUIRE(r.ptr == token.data() + token.size());
  return v;
}

// The value's bits in hex, every NaN the same.
std::string bits(double v) {
  if (std::isnan(v)) return "nan";
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof b);
  char buf[20];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, b, 16).ptr);
}

struct Parsed {
  std::multiset<std::string> samples;       // name{l="v",...} <value bits>, labels sorted
  std::map<std::string, std::string> help;  // unescaped
  std::map<std::string, std::string> type;
};

std::string unescape(const std::string& s, size_t& i, char end, bool quotes) {
  std::string out;
  for (; i < s.size() && s[i] != end; ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    REQUIRE(i + 1 < s.size());
    const char e = s[++i];
    if (e == 'n')
      out += '\n';
    else if (e == '\\' || (quotes && e == '"'))
      out += e;
    else
      FAIL("bad escape \\" << e << " in " << s);
  }
  return out;
}

// A small parser of the text format 0.0.4: every sample with its labels
// unescaped and sorted, HELP unescaped, TYPE.
Parsed parse(const std::string& text) {
  Parsed p;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    REQUIRE(nl != std::string::npos);  // every line ends with a newline
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    INFO("line: " << line);
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      const size_t sp = line.find(' ', 7);
      REQUIRE(sp != std::string::npos);
      const std::string name = line.substr(7, sp - 7);
      size_t i = sp + 1;
      (line[2] == 'H' ? p.help : p.type)[name] = unescape(line, i, '\n', false);
      continue;
    }
    size_t i = line.find_first_of("{ ");
    REQUIRE(i != std::string::npos);
    std::string key = line.substr(0, i);
    std::map<std::string, std::string> labels;
    if (line[i] == '{') {
      ++i;
      while (line.at(i) != '}') {
        const size_t eq = line.find('=', i);
        REQUIRE(eq != std::string::npos);
        REQUIRE(line.at(eq + 1) == '"');
        const std::string name = line.substr(i, eq - i);
        i = eq + 2;
        labels[name] = unescape(line, i, '"', true);
        REQUIRE(line.at(i) == '"');
        ++i;
        if (line.at(i) == ',') ++i;
      }
      ++i;
    }
    REQUIRE(line.at(i) == ' ');
    std::string value = line.substr(i + 1);
    value = value.substr(0, value.find(' '));  // a timestamp would follow
    key += "{";
    for (const auto& [n, v] : labels) {
      std::string escaped;
      for (char c : v) escaped += c == '\n' ? std::string("\\n") : std::string(1, c);
      key += n + "=\"" + escaped + "\",";
    }
    p.samples.insert(key + "} " + bits(parseValue(value)));
  }
  return p;
}

// Gauges and counters (the agent's two types) with hostile label values, and
// values whose 16-digit text (prometheus-cpp's) is exact, so both outputs must
// read back bit-equal. `empty_help`: a counter without HELP (valid; promtool's
// lint reports it).
struct Series {
  std::map<std::string, std::string> labels;
  double value;
};
struct TestFamily {
  std::string name, help;
  FamilyWriter::Type type;
  std::vector<Series> series;
};
std::vector<TestFamily> hostileFamilies(bool empty_help = true) {
  const std::vector<std::string> hostile = {
      "plain", "quote \" in", "back\\slash", "new\nline", "é ü 日本 🙂",
      "",      "\\\"\n\\n",   "}{,= "};
  const std::vector<double> values = {0.1,  1e-300,         1e21, -kInf, kInf, kNaN,  0,
                                      -2.5, 1795686388.123, 1e-5, 1e15,  1e16, 0.001, -123456789.5};
  std::vector<TestFamily> out;
  out.push_back({"t_level", "A gauge", FamilyWriter::Type::Gauge, {}});
  for (size_t i = 0; i < hostile.size(); ++i)
    for (size_t j = 0; j < values.size(); ++j)
      out.back().series.push_back({{{"v", hostile[i]}, {"i", std::to_string(j)}}, values[j]});
  // 2^53+1: the double is 2^53
  out.push_back({"t_events_total",
                 "Events",
                 FamilyWriter::Type::Counter,
                 {{{}, 9007199254740993.0}, {{{"kind", "a\"b"}}, 3}}});
  if (empty_help) out.push_back({"t_empty_help_total", "", FamilyWriter::Type::Counter, {{{}, 0}}});
  out.push_back({"t_nothing", "No series: no lines", FamilyWriter::Type::Gauge, {}});
  return out;
}

std::string ours(const std::vector<TestFamily>& families) {
  std::string out;
  for (const auto& f : families) {
    FamilyWriter w(out, f.name, f.help, f.type);
    for (const auto& s : f.series) w.sample(labelText(s.labels), s.value);
  }
  return out;
}

// The reference: the same series in a prometheus-cpp registry, serialized by it.
std::string prometheusCpp(const std::vector<TestFamily>& families) {
  prometheus::Registry reg;
  for (const auto& f : families) {
    if (f.type == FamilyWriter::Type::Gauge) {
      auto& g = prometheus::BuildGauge().Name(f.name).Help(f.help).Register(reg);
      for (const auto& s : f.series) g.Add(s.labels).Set(s.value);
    } else {
      auto& c = prometheus::BuildCounter().Name(f.name).Help(f.help).Register(reg);
      for (const auto& s : f.series) c.Add(s.labels).Increment(s.value);
    }
  }
  return prometheus::TextSerializer().Serialize(reg.Collect());
}

std::string promtool() {
  return datawatch::testing::requiredTool(DATAWATCH_PROMTOOL, "promtool");
}

// promtool check metrics on `text` (stdin): its exit code, output in INFO.
int promtoolCheck(const std::string& text) {
  datawatch::testing::TempDir dir;
  std::ofstream(dir / "metrics.txt", std::ios::binary) << text;
  auto r = datawatch::testing::runCommand({"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"",
                                           promtool(), (dir / "metrics.txt").string()});
  UNSCOPED_INFO("promtool: " << r.out << r.err);
  return r.exit_code;
}

}  // namespace

TEST_CASE("the text writer gives prometheus-cpp's samples, value for value", "[metrics]") {
  const auto families = hostileFamilies();
  const auto text = ours(families);
  const auto mine = parse(text);
  const auto theirs = parse(prometheusCpp(families));
  CHECK(mine.samples.size() == 8 * 14 + 2 + 1);
  CHECK(mine.samples == theirs.samples);
  CHECK(mine.type == theirs.type);
  CHECK(mine.help == theirs.help);
  CHECK(mine.type.at("t_events_total") == "counter");
  CHECK(mine.help.count("t_empty_help_total") == 0);   // no HELP line for an empty help
  CHECK(text.find("t_nothing") == std::string::npos);  // a family without series: nothing
  // Spelled as Prometheus documents them, and 2^53+1 as the double it became.
  CHECK(text.find(R"(t_level{i="5",v="plain"} NaN)") != std::string::npos);
  CHECK(text.find(R"(t_level{i="4",v="plain"} +Inf)") != std::string::npos);
  CHECK(text.find(R"(t_level{i="3",v="plain"} -Inf)") != std::string::npos);
  CHECK(text.find("\nt_events_total 9007199254740992\n") != std::string::npos);
  CHECK(text.find(R"(t_events_total{kind="a\"b"} 3)") != std::string::npos);
  CHECK(text.find(R"(t_level{i="0",v="new\nline"} 0.1)") != std::string::npos);
}

TEST_CASE("the text writer's output passes promtool check metrics", "[metrics][prometheus]") {
  CHECK(promtoolCheck(ours(hostileFamilies(false))) == 0);
}

TEST_CASE("sample values are the shortest text that reads back to the same double", "[metrics]") {
  const std::vector<std::pair<double, std::string>> cases = {
      {0.1, "0.1"},
      {0.30000000000000004, "0.30000000000000004"},  // prometheus-cpp: 0.3
      {1.0 / 3, "0.3333333333333333"},
      {1e-300, "1e-300"},
      {1e21, "1e+21"},
      {9007199254740992.0, "9007199254740992"},
      {1e16, "1e+16"},
      {1e15, "1000000000000000"},
      {1e15 + 0.5, "1000000000000000.5"},
      {-1234567.25e-3, "-1234.56725"},
      {1e6, "1000000"},
      {0.0001, "0.0001"},
      {1e-5, "1e-05"},
      {-0.0, "-0"},
      {0, "0"},
      {-42, "-42"},
      {1795686388.123, "1795686388.123"},
      {123.456e10, "1234560000000"},
      {2.5e-7, "2.5e-07"},
      {1234567.0625, "1234567.0625"},
      {std::numeric_limits<double>::max(), "1.7976931348623157e+308"},
      {std::numeric_limits<double>::denorm_min(), "5e-324"},
      {kNaN, "NaN"},
      {kInf, "+Inf"},
      {-kInf, "-Inf"},
  };
  for (const auto& [v, expected] : cases) {
    std::string s;
    appendSampleValue(v, s);
    INFO(expected);
    CHECK(s == expected);
    CHECK(bits(parseValue(s)) == bits(v));
  }
}

TEST_CASE("HELP escapes backslash and newline, label values quote too", "[metrics]") {
  std::string out;
  FamilyWriter w(out, "g", "a \\ b\nc \"q\"", FamilyWriter::Type::Gauge);
  w.sample(labelText({{"l", "x\"y\\z\nw"}}), 1.5);
  w.sample(R"(first="1")", labelText({{"l", "2"}}), 2);
  w.sample(R"(only="3")", "", 3);
  CHECK(out ==
        "# HELP g a \\\\ b\\nc \"q\"\n# TYPE g gauge\ng{l=\"x\\\"y\\\\z\\nw\"} 1.5\n"
        "g{first=\"1\",l=\"2\"} 2\ng{only=\"3\"} 3\n");
}

TEST_CASE("the agent's /metrics passes promtool with every kind of series",
          "[metrics][prometheus]") {
  auto r = config::loadConfigFromString(R"(sources:
  db: {type: sqlite, path: w.db}
probes:
  - {name: f1, type: freshness, source: db, table: t, column: c, max_age: 1h, owner: "a\\b \"c\" é",
     alert: {after: 1, severity: critical}}
  - {name: v, type: volume, source: db, table: t, min: 1}
  - {name: q, type: sql, source: db, query: "select 1", min: 0, max: 10}
slos:
  - {name: s1, objective: 99.5, window: 28d, probes: [v]}
notifiers:
  hook: {type: file, path: a.jsonl}
)",
                                        "/t/c.yaml", "", datawatch::testing::envFrom({}));
  for (const auto& d : r.diagnostics) UNSCOPED_INFO(d.str());
  REQUIRE(r.ok());
  Metrics m("1.0 \"dev\"");
  m.setProbes(r.config->probes);
  m.setSlos(*r.config);
  m.setAlerts(*r.config);
  m.setNotifiers(r.config->notifiers);
  ProbeResult res = ProbeResult::fail(12.5, "", "");
  res.probe = "q";
  res.type = "sql";
  res.threshold = {{"min", 0.0}, {"max", 10.0}};
  m.setHa(true, 3, 7, false);
  m.observe(res);  // adds two threshold series
  m.notificationsAttempted("hook", 2);
  const auto text = m.render();
  CHECK(text.find(R"(datawatch_probe_threshold{bound="max",owner="",probe="q",)") !=
        std::string::npos);
  CHECK(text.find(R"(owner="a\\b \"c\" é",probe="f1")") != std::string::npos);
  CHECK(text.find("\ndatawatch_ha_replicas 3\n") != std::string::npos);
  CHECK(text.find("\ndatawatch_notifications_total{notifier=\"hook\"} 2\n") != std::string::npos);
  CHECK(promtoolCheck(text) == 0);
}
