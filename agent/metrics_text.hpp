#pragma once
// The Prometheus text exposition format 0.0.4, written straight into one string
// (prometheus-cpp's TextSerializer goes through an ostream: locale, sentry and a
// growing stringbuf per token). The samples are prometheus-cpp 1.0.1's, value
// for value (tests/unit/metrics_text_test.cpp renders the same series through
// both), except:
//  - numbers read back as the same double: integers below 1e16 exactly, others
//    in std::to_chars' shortest round-trip digits, where prometheus-cpp prints 16
//    significant digits (0.30000000000000004 became 0.3); laid out as %g does,
//    e-notation for exponents below -4 or from 16 on;
//  - NaN is spelled "NaN" (prometheus-cpp: "Nan"; both parse as NaN);
//  - HELP escapes backslash and newline as the format requires (prometheus-cpp
//    writes HELP raw, so a newline in it broke the exposition).
// Label values escape backslash, double quote and newline. Names are written as
// given: the callers' are constants (SPEC §3).

#include <map>
#include <string>
#include <string_view>

namespace datawatch {

// Appends `v` as a sample value: "NaN", "+Inf", "-Inf", or decimal text that
// parses back (strtod, Go's ParseFloat) to exactly `v`, "-0" included.
void appendSampleValue(double v, std::string& out);

// `a="x",b="y"`: the labels in name order (as prometheus-cpp wrote them), values
// escaped, no braces. Built once per series when it is configured, so that
// rendering copies it.
std::string labelText(const std::map<std::string, std::string>& labels);

// One metric family of gauges or counters. Its `# HELP` (when the help is not
// empty) and `# TYPE` lines are written before its first sample: a family
// without samples writes nothing (as prometheus-cpp leaves out a family without
// series).
class FamilyWriter {
 public:
  enum class Type { Gauge, Counter };
  FamilyWriter(std::string& out, std::string_view name, std::string_view help, Type type)
      : out_(out), name_(name), help_(help), type_(type) {}
  // `name{labels} value` (`name value` when `labels` is empty); `labels` is
  // labelText()'s. `first`, when not empty, is one more label's text written
  // as given (escaped already) before them (`bound="min"`): the labels stay in
  // name order only if its name sorts before theirs.
  void sample(std::string_view labels, double value) { sample({}, labels, value); }
  void sample(std::string_view first, std::string_view labels, double value);

 private:
  std::string& out_;
  std::string_view name_, help_;
  Type type_;
  bool started_ = false;
};

}  // namespace datawatch
