#include "probes/drift_stats.hpp"

#include <boost/math/special_functions/gamma.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace datawatch::drift {
namespace {

// Indices of the bins that hold something on at least one side.
std::vector<size_t> usedBins(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<size_t> used;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    if (a[i] > 0 || b[i] > 0) used.push_back(i);
  return used;
}

// Proportions over `used`, each count + `add`; zeros when the side is empty.
std::vector<double> proportions(const std::vector<double>& counts, const std::vector<size_t>& used,
                                double add) {
  double total = 0;
  for (size_t i : used) total += counts[i] + add;
  std::vector<double> p;
  p.reserve(used.size());
  for (size_t i : used) p.push_back(total > 0 ? (counts[i] + add) / total : 0);
  return p;
}

double sum(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0);
}

}  // namespace

Score psi(const std::vector<double>& baseline, const std::vector<double>& current) {
  Score s;
  s.contributions.assign(baseline.size(), 0);
  const auto used = usedBins(baseline, current);
  const auto p = proportions(baseline, used, kSmoothing);
  const auto q = proportions(current, used, kSmoothing);
  for (size_t k = 0; k < used.size(); ++k) {
    const double c = (q[k] - p[k]) * std::log(q[k] / p[k]);
    s.contributions[used[k]] = c;
    s.value += c;
  }
  return s;
}

Score jsDistance(const std::vector<double>& baseline, const std::vector<double>& current) {
  Score s;
  s.contributions.assign(baseline.size(), 0);
  const auto used = usedBins(baseline, current);
  const auto p = proportions(baseline, used, 0);
  const auto q = proportions(current, used, 0);
  double divergence = 0;
  for (size_t k = 0; k < used.size(); ++k) {
    const double m = (p[k] + q[k]) / 2;
    double c = 0;
    if (p[k] > 0) c += p[k] * std::log2(p[k] / m);
    if (q[k] > 0) c += q[k] * std::log2(q[k] / m);
    c /= 2;
    s.contributions[used[k]] = c;
    divergence += c;
  }
  s.value = std::sqrt(std::max(0.0, divergence));
  return s;
}

Score chiSquare(const std::vector<double>& baseline, const std::vector<double>& current) {
  Score s;
  s.contributions.assign(baseline.size(), 0);
  const auto used = usedBins(baseline, current);
  const auto p = proportions(baseline, used, kSmoothing);
  double n = 0;
  for (size_t i : used) n += current[i];
  s.df = used.empty() ? 0 : static_cast<int>(used.size()) - 1;
  if (n <= 0 || s.df == 0) {
    s.p_value = 1;
    return s;
  }
  for (size_t k = 0; k < used.size(); ++k) {
    const double expected = n * p[k];
    const double d = current[used[k]] - expected;
    const double c = d * d / expected;
    s.contributions[used[k]] = c;
    s.value += c;
  }
  s.p_value = boost::math::gamma_q(s.df / 2.0, s.value / 2.0);
  return s;
}

Score ksBinned(const std::vector<double>& baseline, const std::vector<double>& current) {
  Score s;
  s.contributions.assign(baseline.size(), 0);
  const double nb = sum(baseline), nc = sum(current);
  if (nb <= 0 || nc <= 0) return s;
  double fb = 0, fc = 0;
  for (size_t i = 0; i < baseline.size() && i < current.size(); ++i) {
    fb += baseline[i] / nb;
    fc += current[i] / nc;
    s.contributions[i] = std::abs(fb - fc);  // |F - G| at this bin's upper boundary
    s.value = std::max(s.value, s.contributions[i]);
  }
  return s;
}

double ksErrorBound(const std::vector<double>& baseline, const std::vector<double>& current) {
  const double nb = sum(baseline), nc = sum(current);
  double bound = 0;
  for (size_t i = 0; i < baseline.size() && i < current.size(); ++i) {
    bound = std::max(bound, std::max(nb > 0 ? baseline[i] / nb : 0, nc > 0 ? current[i] / nc : 0));
  }
  return bound;
}

Score wasserstein(const std::vector<NumericBin>& baseline, const std::vector<NumericBin>& current) {
  Score s;
  s.contributions.assign(baseline.size(), 0);
  double nb = 0, nc = 0;
  for (const auto& b : baseline) nb += b.count;
  for (const auto& b : current) nc += b.count;
  if (nb <= 0 || nc <= 0) return s;
  struct Atom {
    double at;
    double weight;  // + baseline, - current: F - G grows by it
    size_t bin;
  };
  std::vector<Atom> atoms;
  for (size_t i = 0; i < baseline.size(); ++i)
    if (baseline[i].count > 0) atoms.push_back({baseline[i].mean, baseline[i].count / nb, i});
  for (size_t i = 0; i < current.size() && i < baseline.size(); ++i)
    if (current[i].count > 0) atoms.push_back({current[i].mean, -current[i].count / nc, i});
  std::sort(atoms.begin(), atoms.end(), [](const Atom& a, const Atom& b) { return a.at < b.at; });
  double diff = 0;  // F - G just right of the current atom
  for (size_t k = 0; k + 1 < atoms.size(); ++k) {
    diff += atoms[k].weight;
    const double area = std::abs(diff) * (atoms[k + 1].at - atoms[k].at);
    s.contributions[atoms[k].bin] += area;
    s.value += area;
  }
  return s;
}

double wassersteinErrorBound(const std::vector<NumericBin>& baseline,
                             const std::vector<NumericBin>& current) {
  double bound = 0;
  for (const auto* side : {&baseline, &current}) {
    double n = 0;
    for (const auto& b : *side) n += b.count;
    if (n <= 0) continue;
    for (const auto& b : *side)
      if (b.count > 0) bound += b.count / n * (b.max - b.min) / 2;
  }
  return bound;
}

}  // namespace datawatch::drift
