// The /metrics text writer (agent/metrics_text.hpp) against prometheus-cpp's own
// serializer and Prometheus's parser (promtool), and the series cache against a
// full Collect.
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>
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

std::string ours(prometheus::Registry& registry) {
  std::string out;
  appendTextFormat(registry.Collect(), out);
  return out;
}

// Every type the agent registers (gauge, counter) and the ones the writer also
// supports (histogram, summary); hostile label values; values whose 16-digit
// text (prometheus-cpp's) is exact, so both outputs must read back bit-equal.
// `empty_help`: a counter without HELP (valid; promtool's lint reports it).
void fillHostile(prometheus::Registry& reg, bool empty_help = true) {
  auto& g = prometheus::BuildGauge().Name("t_level").Help("A gauge").Register(reg);
  const std::vector<std::string> hostile = {
      "plain", "quote \" in", "back\\slash", "new\nline", "é ü 日本 🙂",
      "",      "\\\"\n\\n",   "}{,= "};
  const std::vector<double> values = {0.1,  1e-300,         1e21, -kInf, kInf, kNaN,  0,
                                      -2.5, 1795686388.123, 1e-5, 1e15,  1e16, 0.001, -123456789.5};
  for (size_t i = 0; i < hostile.size(); ++i)
    for (size_t j = 0; j < values.size(); ++j)
      g.Add({{"v", hostile[i]}, {"i", std::to_string(j)}}).Set(values[j]);
  auto& c = prometheus::BuildCounter().Name("t_events_total").Help("Events").Register(reg);
  c.Add({}).Increment(9007199254740993.0);  // 2^53+1: the double is 2^53
  c.Add({{"kind", "a\"b"}}).Increment(3);
  if (empty_help)
    prometheus::BuildCounter().Name("t_empty_help_total").Help("").Register(reg).Add({});
  auto& h = prometheus::BuildHistogram().Name("t_seconds").Help("Latency").Register(reg);
  auto& hist = h.Add({{"path", "/a\"b"}}, prometheus::Histogram::BucketBoundaries{0.1, 1, 2.5});
  for (double v : {0.05, 0.7, 3.0}) hist.Observe(v);
  h.Add({}, prometheus::Histogram::BucketBoundaries{1, 5}).Observe(2);
  auto& s = prometheus::BuildSummary().Name("t_size").Help("Sizes").Register(reg);
  s.Add({{"q", "x"}}, prometheus::Summary::Quantiles{{0.5, 0.05}, {0.99, 0.001}}).Observe(4);
  s.Add({}, prometheus::Summary::Quantiles{{0.5, 0.05}});  // no observation: NaN quantile
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
  prometheus::Registry reg;
  fillHostile(reg);
  const auto text = ours(reg);
  const auto mine = parse(text);
  const auto theirs = parse(prometheus::TextSerializer().Serialize(reg.Collect()));
  // gauges, counters, histograms (count, sum, buckets, +Inf), summaries (count, sum, quantiles)
  CHECK(mine.samples.size() == 8 * 14 + 3 + (2 + 4) + (2 + 3) + (2 + 2) + (2 + 1));
  CHECK(mine.samples == theirs.samples);
  CHECK(mine.type == theirs.type);
  CHECK(mine.help == theirs.help);
  CHECK(mine.type.at("t_seconds") == "histogram");
  CHECK(mine.help.count("t_empty_help_total") == 0);  // no HELP line for an empty help
  // Spelled as Prometheus documents them, and 2^53+1 as the double it became.
  CHECK(text.find(R"(t_level{i="5",v="plain"} NaN)") != std::string::npos);
  CHECK(text.find(R"(t_level{i="4",v="plain"} +Inf)") != std::string::npos);
  CHECK(text.find(R"(t_level{i="3",v="plain"} -Inf)") != std::string::npos);
  CHECK(text.find("\nt_events_total 9007199254740992\n") != std::string::npos);
  CHECK(text.find(R"(t_seconds_bucket{path="/a\"b",le="+Inf"} 3)") != std::string::npos);
  CHECK(text.find(R"(t_level{i="0",v="new\nline"} 0.1)") != std::string::npos);
}

TEST_CASE("the text writer's output passes promtool check metrics", "[metrics][prometheus]") {
  prometheus::Registry reg;
  fillHostile(reg, false);
  CHECK(promtoolCheck(ours(reg)) == 0);
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
  prometheus::Registry reg;
  prometheus::BuildGauge()
      .Name("g")
      .Help("a \\ b\nc \"q\"")
      .Register(reg)
      .Add({{"l", "x\"y\\z\nw"}})
      .Set(1.5);
  CHECK(ours(reg) == "# HELP g a \\\\ b\\nc \"q\"\n# TYPE g gauge\ng{l=\"x\\\"y\\\\z\\nw\"} 1.5\n");
}

