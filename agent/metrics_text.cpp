#include "agent/metrics_text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string_view>
#include <type_traits>

namespace datawatch {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

void appendUnsigned(std::uint64_t n, std::string& out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

// Appends `s` with backslash and newline escaped, and double quote too when
// `quote` (label values; HELP text leaves quotes alone).
void appendEscaped(std::string_view s, bool quote, std::string& out) {
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c != '\\' && c != '\n' && (c != '"' || !quote)) continue;
    out.append(s.data() + start, i - start);
    out += '\\';
    out += c == '\n' ? 'n' : c;
    start = i + 1;
  }
  out.append(s.data() + start, s.size() - start);
}

// Lays out the shortest scientific digits of a finite, non-integral (or huge)
// value as printf's %g would with 16 digits of precision: plain decimal for
// exponents -4..15, e-notation otherwise. `sci` is std::to_chars' shortest
// scientific form: [-]d[.ddd]e(+|-)dd.
void appendLaidOut(std::string_view sci, std::string& out) {
  const size_t e = sci.find('e');
  int exp = 0;
  std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exp);
  if (exp < -4 || exp >= 16) {
    out.append(sci);
    return;
  }
  std::string_view mant = sci.substr(0, e);
  if (mant.front() == '-') {
    out += '-';
    mant.remove_prefix(1);
  }
  char digits[24];
  size_t n = 0;
  for (char c : mant)
    if (c != '.') digits[n++] = c;
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exp - 1), '0');
    out.append(digits, n);
    return;
  }
  const size_t int_digits = static_cast<size_t>(exp) + 1;
  if (n <= int_digits) {
    out.append(digits, n);
    out.append(int_digits - n, '0');
    return;
  }
  out.append(digits, int_digits);
  out += '.';
  out.append(digits + int_digits, n - int_digits);
}

// The series name (plus `suffix`), its labels plus an optional extra one (le,
// quantile) whose value is a number, and the separating space.
void appendHead(const MetricFamily& family, const ClientMetric& metric, std::string_view suffix,
                std::string_view extra_name, double extra_value, std::string& out) {
  out += family.name;
  out += suffix;
  if (!metric.label.empty() || !extra_name.empty()) {
    char sep = '{';
    for (const auto& l : metric.label) {
      out += sep;
      out += l.name;
      out += "=\"";
      appendEscaped(l.value, true, out);
      out += '"';
      sep = ',';
    }
    if (!extra_name.empty()) {
      out += sep;
      out += extra_name;
      out += "=\"";
      appendSampleValue(extra_value, out);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

void appendHead(const MetricFamily& family, const ClientMetric& metric, std::string_view suffix,
                std::string& out) {
  appendHead(family, metric, suffix, {}, 0, out);
}

void appendTail(const ClientMetric& metric, std::string& out) {
  if (metric.timestamp_ms != 0) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, metric.timestamp_ms);
    out += ' ';
    out.append(buf, r.ptr);
  }
  out += '\n';
}

void appendSample(const MetricFamily& family, const ClientMetric& metric, double value,
                  std::string& out) {
  appendHead(family, metric, {}, out);
  appendSampleValue(value, out);
  appendTail(metric, out);
}

// The _count and _sum samples a summary and a histogram both have.
void appendCountAndSum(const MetricFamily& family, const ClientMetric& metric, uint64_t count,
                       double sum, std::string& out) {
  appendHead(family, metric, "_count", out);
  appendUnsigned(count, out);
  appendTail(metric, out);
  appendHead(family, metric, "_sum", out);
  appendSampleValue(sum, out);
  appendTail(metric, out);
}

void appendSummary(const MetricFamily& family, const ClientMetric& metric, std::string& out) {
  const auto& sum = metric.summary;
  appendCountAndSum(family, metric, sum.sample_count, sum.sample_sum, out);
  for (const auto& q : sum.quantile) {
    appendHead(family, metric, {}, "quantile", q.quantile, out);
    appendSampleValue(q.value, out);
    appendTail(metric, out);
  }
}

void appendHistogram(const MetricFamily& family, const ClientMetric& metric, std::string& out) {
  const auto& hist = metric.histogram;
  appendCountAndSum(family, metric, hist.sample_count, hist.sample_sum, out);
  const double inf = HUGE_VAL;
  double last = -inf;
  for (const auto& b : hist.bucket) {
    appendHead(family, metric, "_bucket", "le", b.upper_bound, out);
    appendUnsigned(b.cumulative_count, out);
    appendTail(metric, out);
    last = b.upper_bound;
  }
  if (last != inf) {  // the +Inf bucket is mandatory
    appendHead(family, metric, "_bucket", "le", inf, out);
    appendUnsigned(hist.sample_count, out);
    appendTail(metric, out);
  }
}

std::string_view typeName(MetricType type) {
  switch (type) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Summary: return "summary";
    case MetricType::Histogram: return "histogram";
    case MetricType::Untyped: break;
  }
  return "untyped";
}

