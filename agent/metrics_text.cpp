#include "agent/metrics_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace datawatch {

namespace {

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

std::string labelText(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ',';
    out += name;
    out += "=\"";
    appendEscaped(value, true, out);
    out += '"';
  }
  return out;
}

void FamilyWriter::sample(std::string_view first, std::string_view labels, double value) {
  if (!started_) {
    started_ = true;
    if (!help_.empty()) {
      out_ += "# HELP ";
      out_ += name_;
      out_ += ' ';
      appendEscaped(help_, false, out_);
      out_ += '\n';
    }
    out_ += "# TYPE ";
    out_ += name_;
    out_ += type_ == Type::Counter ? " counter\n" : " gauge\n";
  }
  out_ += name_;
  if (!first.empty() || !labels.empty()) {
    out_ += '{';
    out_ += first;
    if (!first.empty() && !labels.empty()) out_ += ',';
    out_ += labels;
    out_ += '}';
  }
  out_ += ' ';
  appendSampleValue(value, out_);
  out_ += '\n';
}

}  // namespace datawatch