TEST_CASE("the series cache writes what a full Collect gives, values as they are now",
          "[metrics]") {
  prometheus::Registry reg;
  SeriesTextCache cache;
  auto& g = prometheus::BuildGauge().Name("c_gauge").Help("G \"h\"").Register(reg);
  auto& c = prometheus::BuildCounter().Name("c_total").Help("C").Register(reg);
  auto& late = prometheus::BuildGauge().Name("c_late").Help("L").Register(reg);
  std::vector<prometheus::Gauge*> gauges;
  {
    const auto refresh = cache.refreshAfter(reg);
    for (int i = 0; i < 50; ++i) {
      gauges.push_back(&g.Add({{"i", std::to_string(i)}, {"q", "\"\n"}}));
      gauges.back()->Set(i * 1.5 + 0.25);  // each its own value: a mixed-up read shows
    }
    c.Add({}).Increment(7);
  }
  auto render = [&] {
    std::string out;
    cache.append(reg, out);
    CHECK(parse(out).samples == parse(ours(reg)).samples);
    CHECK(parse(out).help == parse(ours(reg)).help);
    return out;
  };
  CHECK(render().find("\nc_total 7\n") != std::string::npos);
  CHECK(render().find("c_gauge{i=\"3\",q=\"\\\"\\n\"} 4.75\n") != std::string::npos);
  gauges[3]->Set(-7.125);  // read at the next append, not cached
  CHECK(render().find("c_gauge{i=\"3\",q=\"\\\"\\n\"} -7.125\n") != std::string::npos);
  // added(): the first series of a family not cached yet, then one more.
  auto& l1 = late.Add({{"k", "a"}, {"z", "\n"}});
  cache.added(late, {{"k", "a"}, {"z", "\n"}}, l1);
  auto& l2 = late.Add({{"k", "b\\"}, {"z", "\""}});  // cached incrementally
  cache.added(late, {{"k", "b\\"}, {"z", "\""}}, l2);
  l2.Set(kNaN);
  CHECK(render().find("c_late{k=\"b\\\\\",z=\"\\\"\"} NaN\n") != std::string::npos);
  auto& c2 = c.Add({{"x", "y"}});
  cache.added(c, {{"x", "y"}}, c2);
  c2.Increment(2);
  CHECK(render().find("c_total{x=\"y\"} 2\n") != std::string::npos);
  // A Refresh across removals: no pointer to a removed gauge is read.
  {
    const auto refresh = cache.refreshAfter(reg);
    for (size_t i = 10; i < gauges.size(); ++i) g.Remove(gauges[i]);
    late.Remove(&l1);
    late.Remove(&l2);
  }
  const auto text = render();
  CHECK(text.find("i=\"10\"") == std::string::npos);
  CHECK(text.find("c_late") == std::string::npos);
  CHECK(cache.sizeHint() >= text.size());
  CHECK(cache.sizeHint() <= text.size() + 24 * 12);  // 12 samples: 10 gauges, 2 counters
}

TEST_CASE("the series cache renders a histogram's registry through Collect", "[metrics]") {
  prometheus::Registry reg;
  SeriesTextCache cache;
  prometheus::BuildGauge().Name("g").Help("G").Register(reg).Add({}).Set(2);
  auto& h = prometheus::BuildHistogram().Name("h").Help("H").Register(reg);
  auto& hist = h.Add({}, prometheus::Histogram::BucketBoundaries{1});
  std::string out;
  cache.append(reg, out);
  hist.Observe(0.5);  // not cached: the next append sees it
  out.clear();
  cache.append(reg, out);
  CHECK(out == ours(reg));
  CHECK(out.find("h_bucket{le=\"1\"} 1\n") != std::string::npos);
}

#ifndef NDEBUG
TEST_CASE("debug builds catch a series added behind the series cache's back", "[metrics]") {
  prometheus::Registry reg;
  SeriesTextCache cache;
  auto& g = prometheus::BuildGauge().Name("g").Help("G").Register(reg);
  g.Add({{"a", "1"}});
  std::string out;
  cache.append(reg, out);
  g.Add({{"a", "2"}});  // no added(), no Refresh
  CHECK_THROWS_AS(cache.append(reg, out), std::logic_error);
}
#endif

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
  m.observe(res);  // adds two threshold series (the second one incrementally)
  m.notificationsAttempted("hook", 2);
  const auto text = m.render();
  CHECK(text.find(R"(datawatch_probe_threshold{bound="max",owner="",probe="q",)") !=
        std::string::npos);
  CHECK(text.find(R"(owner="a\\b \"c\" é",probe="f1")") != std::string::npos);
  CHECK(text.find("\ndatawatch_ha_replicas 3\n") != std::string::npos);
  CHECK(text.find("\ndatawatch_notifications_total{notifier=\"hook\"} 2\n") != std::string::npos);
  CHECK(promtoolCheck(text) == 0);
}