void appendFamilyHeader(const MetricFamily& family, std::string& out) {
  if (!family.help.empty()) {
    out += "# HELP ";
    out += family.name;
    out += ' ';
    appendEscaped(family.help, false, out);
    out += '\n';
  }
  out += "# TYPE ";
  out += family.name;
  out += ' ';
  out += typeName(family.type);
  out += '\n';
}

void appendFamily(const MetricFamily& family, std::string& out) {
  appendFamilyHeader(family, out);
  for (const auto& m : family.metric) {
    switch (family.type) {
      case MetricType::Counter: appendSample(family, m, m.counter.value, out); break;
      case MetricType::Gauge: appendSample(family, m, m.gauge.value, out); break;
      case MetricType::Summary: appendSummary(family, m, out); break;
      case MetricType::Histogram: appendHistogram(family, m, out); break;
      case MetricType::Untyped: appendSample(family, m, m.untyped.value, out); break;
    }
  }
}

}  // namespace

void appendSampleValue(double v, std::string& out) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v < 0 ? "-Inf" : "+Inf";
    return;
  }
  char buf[40];
  // Integers below 1e16 (counters, timestamps, 0/1 gauges): exact, no exponent.
  if (std::fabs(v) < 1e16) {
    const auto i = static_cast<std::int64_t>(v);
    if (static_cast<double>(i) == v && (i != 0 || !std::signbit(v))) {
      out.append(buf, std::to_chars(buf, buf + sizeof buf, i).ptr);
      return;
    }
  }
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  appendLaidOut(std::string_view(buf, static_cast<size_t>(r.ptr - buf)), out);
}

void appendTextFormat(const std::vector<prometheus::MetricFamily>& families, std::string& out) {
  for (const auto& f : families) appendFamily(f, out);
}

// SeriesTextCache

SeriesTextCache::Refresh::Refresh(SeriesTextCache& cache, prometheus::Registry& registry)
    : cache_(cache), registry_(registry) {
  cache_.invalidate();
}

SeriesTextCache::Refresh::~Refresh() {
  try {
    cache_.discover(registry_);
  } catch (...) {  // stays stale: the next append() tries again
    cache_.invalidate();
  }
}

template <typename T>
void SeriesTextCache::addedTo(prometheus::Family<T>& family, const prometheus::Labels& labels,
                              const T& metric) {
  if (stale_ || !usable_) return;  // the next discover() reads it
  auto f = std::find_if(families_.begin(), families_.end(), [&](const CachedFamily& c) {
    return c.gauges == static_cast<const void*>(&family) ||
           c.counters == static_cast<const void*>(&family);
  });
  if (f == families_.end()) {  // its first series: Collect has the HELP text
    f = families_.emplace(families_.end());
    if constexpr (std::is_same_v<T, prometheus::Gauge>)
      f->gauges = &family;
    else
      f->counters = &family;
    const bool sorted = !reads_stale_;
    reread(*f);
    if (sorted && !stale_) {  // its reads go to the unsorted tail: no re-sort
      const auto fi = static_cast<uint32_t>(f - families_.begin());
      for (uint32_t si = 0; si < f->samples.size(); ++si) {
        const Sample& s = f->samples[si];
        reads_.push_back({s.gauge ? static_cast<const void*>(s.gauge) : s.counter, fi, si});
      }
      reads_stale_ = false;
    }
    return;
  }
  f->text += family.GetName();
  if (!labels.empty()) {
    char sep = '{';
    for (const auto& [name, value] : labels) {
      f->text += sep;
      f->text += name;
      f->text += "=\"";
      appendEscaped(value, true, f->text);
      f->text += '"';
      sep = ',';
    }
    f->text += '}';
  }
  f->text += ' ';
  Sample s{f->text.size(), nullptr, nullptr};
  if constexpr (std::is_same_v<T, prometheus::Gauge>)
    s.gauge = &metric;
  else
    s.counter = &metric;
  f->samples.push_back(s);
  f->text += '\n';
  if (!reads_stale_)
    reads_.push_back({&metric, static_cast<uint32_t>(f - families_.begin()),
                      static_cast<uint32_t>(f->samples.size() - 1)});
}

void SeriesTextCache::added(prometheus::Family<prometheus::Gauge>& family,
                            const prometheus::Labels& labels, const prometheus::Gauge& metric) {
  addedTo(family, labels, metric);
}

void SeriesTextCache::added(prometheus::Family<prometheus::Counter>& family,
                            const prometheus::Labels& labels, const prometheus::Counter& metric) {
  addedTo(family, labels, metric);
}

// Finds each collected family's object (Registry's Merge lookup: the same name
// and no constant labels returns the existing family) and caches its series.
void SeriesTextCache::discover(prometheus::Registry& registry) {
  // Until the end: not usable (append() collects every time) but not stale.
  stale_ = false;
  usable_ = false;
  families_.clear();
  reads_.clear();
  reads_stale_ = true;
  const auto collected = registry.Collect();
  families_.reserve(collected.size());
  for (const auto& mf : collected) {
    CachedFamily f;
    if (mf.type == MetricType::Gauge)
      f.gauges = &prometheus::BuildGauge().Name(mf.name).Help(mf.help).Register(registry);
    else if (mf.type == MetricType::Counter)
      f.counters = &prometheus::BuildCounter().Name(mf.name).Help(mf.help).Register(registry);
    else
      return;  // not cached: append() collects every time
    if (!fill(f, mf)) return;
    families_.push_back(std::move(f));
  }
  usable_ = true;
  sortReads();
}

