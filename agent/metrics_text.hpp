#pragma once
// The Prometheus text exposition format 0.0.4, written straight into one string:
// prometheus-cpp's TextSerializer goes through an ostream (locale, sentry and a
// growing stringbuf per token), which made /metrics of 1,000 probes cost tens
// of milliseconds. Same output, sample for sample, as prometheus-cpp 1.0.1's
// serializer (families and series in the given order, HELP only when non-empty,
// TYPE always, histogram _count/_sum/_bucket with a closing le="+Inf" bucket,
// summary _count/_sum/quantile lines, " <timestamp_ms>" when non-zero), except:
//  - numbers read back as the same double: integers below 1e16 exactly, others
//    in std::to_chars' shortest round-trip digits, where prometheus-cpp prints 16
//    significant digits (0.30000000000000004 became 0.3); laid out as %g does,
//    e-notation for exponents below -4 or from 16 on;
//  - NaN is spelled "NaN" (prometheus-cpp: "Nan"; both parse as NaN);
//  - HELP escapes backslash and newline as the format requires (prometheus-cpp
//    writes HELP raw, so a newline in it broke the exposition).
// Label values escape backslash, double quote and newline. Names are written as
// given (prometheus-cpp validated them when the family was built).

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <string>
#include <vector>

namespace datawatch {

// Appends `families` to `out` (which it does not clear).
void appendTextFormat(const std::vector<prometheus::MetricFamily>& families, std::string& out);

// Appends `v` as a sample value: "NaN", "+Inf", "-Inf", or decimal text that
// parses back (strtod, Go's ParseFloat) to exactly `v`, "-0" included.
void appendSampleValue(double v, std::string& out);

// The text of a registry's gauge and counter families without collecting them
// per scrape: Registry::Collect copies every series' labels into fresh vectors
// and strings (about 0.5 KB and half a microsecond per series: 10 MB and tens of
// milliseconds of allocation for 1,000 probes and 1,000 SLOs on every scrape).
// The cache keeps each family's constant text (HELP, TYPE, every series'
// `name{labels} `) and a pointer to each series' Gauge or Counter; append()
// writes that text with the values read now. Output as appendTextFormat(
// registry.Collect()) gives, families and series possibly in another order.
//
// Invariant (the owner's, under its lock): the cached pointers are only read
// while the cache is not stale, so every Family::Add or Remove must be covered:
// a `Refresh` alive across it (marks the cache stale, re-reads every family when
// it ends), or added() right after an Add, or invalidate(). A Remove without one
// of them leaves a dangling pointer. Debug builds check every append() against
// a full Collect and throw std::logic_error when a series is missing or extra
// (a forgotten call).
// A registry holding a histogram, summary or untyped family, or a family with
// constant labels, is rendered through Collect every time (correct, not cached).
// Not thread-safe: the owner serialises every call, and with every Add/Remove.
class SeriesTextCache {
 public:
  // Every family's series are re-read (a full Collect) at the next append().
  void invalidate() { stale_ = true; }
  // `family.Add(labels)` just created `metric`: cached now, in O(labels) (the
  // first series of a family not cached yet re-reads that family).
  void added(prometheus::Family<prometheus::Gauge>& family, const prometheus::Labels& labels,
             const prometheus::Gauge& metric);
  void added(prometheus::Family<prometheus::Counter>& family, const prometheus::Labels& labels,
             const prometheus::Counter& metric);

  // Stale from construction on; re-reads every family when destroyed, so the
  // scrape after a reconfiguration does not pay for it.
  class [[nodiscard]] Refresh {
   public:
    Refresh(SeriesTextCache& cache, prometheus::Registry& registry);
    ~Refresh();
    Refresh(const Refresh&) = delete;
    Refresh& operator=(const Refresh&) = delete;

   private:
    SeriesTextCache& cache_;
    prometheus::Registry& registry_;
  };
  Refresh refreshAfter(prometheus::Registry& registry) { return Refresh(*this, registry); }

  // Appends the exposition of `registry` (every family in it) to `out`.
  void append(prometheus::Registry& registry, std::string& out);
  // A reserve for the next append(): the cached text with values at their
  // longest (24 characters), or the last size and a sixteenth if that is less.
  size_t sizeHint() const;

 private:
  struct Sample {
    size_t text_end;  // the value goes here, after text[previous text_end, text_end)
    const prometheus::Gauge* gauge;
    const prometheus::Counter* counter;
    double value = 0;  // read by readValues()
  };
  struct CachedFamily {
    prometheus::Family<prometheus::Gauge>* gauges = nullptr;
    prometheus::Family<prometheus::Counter>* counters = nullptr;
    std::string text;  // HELP, TYPE, then per sample `name{labels} ` + value + "\n"
    std::vector<Sample> samples;
  };
  // Values are read in address order, not family by family: the metrics of one
  // probe sit together on the heap, so a family's are a page apart, and reading
  // them in family order cost a TLB miss each (half of a warm render).
  struct Read {
    const void* address;
    uint32_t family;
    uint32_t sample;
  };
  void discover(prometheus::Registry& registry);
  bool fill(CachedFamily& f, const prometheus::MetricFamily& mf);
  void reread(CachedFamily& f);
  template <typename T>
  void addedTo(prometheus::Family<T>& family, const prometheus::Labels& labels, const T& metric);
  void sortReads();
  void readValues();
  void write(std::string& out) const;
  void checkAgainstCollect(prometheus::Registry& registry, const std::string& ours) const;

  std::vector<CachedFamily> families_;
  // Every sample's: sorted by address, then the ones added() since, in order.
  std::vector<Read> reads_;
  bool reads_stale_ = true;  // sortReads() before reading
  bool stale_ = true;        // discover() before the next use
  bool usable_ = false;      // every family is a gauge or counter family found in the registry
  size_t last_size_ = 0;
};

}  // namespace datawatch