// The series of `mf` (collected from f's family), with pointers to their metrics.
bool SeriesTextCache::fill(CachedFamily& f, const prometheus::MetricFamily& mf) {
  f.text.clear();
  f.samples.clear();
  reads_stale_ = true;
  if (mf.metric.empty()) return true;
  appendFamilyHeader(mf, f.text);
  f.samples.reserve(mf.metric.size());
  prometheus::Labels labels;
  for (const auto& m : mf.metric) {
    labels.clear();
    for (const auto& l : m.label) labels.emplace(l.name, l.value);
    if (m.timestamp_ms != 0 || (f.gauges ? !f.gauges->Has(labels) : !f.counters->Has(labels)))
      return false;
    appendHead(mf, m, {}, f.text);
    // Add returns the existing metric of these labels.
    if (f.gauges)
      f.samples.push_back({f.text.size(), &f.gauges->Add(labels), nullptr});
    else
      f.samples.push_back({f.text.size(), nullptr, &f.counters->Add(labels)});
    f.text += '\n';
  }
  return true;
}

void SeriesTextCache::reread(CachedFamily& f) {
  const auto collected = f.gauges ? f.gauges->Collect() : f.counters->Collect();
  if (collected.size() > 1 || (collected.size() == 1 && !fill(f, collected.front()))) {
    stale_ = true;  // unexpected: rediscover (and fall back to Collect if need be)
    return;
  }
  if (collected.empty()) fill(f, prometheus::MetricFamily{});
}

void SeriesTextCache::sortReads() {
  reads_.clear();
  for (uint32_t fi = 0; fi < families_.size(); ++fi) {
    const auto& samples = families_[fi].samples;
    for (uint32_t si = 0; si < samples.size(); ++si) {
      const Sample& s = samples[si];
      reads_.push_back({s.gauge ? static_cast<const void*>(s.gauge) : s.counter, fi, si});
    }
  }
  std::sort(reads_.begin(), reads_.end(),
            [](const Read& a, const Read& b) { return std::less<>()(a.address, b.address); });
  reads_stale_ = false;
}

void SeriesTextCache::readValues() {
  if (reads_stale_) sortReads();
  for (const auto& r : reads_) {
    Sample& s = families_[r.family].samples[r.sample];
    s.value = s.gauge ? s.gauge->Value() : s.counter->Value();
  }
}

void SeriesTextCache::write(std::string& out) const {
  for (const auto& f : families_) {
    size_t pos = 0;
    for (const auto& s : f.samples) {
      out.append(f.text, pos, s.text_end - pos);
      appendSampleValue(s.value, out);
      pos = s.text_end;
    }
    out.append(f.text, pos, std::string::npos);
  }
}

size_t SeriesTextCache::sizeHint() const {
  const size_t last = last_size_ + last_size_ / 16;
  if (stale_ || !usable_) return last;
  size_t bound = 0;
  for (const auto& f : families_) bound += f.text.size() + f.samples.size() * 24;
  // Not above the first render's: glibc raised its mmap threshold to that
  // block when it was freed, so a smaller one comes from the heap, reused.
  return last_size_ != 0 ? std::min(bound, last) : bound;
}

void SeriesTextCache::append(prometheus::Registry& registry, std::string& out) {
  const size_t start = out.size();
  if (stale_) discover(registry);
  if (usable_) {
    readValues();
    write(out);
  } else {
    appendTextFormat(registry.Collect(), out);
  }
  last_size_ = out.size() - start;
#ifndef NDEBUG
  checkAgainstCollect(registry, out.substr(start));
#endif
}

namespace {

// Each line without its value: comments whole, samples up to the last space.
std::vector<std::string_view> seriesKeys(std::string_view text) {
  std::vector<std::string_view> keys;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.front() != '#') line = line.substr(0, line.rfind(' '));
    keys.push_back(line);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace

void SeriesTextCache::checkAgainstCollect(prometheus::Registry& registry,
                                          const std::string& ours) const {
  std::string reference;
  appendTextFormat(registry.Collect(), reference);
  const auto a = seriesKeys(ours);
  const auto b = seriesKeys(reference);
  if (a == b) return;
  const auto diff = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  throw std::logic_error(
      "metrics text cache out of date (an Add/Remove without added(), invalidate() or a "
      "Refresh): cached \"" +
      std::string(diff.first == a.end() ? "<end>" : *diff.first) + "\", registry \"" +
      std::string(diff.second == b.end() ? "<end>" : *diff.second) + "\"");
}

}  // namespace datawatch
